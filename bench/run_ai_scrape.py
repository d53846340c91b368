"""How much CPU and time one run_ai scrape of a large fleet costs the collector, against the
simulator with per-request latency.

    .venv/bin/python bench/run_ai_scrape.py [--workloads 5000] [--latency-ms 20] [--concurrency 16 64]
                                            [--memory-workloads 10000]

The simulator runs in its own process (``benthic.simulators.run_ai``), so that its CPU time is not
the collector's: the collector's CPU is this process's ``time.process_time()`` over the scrape,
divided by the requests it sent. For each concurrency the script prints that (CPU ms per request)
and requests/s for one full scrape (listing, every metric chunk of every eligible workload, and the
encoded message bodies). The baseline is measured in the same run against the same simulator: a
bare asyncio loop (the same metric requests written by hand on kept-alive streams, each body
parsed with ``orjson``) at the same concurrency, so the ratios mean something on a noisy machine. Finally one scrape of
``--memory-workloads`` workloads runs in a fresh process and its peak RSS is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inputs.run_ai.client import (  # noqa: E402
    WORKLOAD_METRICS,
    HTTPSettings,
    RunAIClient,
    encode_query,
    metric_chunks,
)
from inputs.run_ai.input import spec  # noqa: E402
from inputs.run_ai.resources import encode_body  # noqa: E402
from inputs.run_ai.schedule import Window, rfc3339_seconds  # noqa: E402
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


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def default_concurrency() -> int:
    field = spec().field_named("max_concurrency")
    assert field is not None
    return int(field.default)


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


class Figures:
    def __init__(self, requests: int, elapsed: float, cpu: float, emitted: int = 0) -> None:
        self.requests, self.elapsed, self.cpu, self.emitted = requests, elapsed, cpu, emitted

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / max(1, self.requests)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed


async def scrape_once(url: str, concurrency: int) -> Figures:
    """One full scrape: listing, metric requests, message bodies encoded as the input does."""
    client = make_client(url, concurrency)
    try:
        await client.bearer_token()  # not part of the scrape's cost
        started, cpu = time.perf_counter(), time.process_time()
        bodies = await client.scrape("workload", a_window(), WORKLOAD_METRICS, 500)
        encoded = [encode_body(body) for body in bodies]
        cpu, elapsed = time.process_time() - cpu, time.perf_counter() - started
        listed = int(client.metrics.registry.value("run_ai_resource_count", type="workload") or 0)
        requests = listed // 500 + 1 + listed * len(metric_chunks(WORKLOAD_METRICS))
        return Figures(requests, elapsed, cpu, len(encoded))
    finally:
        await client.close()


async def bare_asyncio(url: str, concurrency: int) -> Figures:
    """The baseline: the same metric requests written by hand on kept-alive asyncio streams (one
    per worker, Content-Length bodies only), each body parsed with orjson: the floor of HTTP/1.1
    in Python on this machine."""
    client = make_client(url, 1)
    try:
        token = await client.bearer_token()
        resources = await client.list_workloads(500)
    finally:
        await client.close()
    window = a_window()
    parts = urlsplit(url)
    requests = [
        (
            f"GET /api/v1/workloads/{r.id}/metrics?"
            + encode_query(
                {
                    "metricType": ",".join(chunk),
                    "start": rfc3339_seconds(window.start),
                    "end": rfc3339_seconds(window.end),
                    "numberOfSamples": "1",
                }
            )
            + f" HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: application/json\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        for r in resources
        for chunk in metric_chunks(WORKLOAD_METRICS)
    ]
    requests.reverse()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while requests:
                writer.write(requests.pop())
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                orjson.loads(await reader.readexactly(length))
        finally:
            writer.close()

    count = len(requests)
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Figures(count, time.perf_counter() - started, time.process_time() - cpu)


def peak_memory(workloads: int, latency_ms: float, concurrency: int) -> None:
    """Child mode: one scrape of a large fleet, then print the peak RSS as JSON."""
    proc, url = start_simulator(workloads, latency_ms)
    try:
        figures = asyncio.run(scrape_once(url, concurrency))
    finally:
        stop(proc)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"emitted": figures.emitted, "peak_mb": peak_kb / 1024}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=None)
    parser.add_argument("--memory-workloads", type=int, default=10000, help="0: skip the memory run")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    default = default_concurrency()
    if args.memory_child:
        peak_memory(args.workloads, args.latency_ms, args.concurrency[0] if args.concurrency else default)
        return 0
    concurrencies = args.concurrency or sorted({default, 64})
    proc, url = start_simulator(args.workloads, args.latency_ms)
    try:
        print(f"fleet: {args.workloads} workloads, {args.latency_ms:g} ms latency per request")
        print(f"default max_concurrency: {default}")
        for concurrency in concurrencies:
            base = asyncio.run(bare_asyncio(url, concurrency))
            ours = asyncio.run(scrape_once(url, concurrency))
            print(
                f"concurrency {concurrency:>3}: bare asyncio {base.cpu_ms:5.3f} CPU ms/request, "
                f"{base.rate:7.1f} requests/s ({base.requests} requests)"
            )
            print(
                f"                 benthic      {ours.cpu_ms:5.3f} CPU ms/request, {ours.rate:7.1f} requests/s "
                f"({ours.requests} requests, {ours.emitted} workloads, {ours.elapsed:.2f} s)"
            )
            print(
                f"                 ratio benthic/bare: CPU per request {ours.cpu_ms / base.cpu_ms:.2f}, "
                f"requests/s {ours.rate / base.rate:.2f}"
            )
    finally:
        stop(proc)
    if args.memory_workloads:
        argv = [sys.executable, __file__, "--memory-child", "--workloads", str(args.memory_workloads)]
        argv += ["--latency-ms", "0"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(
            f"peak memory, one scrape of {args.memory_workloads} workloads at the default concurrency: "
            f"{result['peak_mb']:.1f} MB ({result['emitted']} workloads)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
