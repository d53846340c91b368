"""Helpers for the tests that run OpenMeter's collector configs exactly as shipped."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.conftest import REPO, Process, benthic_argv
from tests.shared import UPSTREAM_CONFIGS

UPSTREAM = UPSTREAM_CONFIGS / "openmeter"
PRESET = UPSTREAM / "collector" / "benthos" / "presets" / "http-server" / "config.yaml"
QUICKSTART = UPSTREAM / "collector" / "quickstart" / "collector"
SEEDER = UPSTREAM / "collector" / "quickstart" / "seeder" / "config.yaml"
SINK_CONFIG = REPO / "examples" / "openmeter_sink.yaml"


def collector_workdir(tmp_path: Path) -> Path:
    """A working directory like the collector image's ``/etc/benthos``: the schema beside it."""
    workdir = tmp_path / "collector"
    workdir.mkdir(exist_ok=True)
    shutil.copy(UPSTREAM / "cloudevents.spec.json", workdir / "cloudevents.spec.json")
    return workdir


def start(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> Process:
    return Process(benthic_argv(*args), env, cwd=cwd)


def start_on_fixed_ports(
    ports: tuple[int, ...], ready_url: str, launch: Callable[[], Process], attempts: int = 3
) -> Process:
    """``launch`` a process that binds the hard-coded ``ports`` and answers ``ready_url``.

    When the tests run in parallel, another test's benthic may take one of these ports (benthic
    listens on 4195 unless told otherwise) between our check that it is free and our process
    binding it; then another process would answer our requests. So the ports must be ours,
    checked in Linux's socket tables; else the process is stopped and started again."""
    for _ in range(attempts):
        wait_for_port_free(*ports)
        process = launch()
        wait_until_answering(ready_url, process)
        # the service port answers first; the inputs bind theirs a moment later
        deadline = time.monotonic() + 10
        while process.popen.poll() is None and time.monotonic() < deadline:
            if all(listens_on(process.popen.pid, port) for port in ports):
                return process
            time.sleep(0.05)
        process.kill()
    raise AssertionError(f"another process kept taking one of the ports {ports}")


def listens_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a socket listening on TCP ``port`` (from ``/proc``)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            next(rows)  # the heading
            for row in rows:
                cells = row.split()
                if cells[3] == "0A" and int(cells[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(f"socket:[{cells[9]}]")
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process has gone
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(fd) in inodes:
                return True
    return False


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def wait_for_port_free(*ports: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(port_free(p) for p in ports):
        if time.monotonic() > deadline:
            raise AssertionError(f"ports {ports} are still in use")
        time.sleep(0.1)


def wait_until_answering(url: str, process: Process, timeout: float = 30.0) -> None:
    """Until ``url`` answers anything at all over HTTP."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            pass
        if process.returncode is not None:
            raise AssertionError(f"process exited ({process.returncode}):\n{process.output[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer within {timeout}s:\n{process.output[-4000:]}")
        time.sleep(0.1)


def cloudevent(event_id: str, **extra: object) -> dict[str, object]:
    return {
        "id": event_id,
        "source": "api-gateway",
        "specversion": "1.0",
        "type": "request",
        "subject": "customer-1",
        "time": "2024-01-02T03:04:05Z",
        "data": {"method": "GET", "path": "/", "duration_ms": 12},
        **extra,
    }


def clean_env() -> dict[str, str]:
    """Only what a test sets: drop any OPENMETER_/SINK_/BUFFER_ variables of the caller."""
    return {
        k: "" for k in os.environ if k.startswith(("OPENMETER_", "SINK_", "BUFFER_", "SEEDER_", "BATCH_"))
    }
