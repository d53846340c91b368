"""The ``websocket`` input and output against a real websocket server on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trustme
from websockets.sync.server import Server, ServerConnection, serve

from tests.component_runs import file_input, lint, run_config, write
from tests.inputs.test_socket_inputs import until_end
from tests.pipeline.conftest import start_cli


@contextmanager
def ws_server(handler: Callable[[ServerConnection], None], tls: Any = None) -> Iterator[int]:
    server: Server = serve(handler, "127.0.0.1", 0, ssl=tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.shutdown()


def test_websocket_input_sends_the_open_message_and_reconnects_when_the_server_goes_away(tmp_path: Path):
    opens: list[Any] = []
    batches = [["a", b"b"], ["c", "end"]]

    def handler(conn: ServerConnection) -> None:
        opens.append(conn.recv())
        for payload in batches.pop(0):
            conn.send(payload)
        if batches:
            conn.close()  # the server goes away after the first batch
        else:
            conn.recv()  # keep the last connection open until benthic leaves

    with ws_server(handler) as port:
        result = run_config(
            tmp_path,
            until_end(
                f"      websocket:\n        url: ws://127.0.0.1:{port}/feed\n"
                "        open_message: hello\n        open_message_type: text\n"
            )
            + "output:\n  stdout: {}\n",
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["a", "b", "c", "end"]
    assert opens == ["hello", "hello"]


def test_websocket_input_over_tls_sends_a_binary_open_message(tmp_path: Path):
    ca = trustme.CA()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    opens: list[Any] = []

    def handler(conn: ServerConnection) -> None:
        opens.append(conn.recv())
        conn.send("secret")
        conn.send("end")
        conn.recv()

    with ws_server(handler, tls=server_ctx) as port:
        result = run_config(
            tmp_path,
            until_end(
                f"      websocket:\n        url: wss://127.0.0.1:{port}/\n        open_message: hi\n"
                f"        tls:\n          enabled: true\n          root_cas_file: {ca_path}\n"
            )
            + "output:\n  stdout: {}\n",
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["secret", "end"]
    assert opens == [b"hi"]


def test_websocket_output_sends_each_message_as_a_binary_frame(tmp_path: Path):
    received: list[Any] = []
    done = threading.Event()

    def handler(conn: ServerConnection) -> None:
        for message in conn:
            received.append(message)
            if len(received) == 3:
                done.set()

    with ws_server(handler) as port:
        result = run_config(
            tmp_path,
            file_input(tmp_path, ["one", "two", "three"])
            + f"output:\n  websocket:\n    url: ws://127.0.0.1:{port}/sink\n",
        )
        done.wait(10)
    assert result.returncode == 0, result.stderr
    assert received == [b"one", b"two", b"three"]


def test_websocket_lint_refuses_oauth_jwt_and_max_retries(tmp_path: Path):
    result = lint(
        tmp_path,
        "input:\n  websocket:\n    url: ws://127.0.0.1:1/\n    connection:\n      max_retries: 3\n"
        "    jwt:\n      enabled: true\n"
        "output:\n  websocket:\n    url: ws://127.0.0.1:1/\n    oauth:\n      enabled: true\n",
    )
    assert result.returncode != 0
    assert "JWT request signing is not supported" in result.stdout + result.stderr
    assert "OAuth v1 request signing is not supported" in result.stdout + result.stderr
    assert "connection.max_retries" in result.stdout + result.stderr


def test_websocket_output_reconnects_after_a_failed_handshake(tmp_path: Path):
    # a plain TCP listener takes benthic's first connection and hangs up, so the handshake fails
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    received: list[Any] = []
    done = threading.Event()

    def handler(conn: ServerConnection) -> None:
        for message in conn:
            received.append(message)
            if len(received) == 2:
                done.set()

    proc = start_cli(
        "run",
        write(
            tmp_path,
            file_input(tmp_path, ["first", "second"])
            + f"output:\n  websocket:\n    url: ws://127.0.0.1:{port}/\nhttp:\n  enabled: false\n",
        ),
    )
    try:
        first, _ = listener.accept()
        first.close()
        listener.close()
        server: Server = serve(handler, "127.0.0.1", port)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            _, stderr = proc.communicate(timeout=30)
            done.wait(10)
        finally:
            server.shutdown()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert received == [b"first", b"second"]
