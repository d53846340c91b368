"""The HTTP server (service endpoints and ``http_server`` inputs) against hostile clients, with raw
sockets: idle, half-sent head and half-sent body connections are closed, connections are limited,
and a request framed twice is refused."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.http.server import HTTPServer, Response
from tests.pipeline.conftest import cli_env
from tests.pipeline.test_run import wait_until_serving
from tests.ports import free_port


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    """A server with short timeouts and room for three connections, run in its own thread."""
    loop = asyncio.new_event_loop()
    srv = HTTPServer(
        "127.0.0.1", 0, header_timeout=0.5, body_timeout=0.5, idle_timeout=0.5, max_connections=3
    )

    async def ok(_request: object) -> Response:
        return Response.text("pong")

    srv.route("/ping", ok)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(srv.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    yield srv
    asyncio.run_coroutine_threadsafe(srv.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails if it never does)."""
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def test_an_idle_connection_is_closed_without_an_answer(server: HTTPServer) -> None:
    with _connect(server.port) as sock:
        assert _read_all(sock) == b""


def test_a_half_sent_request_head_gets_408_and_is_closed(server: HTTPServer) -> None:
    with _connect(server.port) as sock:
        sock.sendall(b"POST /ping HTTP/1.1\r\nHost: x\r\nX-Slow:")
        assert _read_all(sock).startswith(b"HTTP/1.1 408 ")


def test_a_half_sent_body_gets_408_and_is_closed(server: HTTPServer) -> None:
    with _connect(server.port) as sock:
        sock.sendall(b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        assert _read_all(sock).startswith(b"HTTP/1.1 408 ")


def test_a_kept_alive_connection_is_closed_once_idle(server: HTTPServer) -> None:
    with _connect(server.port) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"pong")


def test_content_length_with_transfer_encoding_is_refused(server: HTTPServer) -> None:
    with _connect(server.port) as sock:
        sock.sendall(
            b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.count(b"HTTP/1.1") == 1  # the smuggled request was never served


def test_connections_beyond_the_limit_get_503_and_the_rest_are_served_later(server: HTTPServer) -> None:
    idle = [_connect(server.port) for _ in range(3)]
    try:
        time.sleep(0.1)  # the three are being served
        with _connect(server.port) as extra:
            assert _read_all(extra).startswith(b"HTTP/1.1 503 ")
    finally:
        for sock in idle:
            sock.close()
    with _connect(server.port) as sock:  # the idle ones were closed: room again
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 200 ")


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


def test_a_flood_of_idle_connections_leaves_the_http_input_serving_without_tracebacks(tmp_path: Path):
    service_port, input_port = free_port(), free_port()
    out = tmp_path / "out.txt"
    config = tmp_path / "flood.yaml"
    config.write_text(f"""
http: {{address: 127.0.0.1:{service_port}}}
input:
  http_server:
    address: 127.0.0.1:{input_port}
    path: /post
output:
  file:
    path: {out}
    codec: lines
""")
    proc = subprocess.Popen(
        [sys.executable, "-m", "benthic.cli", "run", str(config)],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit_descriptors,  # 128 descriptors: a flood of 300 would exhaust them
    )
    flood: list[socket.socket] = []
    try:
        wait_until_serving(service_port)
        for _ in range(300):
            try:
                flood.append(socket.create_connection(("127.0.0.1", input_port), timeout=5))
            except OSError:
                break
        time.sleep(0.5)
        for sock in flood:
            sock.close()
        flood.clear()
        time.sleep(0.5)
        with socket.create_connection(("127.0.0.1", input_port), timeout=10) as sock:
            sock.sendall(
                b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
            )
            answer = _read_all(sock)
        with socket.create_connection(("127.0.0.1", input_port), timeout=10) as sock:
            sock.sendall(
                b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"0\r\n\r\n"
            )
            smuggled = _read_all(sock)
    finally:
        for sock in flood:
            sock.close()
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=30)
    assert answer.startswith(b"HTTP/1.1 200 "), stdout + stderr
    assert smuggled.startswith(b"HTTP/1.1 400 ")
    assert out.read_text() == "hello\n"
    assert "Traceback" not in stdout + stderr


SERVE_WITH_FEW_DESCRIPTORS = """
import asyncio, resource, sys
from pipeline.http.server import HTTPServer
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

async def main():
    srv = HTTPServer("127.0.0.1", 0, max_connections=10_000)  # more than descriptors allow
    await srv.start()
    print(srv.port, flush=True)
    await asyncio.sleep(float(sys.argv[1]))
    await srv.close()

asyncio.run(main())
"""


def test_running_out_of_descriptors_logs_one_line_not_a_traceback_per_accept() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_WITH_FEW_DESCRIPTORS, "4"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    flood: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        for _ in range(150):  # beyond the 64 descriptors: accepts fail with EMFILE
            with contextlib.suppress(OSError):
                flood.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        _, stderr = proc.communicate(timeout=30)
    finally:
        for sock in flood:
            sock.close()
        proc.kill()
    assert "Traceback" not in stderr
    assert 1 <= stderr.count("cannot accept connections") <= 2, stderr
