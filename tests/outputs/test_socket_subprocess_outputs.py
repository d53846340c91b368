"""The ``socket`` and ``subprocess`` outputs delivering to real sockets on 127.0.0.1 and real
programs, through the real CLI."""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import threading
from pathlib import Path

from tests.component_runs import run_config

GENERATE = """input:
  generate:
    count: 3
    interval: ""
    mapping: 'root = {"n": counter()}'
"""


class _Collector(socketserver.StreamRequestHandler):
    received: list[bytes] = []

    def handle(self) -> None:
        self.received.append(self.rfile.read())


def test_socket_output_tcp_writes_lines_to_the_server(tmp_path: Path):
    _Collector.received = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Collector)
    server.daemon_threads = False
    server.block_on_close = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        result = run_config(
            tmp_path, GENERATE + f"output:\n  socket:\n    network: tcp\n    address: 127.0.0.1:{port}\n"
        )
        assert result.returncode == 0, result.stderr
    finally:
        server.shutdown()
        server.server_close()
    assert b"".join(_Collector.received) == b'{"n":1}\n{"n":2}\n{"n":3}\n'


def test_socket_output_udp_sends_a_datagram_per_message(tmp_path: Path):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(30)
    try:
        port = receiver.getsockname()[1]
        result = run_config(
            tmp_path,
            GENERATE
            + f"output:\n  socket:\n    network: udp\n    address: 127.0.0.1:{port}\n    codec: append\n",
        )
        assert result.returncode == 0, result.stderr
        datagrams = [receiver.recv(1000) for _ in range(3)]
    finally:
        receiver.close()
    assert datagrams == [b'{"n":1}', b'{"n":2}', b'{"n":3}']


def test_socket_output_with_nobody_listening_retries_and_does_not_lose_messages(tmp_path: Path):
    # the first attempts fail (connection refused); a server that starts later gets everything
    _Collector.received = []
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    timer_server: list[socketserver.ThreadingTCPServer] = []

    def serve_later() -> None:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", port), _Collector)
        server.block_on_close = True
        timer_server.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    timer = threading.Timer(1.5, serve_later)
    timer.start()
    try:
        result = run_config(
            tmp_path, GENERATE + f"output:\n  socket:\n    network: tcp\n    address: 127.0.0.1:{port}\n"
        )
        assert result.returncode == 0, result.stderr
    finally:
        timer.join()
        for server in timer_server:
            server.shutdown()
            server.server_close()
    assert b"".join(_Collector.received) == b'{"n":1}\n{"n":2}\n{"n":3}\n'


def test_subprocess_output_writes_each_message_as_a_line_to_the_program(tmp_path: Path):
    sink = tmp_path / "sink.txt"
    program = tmp_path / "sink.py"
    program.write_text(
        f"import sys\nwith open({str(sink)!r}, 'w') as fh:\n    for line in sys.stdin:\n        fh.write(line.upper())\n"
    )
    result = run_config(
        tmp_path,
        GENERATE
        + f"output:\n  subprocess:\n    name: {json.dumps(sys.executable)}\n    args: [{json.dumps(str(program))}]\n",
    )
    assert result.returncode == 0, result.stderr
    assert sink.read_text() == '{"N":1}\n{"N":2}\n{"N":3}\n'
