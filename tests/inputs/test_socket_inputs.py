"""The ``socket`` and ``socket_server`` inputs on real sockets on 127.0.0.1 (and a Unix socket),
with the real CLI. Each config wraps the input in ``read_until`` so the run ends on a last
message, as a user testing a listener would."""

from __future__ import annotations

import json
import socket
import socketserver
import subprocess
import threading
import time
from pathlib import Path

from tests.component_runs import run_config
from tests.pipeline.conftest import start_cli
from tests.ports import free_port


def until_end(inner: str) -> str:
    return f'input:\n  read_until:\n    check: content() == "end"\n    input:\n{inner}'


def start(tmp_path: Path, config: str) -> subprocess.Popen[str]:
    path = tmp_path / "config.yaml"
    path.write_text(config + "\noutput:\n  stdout: {}\nhttp:\n  enabled: false\n")
    return start_cli("run", str(path))


def connect_with_retry(family: int, address: object) -> socket.socket:
    for _ in range(300):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.connect(address)
            return sock
        except OSError:
            sock.close()
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {address}")


def finish(proc: subprocess.Popen[str]) -> list[str]:
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"the run did not end:\n{stderr}") from None
    assert proc.returncode == 0, stderr
    return stdout.splitlines()


def test_socket_server_tcp_reads_every_connection(tmp_path: Path):
    port = free_port()
    proc = start(
        tmp_path,
        until_end(f"      socket_server:\n        network: tcp\n        address: 127.0.0.1:{port}\n"),
    )
    first = connect_with_retry(socket.AF_INET, ("127.0.0.1", port))
    first.sendall(b"one\ntwo\n")
    first.close()
    time.sleep(0.2)
    second = connect_with_retry(socket.AF_INET, ("127.0.0.1", port))
    second.sendall(b"three\nend\n")
    second.close()
    assert finish(proc) == ["one", "two", "three", "end"]


def test_socket_server_udp_scans_each_datagram(tmp_path: Path):
    port = free_port()
    proc = start(
        tmp_path,
        until_end(f"      socket_server:\n        network: udp\n        address: 127.0.0.1:{port}\n"),
    )
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    deadline = time.monotonic() + 30
    try:
        # datagrams sent before the server binds are lost: resend (for a while; then finish fails)
        while proc.poll() is None and time.monotonic() < deadline:
            sender.sendto(b"alpha\nbeta\nend", ("127.0.0.1", port))
            time.sleep(0.2)
    finally:
        sender.close()
    assert finish(proc)[:3] == ["alpha", "beta", "end"]


def test_socket_server_unix_with_a_custom_scanner(tmp_path: Path):
    path = str(tmp_path / "in.sock")
    proc = start(
        tmp_path,
        until_end(
            f"      socket_server:\n        network: unix\n        address: {json.dumps(path)}\n"
            "        scanner: {lines: {custom_delimiter: '|'}}\n"
        ),
    )
    client = connect_with_retry(socket.AF_UNIX, path)
    client.sendall(b"x|y|end|")
    client.close()
    assert finish(proc) == ["x", "y", "end"]


class _Feeder(socketserver.BaseRequestHandler):
    payloads: list[bytes] = []

    def handle(self) -> None:
        self.request.sendall(self.payloads.pop(0) if self.payloads else b"")


def test_socket_input_reads_from_a_server_and_reconnects_when_it_closes(tmp_path: Path):
    _Feeder.payloads = [b'{"n":1}\n{"n":2}\n', b'{"n":3}\nend\n']
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Feeder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        result = run_config(
            tmp_path,
            until_end(f"      socket:\n        network: tcp\n        address: 127.0.0.1:{port}\n")
            + "output:\n  stdout: {}\n",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['{"n":1}', '{"n":2}', '{"n":3}', "end"]
