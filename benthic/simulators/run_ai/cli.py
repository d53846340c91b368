"""``benthic simulate run_ai --port 0 --workloads 50 ...``: serve the simulated Run:ai API until
SIGINT/SIGTERM. The first line printed is ``listening on http://127.0.0.1:PORT``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from benthic.simulators.run_ai.server import (
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    PAGING_FAULTS,
    RunAISimulator,
)

# -- command line ----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benthic simulate run_ai", description="Serve a simulated Run:ai API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--workloads", type=int, default=50)
    parser.add_argument("--pods-per-workload", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--app-id", default=DEFAULT_APP_ID)
    parser.add_argument("--app-secret", default=DEFAULT_APP_SECRET)
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="share of API requests answered 500/503"
    )
    parser.add_argument(
        "--rate-limit-rate", type=float, default=0.0, help="share of API requests answered 429"
    )
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every request")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime in seconds")
    parser.add_argument(
        "--token-failure-rate", type=float, default=0.0, help="share of token requests answered 503"
    )
    parser.add_argument(
        "--paging-fault",
        choices=PAGING_FAULTS,
        default=None,
        help="stuck: listings ignore the offset and never end; endless: listings never run out of pages",
    )
    return parser


def main(argv: list[str]) -> int:
    """``benthic simulate run_ai ...``: serve until SIGINT/SIGTERM."""
    if argv and argv[0] == "run_ai":
        argv = argv[1:]
    args = _parser().parse_args(argv)
    sim = RunAISimulator(
        workloads=args.workloads,
        pods_per_workload=args.pods_per_workload,
        seed=args.seed,
        host=args.host,
        port=args.port,
        app_id=args.app_id,
        app_secret=args.app_secret,
        token_ttl=args.token_ttl,
        error_rate=args.error_rate,
        rate_limit_rate=args.rate_limit_rate,
        latency_ms=args.latency_ms,
        token_failure_rate=args.token_failure_rate,
        retry_after=args.retry_after,
        keep_records=False,
        paging_fault=args.paging_fault,
    )

    async def serve() -> None:
        await sim.start()
        print(f"listening on {sim.url}", flush=True)
        print(
            f"fleet: {len(sim.fleet.workloads)} workloads ({len(sim.fleet.eligible_workloads())} eligible), "
            f"{len(sim.fleet.pods)} pods; app id {sim.app_id}",
            file=sys.stderr,
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await sim.close()

    asyncio.run(serve())
    return 0
