"""``benthic demo``: the documented Run:ai collector config, running, on one machine.

It starts, as subprocesses on 127.0.0.1, the Run:ai simulator (``benthic simulate run_ai``), the
OpenMeter-compatible sink (benthic running ``examples/openmeter_sink.yaml``, which appends every
event it accepts to a JSON-lines file) and the collector: benthic on ``examples/run_ai.yaml``,
unchanged. It tails the sink's file and shows the events as they arrive: one row per workload,
and the totals of each scrape.

    benthic demo                  # until Ctrl-C
    benthic demo --duration 75    # stop after 75 seconds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
SEED_CONFIG = REPO / "examples" / "run_ai.yaml"
SINK_CONFIG = REPO / "examples" / "openmeter_sink.yaml"
EVENTS_PATH = "/v3/openmeter/events"


async def _start_sink(events_file: Path, log: Any) -> tuple[asyncio.subprocess.Process, str]:
    """The OpenMeter-compatible sink: ``examples/openmeter_sink.yaml`` run by benthic itself."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "SINK_ADDRESS": f"127.0.0.1:{port}",
        "SINK_FILE": str(events_file),
        "SINK_SCHEMA_DIR": str(REPO / "examples"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benthic.cli", "run", str(SINK_CONFIG),
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"the sink exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the sink did not start listening within 30s")


async def _start_simulator() -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benthic.cli", "simulate", "run_ai", "--port", "0",
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


async def _tail(path: Path, out: Any, counts: list[int]) -> None:
    """Print events as the sink writes them: a row per workload, and the totals of each scrape.

    A scrape's events are mapped together, so their ``time`` values lie within moments of each
    other, while scrapes are a schedule interval apart: a gap of more than a few seconds
    between consecutive events starts a new scrape."""
    position = 0
    block: list[tuple[str, float, float]] = []
    last_time: datetime | None = None
    header = f"{'workload':<32} {'GPU minutes':>12} {'CPU minutes':>12}"

    def show(rows: list[tuple[str, float, float]]) -> None:
        counts[0] += 1
        print(header, file=out)
        for name, gpu, cpu in rows:
            print(f"{name[:32]:<32} {gpu:>12.2f} {cpu:>12.2f}", file=out)
        gpu_total = sum(r[1] for r in rows)
        cpu_total = sum(r[2] for r in rows)
        label = f"-- scrape {counts[0]}: {len(rows)} events"
        print(f"{label:<32} {gpu_total:>12.2f} {cpu_total:>12.2f}\n", file=out, flush=True)

    while True:
        if path.exists():
            with path.open("rb") as src:
                src.seek(position)
                data = src.read()
            complete = data[: data.rfind(b"\n") + 1]
            position += len(complete)
            for line in complete.splitlines():
                if not line.strip():
                    continue
                event = orjson.loads(line)
                at = _event_time(event)
                if block and (at is None or last_time is None or (at - last_time).total_seconds() > 5):
                    show(block)
                    block = []
                last_time = at
                block.append(_row(event))
            if block and not complete:  # nothing new for a poll: the scrape is complete
                show(block)
                block = []
        await asyncio.sleep(1.0)


def _event_time(event: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(event.get("time")).replace("Z", "+00:00"))
    except ValueError:
        return None


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
    log_path = workdir / "benthic.log"
    sink_log_path = workdir / "sink.log"
    with sink_log_path.open("wb") as sink_log:
        sink, sink_url = await _start_sink(events_file, sink_log)
    simulator, simulator_url = await _start_simulator()
    env = {
        **os.environ,
        "RUNAI_URL": simulator_url,
        "RUNAI_APP_ID": "simulated-app",
        "RUNAI_APP_SECRET": "simulated-secret",
        "OPENMETER_URL": sink_url,
    }
    with log_path.open("wb") as log:
        collector = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benthic.cli", "run", "--set", "http.address=127.0.0.1:0", str(SEED_CONFIG),
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO),
        )  # fmt: skip
    print(f"Run:ai simulator  {simulator_url}", file=out)
    print(f"OpenMeter sink    {sink_url}{EVENTS_PATH} ({SINK_CONFIG.name}) -> {events_file}", file=out)
    print(f"collector         {SEED_CONFIG} (log: {log_path})", file=out)
    print("Scrapes run every 30 seconds (schedule '*/30 * * * * *'); Ctrl-C to stop.\n", file=out, flush=True)
    counts = [0]
    tail = asyncio.create_task(_tail(events_file, out, counts))
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
        await asyncio.sleep(0.6)  # let the tail print what arrived last
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail
        await _stop(sink)
    code = collector.returncode or 0
    if code not in (0, -signal.SIGTERM):
        print(
            f"the collector exited with {code}; its log:\n{log_path.read_text(errors='replace')[-3000:]}",
            file=out,
        )
        return 1
    print(f"{counts[0]} scrapes received; events in {events_file}", file=out)
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
