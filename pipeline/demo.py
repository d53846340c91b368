"""``benthic demo``: the documented Run:ai collector config, running, on one machine.

It starts the Run:ai simulator (``benthic simulate run_ai``) and benthic itself on
``examples/run_ai.yaml`` (unchanged) as subprocesses, and an OpenMeter-compatible sink on
127.0.0.1 that appends every event it accepts to a JSON-lines file. It tails that file and shows
the events as they arrive: one row per workload, and the totals of each scrape.

    benthic demo                  # until Ctrl-C
    benthic demo --duration 75    # stop after 75 seconds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from pipeline.httpserver import HTTPServer, Request, Response

REPO = Path(__file__).resolve().parents[1]
SEED_CONFIG = REPO / "examples" / "run_ai.yaml"
EVENTS_PATH = "/v3/openmeter/events"


class EventFileSink:
    """Accepts OpenMeter event batches (a JSON array or one event) and appends each event, one
    JSON document per line, to ``path``; the request's events share a ``scrape`` number."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.server = HTTPServer("127.0.0.1", 0)
        self.server.route(EVENTS_PATH, self._ingest, ("POST",))
        self.scrapes = 0

    async def _ingest(self, request: Request) -> Response:
        try:
            value = orjson.loads(request.body)
        except orjson.JSONDecodeError as err:
            return Response.json(
                orjson.dumps({"title": "Bad Request", "status": 400, "detail": str(err)}), 400
            )
        events = value if isinstance(value, list) else [value]
        self.scrapes += 1
        with self.path.open("ab") as out:
            for event in events:
                out.write(orjson.dumps({"scrape": self.scrapes, "event": event}) + b"\n")
        return Response(202)

    async def start(self) -> str:
        await self.server.start()
        return f"http://127.0.0.1:{self.server.port}"


async def _start_simulator() -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pipeline.cli", "simulate", "run_ai", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=str(REPO),
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
    if not line.startswith("listening on "):
        raise RuntimeError(f"the simulator did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def _row(event: dict[str, Any]) -> tuple[str, float, float]:
    data = event.get("data") or {}
    return (
        str(event.get("subject")),
        float(data.get("gpuAllocationMinutes") or 0),
        float(data.get("cpuLimitCoreMinutes") or 0),
    )


async def _tail(path: Path, out: Any) -> None:
    """Print events as the sink writes them: a row per workload, totals when a scrape ends."""
    position = 0
    current: int | None = None
    totals = [0, 0.0, 0.0]
    header = f"{'workload':<32} {'GPU minutes':>12} {'CPU minutes':>12}"

    def flush_totals() -> None:
        if current is not None:
            print(
                f"{'-- scrape ' + str(current) + f': {totals[0]} events':<32} {totals[1]:>12.2f} {totals[2]:>12.2f}\n",
                file=out,
                flush=True,
            )

    while True:
        if path.exists():
            with path.open("rb") as src:
                src.seek(position)
                lines = src.readlines()
                position = src.tell()
            for line in lines:
                record = orjson.loads(line)
                if record["scrape"] != current:
                    flush_totals()
                    current, totals = record["scrape"], [0, 0.0, 0.0]
                    print(header, file=out)
                name, gpu, cpu = _row(record["event"])
                totals[0] += 1
                totals[1] += gpu
                totals[2] += cpu
                print(f"{name[:32]:<32} {gpu:>12.2f} {cpu:>12.2f}", file=out, flush=True)
            if lines:
                flush_totals()
                current = None
        await asyncio.sleep(0.2)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 25)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def run_demo(duration: float | None, out: Any = sys.stdout) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="benthic-demo-"))
    events_file = workdir / "events.jsonl"
    sink = EventFileSink(events_file)
    sink_url = await sink.start()
    simulator, simulator_url = await _start_simulator()
    env = {
        **os.environ,
        "RUNAI_URL": simulator_url,
        "RUNAI_APP_ID": "simulated-app",
        "RUNAI_APP_SECRET": "simulated-secret",
        "OPENMETER_URL": sink_url,
    }
    log_path = workdir / "benthic.log"
    with log_path.open("wb") as log:
        collector = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline.cli", "run", "--set", "http.address=127.0.0.1:0", str(SEED_CONFIG),
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO),
        )  # fmt: skip
    print(f"Run:ai simulator  {simulator_url}", file=out)
    print(f"OpenMeter sink    {sink_url}{EVENTS_PATH} -> {events_file}", file=out)
    print(f"collector         {SEED_CONFIG} (log: {log_path})", file=out)
    print("Scrapes run every 30 seconds (schedule '*/30 * * * * *'); Ctrl-C to stop.\n", file=out, flush=True)
    tail = asyncio.create_task(_tail(events_file, out))
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopped.set)
    waiters = [asyncio.create_task(stopped.wait()), asyncio.create_task(collector.wait())]
    try:
        await asyncio.wait(waiters, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await _stop(collector)
        await _stop(simulator)
        await asyncio.sleep(0.3)  # let the tail print what arrived last
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail
        await sink.server.close()
    code = collector.returncode or 0
    if code not in (0, -signal.SIGTERM):
        print(
            f"the collector exited with {code}; its log:\n{log_path.read_text(errors='replace')[-3000:]}",
            file=out,
        )
        return 1
    print(f"{sink.scrapes} scrapes received; events in {events_file}", file=out)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benthic demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds (default: until Ctrl-C)"
    )
    args = parser.parse_args(argv)
    return asyncio.run(run_demo(args.duration))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
