"""How long one run_ai scrape of a large fleet takes, against the simulator with per-request latency.

    .venv/bin/python bench/run_ai_scrape.py [--workloads 5000] [--latency-ms 20] [--concurrency 16 64]

The simulator runs in its own process (``benthic simulate run_ai``), so that its CPU time is not
the client's. For each concurrency the script runs one full scrape (token, listing, every metric
chunk of every eligible workload) and prints requests/s and seconds per scrape. The baseline is
measured in the same run: the same client sending metric requests one at a time (as OpenMeter's
plugin does), timed over a sample and extrapolated to the scrape's request count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inputs.run_ai.client import WORKLOAD_METRICS, HTTPSettings, RunAIClient, metric_chunks  # noqa: E402
from inputs.run_ai.schedule import Window  # noqa: E402
from pipeline.logs import Logger, LogSink  # noqa: E402
from pipeline.metrics import Metrics  # noqa: E402
from pipeline.resources import ComponentMetrics  # noqa: E402


def start_simulator(workloads: int, latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "benthic.simulators.run_ai", "--port", "0", "--workloads", str(workloads)]
    argv += ["--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def make_client(url: str, concurrency: int) -> RunAIClient:
    return RunAIClient(
        url,
        "simulated-app",
        "simulated-secret",
        http=HTTPSettings(timeout=30.0, retry_count=1),
        logger=Logger(LogSink(level="ERROR", stream=sys.stderr)),
        metrics=ComponentMetrics(Metrics(), {}),
        max_concurrency=concurrency,
    )


def a_window() -> Window:
    tick = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    return Window(tick, 30 * 1_000_000_000, 0)


async def scrape_once(url: str, concurrency: int) -> tuple[int, int, float]:
    """(resources emitted, requests sent, seconds) for one full scrape."""
    client = make_client(url, concurrency)
    try:
        await client.bearer_token()  # not part of the scrape's cost
        started = time.perf_counter()
        bodies = await client.scrape("workload", a_window(), WORKLOAD_METRICS, 500)
        elapsed = time.perf_counter() - started
        listed = client.metrics.registry.value("run_ai_resource_count", type="workload") or 0
        pages = int(listed) // 500 + 1
        requests = pages + int(listed) * len(metric_chunks(WORKLOAD_METRICS))
        return len(bodies), requests, elapsed
    finally:
        await client.close()


async def sequential_seconds_per_request(url: str, samples: int) -> float:
    """The baseline: metric requests one after another, as upstream sends them."""
    client = make_client(url, 1)
    try:
        resources = (await client.list_workloads(500))[:samples]
        window = a_window()
        chunks = metric_chunks(WORKLOAD_METRICS)
        started = time.perf_counter()
        count = 0
        for resource in resources:
            for chunk in chunks:
                await client.chunk_values("workload", resource, window, chunk)
                count += 1
        return (time.perf_counter() - started) / max(1, count)
    finally:
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--baseline-samples", type=int, default=50, help="workloads timed sequentially")
    args = parser.parse_args()
    proc, url = start_simulator(args.workloads, args.latency_ms)
    try:
        per_request = asyncio.run(sequential_seconds_per_request(url, args.baseline_samples))
        print(f"fleet: {args.workloads} workloads, {args.latency_ms:g} ms latency per request")
        print(f"baseline (sequential, as upstream): {1 / per_request:8.1f} requests/s")
        for concurrency in args.concurrency:
            emitted, requests, elapsed = asyncio.run(scrape_once(url, concurrency))
            baseline = requests * per_request
            print(
                f"max_concurrency {concurrency:>3}: {emitted} workloads, {requests} requests in {elapsed:6.2f} s "
                f"= {requests / elapsed:8.1f} requests/s; sequential would take {baseline:7.1f} s "
                f"(x{baseline / elapsed:.1f} faster)"
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
