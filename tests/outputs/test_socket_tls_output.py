"""The ``socket`` output over TLS (certificates from trustme) to real TLS servers on 127.0.0.1 and
on a Unix socket under tmp_path, through the real CLI."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from pathlib import Path

import trustme

from tests.component_runs import lint, run_config
from tests.inputs.test_socket_tls_and_datagrams import read_stderr_until
from tests.outputs.test_socket_subprocess_outputs import GENERATE
from tests.pipeline.conftest import start_cli


class _TLSCollector:
    """A TLS server that keeps every byte its clients send."""

    def __init__(self, ca: trustme.CA, listener: socket.socket) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(self.ctx)
        self.listener = listener
        self.received: list[bytes] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(raw,), daemon=True).start()

    def _read(self, raw: socket.socket) -> None:
        try:
            with self.ctx.wrap_socket(raw, server_side=True) as conn:
                while chunk := conn.recv(65536):
                    with self.lock:
                        self.received.append(chunk)
        except (OSError, ssl.SSLError):
            return

    def data(self) -> bytes:
        with self.lock:
            return b"".join(self.received)


def test_socket_output_tls_over_tcp_checks_the_server_and_writes_lines(tmp_path: Path):
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    listener = socket.create_server(("127.0.0.1", 0))
    server = _TLSCollector(ca, listener)
    try:
        result = run_config(
            tmp_path,
            GENERATE
            + f"output:\n  socket:\n    network: tcp\n    address: 127.0.0.1:{listener.getsockname()[1]}\n"
            f"    tls:\n      enabled: true\n      root_cas_file: {json.dumps(str(ca_file))}\n",
        )
        assert result.returncode == 0, result.stderr
        deadline = threading.Event()
        for _ in range(100):
            if server.data().count(b"\n") == 3:
                break
            deadline.wait(0.1)
    finally:
        listener.close()
    assert server.data() == b'{"n":1}\n{"n":2}\n{"n":3}\n'


def test_socket_output_tls_over_unix_with_skip_cert_verify(tmp_path: Path):
    path = str(tmp_path / "tls.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    server = _TLSCollector(trustme.CA(), listener)
    try:
        result = run_config(
            tmp_path,
            GENERATE + f"output:\n  socket:\n    network: unix\n    address: {json.dumps(path)}\n"
            "    tls: {enabled: true, skip_cert_verify: true}\n",
        )
        assert result.returncode == 0, result.stderr
        for _ in range(100):
            if server.data().count(b"\n") == 3:
                break
            threading.Event().wait(0.1)
    finally:
        listener.close()
    assert server.data() == b'{"n":1}\n{"n":2}\n{"n":3}\n'


def test_socket_output_tls_over_unix_without_skip_cert_verify_cannot_verify(tmp_path: Path):
    path = str(tmp_path / "tls.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    config = tmp_path / "config.yaml"
    config.write_text(
        GENERATE
        + f"output:\n  socket:\n    network: unix\n    address: {json.dumps(path)}\n    tls: {{enabled: true}}\n"
        "http:\n  enabled: false\n"
    )
    proc = start_cli("run", str(config))
    try:
        read_stderr_until(proc, "either ServerName or InsecureSkipVerify must be specified", stdout=True)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
        listener.close()


def test_socket_output_tls_with_udp_is_refused_at_lint(tmp_path: Path):
    result = lint(
        tmp_path,
        "output:\n  socket:\n    network: udp\n    address: 127.0.0.1:9\n    tls: {enabled: true}\n",
    )
    assert result.returncode == 1 and "TLS needs a stream connection" in result.stderr
