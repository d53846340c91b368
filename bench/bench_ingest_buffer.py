"""Ingest throughput of OpenMeter's http-server preset (http_server → sqlite buffer → output),
against a baseline measured in the same run.

    .venv/bin/python bench/bench_ingest_buffer.py [--requests 10000] [--rounds 5] [--concurrency 32] [--client httpx|raw]

Three servers are measured one after the other, each with the same load generator running in a
separate process (keep-alive connections, ``--concurrency`` of them, one small CloudEvent per
request, a new request sent as soon as the previous answer arrived). The client is ``httpx`` by
default, as a new user's load test would be; ``--client raw`` writes pre-built requests on asyncio
streams instead, which costs the client so little that the servers' own cost shows (the baseline
then answers several times more requests, so the ratios are much lower):

- baseline: a minimal asyncio HTTP server that reads each request and answers 204;
- unbuffered: benthic's ``http_server`` input → ``drop``, answering 204 (``sync_response``);
- sqlite: the same with an ``sqlite`` buffer in between (each request is answered only after it
  was committed to the file).

Each round measures the three servers one after the other, so a neighbour's load on the machine
hits all three alike. Printed per server: the median requests per second over the rounds, and
the server's own CPU time per request (this process's CPU time while the load ran, divided by
the requests: it depends far less on the machine's other load than the rates do). The ratios are
each benthic variant's rate / the baseline's rate of the same round, median over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.builder import Manager  # noqa: E402
from pipeline.logs import Logger, LogSink  # noqa: E402
from tests.ports import free_port  # noqa: E402

PATH = "/api/v1/events"
EVENT = (
    b'{"specversion":"1.0","id":"5c10fade-1c9e-4d6c-8275-c52c36731d3c","source":"bench",'
    b'"type":"request","subject":"customer-1","time":"2026-01-01T00:00:00Z",'
    b'"data":{"method":"GET","route":"/hello","duration_ms":12}}'
)


# -- the load generator (runs in its own process) ---------------------------------------------------


async def _load_httpx(port: int, total: int, warmup: int, concurrency: int) -> dict[str, float]:
    import httpx  # only the load generator process needs it

    url = f"http://127.0.0.1:{port}{PATH}"
    headers = {"Content-Type": "application/cloudevents+json", "User-Agent": "bench"}
    remaining = total + warmup
    answered = 0
    started = 0.0

    async def client() -> None:
        # one client (one keep-alive connection) per simulated user: a single AsyncClient shared
        # by 32 tasks spends more time in its connection pool than on the requests
        nonlocal remaining, answered, started
        async with httpx.AsyncClient() as http:
            while remaining > 0:
                remaining -= 1
                response = await http.post(url, content=EVENT, headers=headers)
                if not 200 <= response.status_code < 300:
                    raise RuntimeError(f"answered {response.status_code}")
                answered += 1
                if answered == warmup:
                    started = time.perf_counter()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": total, "seconds": elapsed, "rate": total / elapsed}


async def _load(port: int, total: int, warmup: int, concurrency: int) -> dict[str, float]:
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: bench\r\n"
        f"Content-Type: application/cloudevents+json\r\nContent-Length: {len(EVENT)}\r\n\r\n"
    ).encode() + EVENT
    remaining = total + warmup
    answered = 0
    started = 0.0

    async def client() -> None:
        nonlocal remaining, answered, started
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                if not 200 <= status < 300:
                    raise RuntimeError(f"answered {status}: {head!r}")
                lowered = head.lower()
                at = lowered.find(b"content-length:")
                if at >= 0:
                    length = int(lowered[at + 15 : lowered.index(b"\r\n", at)])
                    if length:
                        await reader.readexactly(length)
                answered += 1
                if answered == warmup:
                    started = time.perf_counter()
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": total, "seconds": elapsed, "rate": total / elapsed}


def run_load(port: int, total: int, concurrency: int, client: str = "httpx") -> float:
    """Requests per second the server at ``port`` answered, measured by a separate process."""
    argv = [sys.executable, __file__, "--load", str(port), "--requests", str(total)]
    done = subprocess.run(
        [*argv, "--concurrency", str(concurrency), "--client", client],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip()}")
    return float(json.loads(done.stdout)["rate"])


# -- the servers ------------------------------------------------------------------------------------


async def baseline_server(port: int) -> Callable[[], Awaitable[None]]:
    """A minimal asyncio HTTP/1.1 server: reads the head and the body, answers 204."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port)

    async def stop() -> None:
        server.close()

    return stop


async def benthic_server(port: int, buffer: dict[str, Any] | None) -> Callable[[], Awaitable[None]]:
    data: dict[str, Any] = {
        "input": {
            "http_server": {
                "address": f"127.0.0.1:{port}",
                "path": PATH,
                "sync_response": {"status": "204"},
            },
            "processors": [{"sync_response": {}}],
        },
        "pipeline": {"threads": 1},
        "output": {"drop": {}},
    }
    if buffer is not None:
        data["buffer"] = buffer
    manager = Manager(logger=Logger(LogSink(level="ERROR", stream=io.StringIO())))
    stream = manager.build_stream(data)
    task = asyncio.create_task(stream.run())
    for _ in range(100):
        await asyncio.sleep(0.05)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            continue

    async def stop() -> None:
        stream.stop()
        await asyncio.wait_for(task, 20)
        await stream.close()

    return stop


async def measure(
    start: Callable[[int], Awaitable[Callable[[], Awaitable[None]]]], args: Any
) -> tuple[float, float]:
    """(requests per second, server CPU seconds per request) of one server under the load."""
    port = free_port()
    stop = await start(port)
    try:
        cpu = time.process_time()
        rate = await asyncio.to_thread(run_load, port, args.requests, args.concurrency, args.client)
        # the warm-up requests ran on this process's CPU too
        total = args.requests + min(2000, args.requests // 5)
        return rate, (time.process_time() - cpu) / total
    finally:
        await stop()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        servers: dict[str, Callable[[int], Awaitable[Callable[[], Awaitable[None]]]]] = {
            "baseline": baseline_server,
            "unbuffered": lambda port: benthic_server(port, None),
            "sqlite": lambda port: benthic_server(port, {"sqlite": {"path": f"{tmp}/buffer.db"}}),
        }
        print(
            f"{args.requests} requests, {args.concurrency} keep-alive connections, {args.client} client,"
            f" median of {args.rounds} rounds"
        )
        rates: dict[str, list[float]] = {name: [] for name in servers}
        cpu: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, start in servers.items():
                rate, cpu_per_request = await measure(start, args)
                rates[name].append(rate)
                cpu[name].append(cpu_per_request)
        for name, values in rates.items():
            print(
                f"{name:<12} {statistics.median(values):8.0f} req/s"
                f"  {statistics.median(cpu[name]) * 1e6:6.0f} µs CPU/request"
                f"  (rounds: {', '.join(f'{v:.0f}' for v in values)})"
            )
    for name in ("unbuffered", "sqlite"):
        ratios = [rate / base for rate, base in zip(rates[name], rates["baseline"], strict=True)]
        print(
            f"ratio {name + '/baseline:':<21} {statistics.median(ratios):.3f}"
            f"  (rounds: {', '.join(f'{r:.3f}' for r in ratios)})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client", choices=["httpx", "raw"], default="httpx")
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)  # internal: be the load generator
    parsed = parser.parse_args()
    if parsed.load:
        warmup = min(2000, parsed.requests // 5)
        load = _load_httpx if parsed.client == "httpx" else _load
        print(json.dumps(asyncio.run(load(parsed.load, parsed.requests, warmup, parsed.concurrency))))
    else:
        asyncio.run(main(parsed))
