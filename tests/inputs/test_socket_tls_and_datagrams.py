"""The ``socket`` and ``socket_server`` inputs over TLS (certificates from trustme), on Unix
datagram sockets, with ``address_cache`` and ``open_message_mapping``: the real CLI against real
sockets on 127.0.0.1 and under tmp_path."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import trustme

from tests.component_runs import lint, run_config
from tests.inputs.test_socket_inputs import finish, start, until_end
from tests.pipeline.conftest import cli_env, start_cli
from tests.ports import free_port


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def write_server_cert(ca: trustme.CA, tmp_path: Path) -> tuple[str, str]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = tmp_path / "server.pem", tmp_path / "server.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return str(cert_path), str(key_path)


def tls_connect(port: int, ctx: ssl.SSLContext, deadline: float = 30) -> ssl.SSLSocket:
    """A TLS connection to 127.0.0.1:port, retried while nothing listens yet."""
    end = time.monotonic() + deadline
    while True:
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        except ConnectionError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)
            continue
        try:
            return ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        except (ConnectionError, ssl.SSLEOFError):
            raw.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def wait_for_port(port: int) -> None:
    end = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def socket_server_tls(port: int, tls: str) -> str:
    return until_end(
        f"      socket_server:\n        network: tls\n        address: 127.0.0.1:{port}\n        tls:\n{tls}"
    )


def test_socket_server_tls_serves_the_configured_certificate(tmp_path: Path, ca: trustme.CA):
    cert_file, key_file = write_server_cert(ca, tmp_path)
    port = free_port()
    proc = start(
        tmp_path,
        socket_server_tls(
            port,
            f"          cert_file: {json.dumps(cert_file)}\n          key_file: {json.dumps(key_file)}\n",
        ),
    )
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)  # the certificate is checked: it must be the one configured
    with tls_connect(port, client_ctx) as conn:
        conn.sendall(b"over tls\nend\n")
    assert finish(proc) == ["over tls", "end"]


def test_socket_server_tls_self_signed_makes_up_a_certificate(tmp_path: Path):
    port = free_port()
    proc = start(tmp_path, socket_server_tls(port, "          self_signed: true\n"))
    client_ctx = ssl.create_default_context()
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    with tls_connect(port, client_ctx) as conn:
        peer = conn.getpeercert(binary_form=True)
        conn.sendall(b"a\nend\n")
    assert peer  # a certificate was presented
    assert finish(proc) == ["a", "end"]


def test_socket_server_tls_require_valid_refuses_clients_without_a_trusted_certificate(
    tmp_path: Path, ca: trustme.CA
):
    cert_file, key_file = write_server_cert(ca, tmp_path)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        socket_server_tls(
            port,
            f"          cert_file: {json.dumps(cert_file)}\n          key_file: {json.dumps(key_file)}\n"
            "          client_auth: require_valid\n",
        )
        + "\noutput:\n  stdout: {}\nhttp:\n  enabled: false\n"
    )
    # client certificates are checked against the system's authorities, here the test CA
    proc = start_cli("run", str(config), env=cli_env({"SSL_CERT_FILE": str(ca_file)}))
    anonymous = ssl.create_default_context()
    ca.configure_trust(anonymous)
    with tls_connect(port, anonymous) as conn:
        conn.sendall(b"anonymous\n")
        with pytest.raises((ssl.SSLError, ConnectionError)):
            while conn.recv(100):  # the server ends the session: it never sends data
                pass
            raise ConnectionError("closed")
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    ca.issue_cert("client.example").configure_cert(trusted)
    with tls_connect(port, trusted) as conn:
        conn.sendall(b"trusted\nend\n")
    assert finish(proc) == ["trusted", "end"]


def test_socket_server_tls_lint_needs_a_certificate_and_a_supported_client_auth(tmp_path: Path):
    result = lint(tmp_path, "input:\n  socket_server:\n    network: tls\n    address: 127.0.0.1:0\n")
    assert result.returncode == 1
    assert "must specify either a certificate file or enable self signed" in result.stderr
    result = lint(
        tmp_path,
        "input:\n  socket_server:\n    network: tls\n    address: 127.0.0.1:0\n"
        "    tls: {self_signed: true, client_auth: require_any}\n",
    )
    assert result.returncode == 1 and "tls.client_auth require_any is not supported" in result.stderr


def test_socket_server_unixgram_scans_each_datagram(tmp_path: Path):
    path = str(tmp_path / "dgram.sock")
    proc = start(
        tmp_path,
        until_end(f"      socket_server:\n        network: unixgram\n        address: {json.dumps(path)}\n"),
    )
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    deadline = time.monotonic() + 30
    try:
        # resend until the input binds and reads "end" (a run that never does fails in finish)
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                sender.sendto(b"first\nsecond", path)
                sender.sendto(b"end", path)
            except (FileNotFoundError, ConnectionRefusedError):
                pass
            time.sleep(0.2)
    finally:
        sender.close()
    lines = finish(proc)
    assert lines[-1] == "end" and lines[:2] == ["first", "second"]


def test_address_cache_holds_the_bound_address_under_the_label(tmp_path: Path):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    config = (
        'input:\n  read_until:\n    check: content() == "end"\n    input:\n'
        "      label: listener\n      socket_server:\n        network: tcp\n        address: 127.0.0.1:0\n        address_cache: addr\n"
        f"cache_resources:\n  - label: addr\n    file:\n      directory: {json.dumps(str(cache_dir))}\n"
    )
    proc = start(tmp_path, config)
    key = cache_dir / "listener_address"
    deadline = time.monotonic() + 30
    while not key.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = key.read_text()
    host, _, port = address.rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(b"found you\nend\n")
    assert finish(proc) == ["found you", "end"]


def test_address_cache_key_without_a_label_and_a_unix_path(tmp_path: Path):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    path = str(tmp_path / "s.sock")
    config = (
        f"input:\n  socket_server:\n    network: unix\n    address: {json.dumps(path)}\n    address_cache: addr\n"
        f"cache_resources:\n  - label: addr\n    file:\n      directory: {json.dumps(str(cache_dir))}\n"
    )
    proc = start(tmp_path, config)
    try:
        key = cache_dir / "socket_server_address"
        deadline = time.monotonic() + 30
        while not key.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert key.read_text() == path
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_address_cache_naming_a_missing_cache_fails_at_start(tmp_path: Path):
    result = run_config(
        tmp_path,
        "input:\n  socket_server:\n    network: tcp\n    address: 127.0.0.1:0\n    address_cache: nope\n"
        "output:\n  stdout: {}\n",
    )
    assert result.returncode != 0 and "cache resource 'nope' was not found" in result.stderr


class _TLSServer:
    """A TLS server on 127.0.0.1 that records what each client sends first, then sends
    ``payload`` and closes."""

    def __init__(self, ca: trustme.CA, payload: bytes, *, read_first: bool = True) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(self.ctx)
        self.payload = payload
        self.read_first = read_first
        self.received: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(raw, server_side=True) as conn:
                    conn.settimeout(10)
                    if self.read_first:
                        self.received.append(conn.recv(1000))
                    conn.sendall(self.payload)
                    self.payload = b""
            except (OSError, ssl.SSLError):
                continue

    def close(self) -> None:
        self.stopped = True
        self.listener.close()


def test_socket_input_tls_checks_the_server_and_sends_the_open_message(tmp_path: Path, ca: trustme.CA):
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = _TLSServer(ca, b"hello\nend\n")
    try:
        result = run_config(
            tmp_path,
            until_end(
                f"      socket:\n        network: tcp\n        address: 127.0.0.1:{server.port}\n"
                f'        open_message_mapping: \'root = "login:" + "me"\'\n'
                f"        tls:\n          enabled: true\n          root_cas_file: {json.dumps(str(ca_file))}\n"
            )
            + "output:\n  stdout: {}\n",
        )
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["hello", "end"]
    assert server.received[0] == b"login:me"


def read_stderr_until(proc: subprocess.Popen[str], text: str, *, stdout: bool = False) -> str:
    """Lines of the CLI's log up to the first that holds ``text`` (the test's timeout bounds it).
    The log is on stderr when the output is ``stdout``, else on stdout."""
    stream = proc.stdout if stdout else proc.stderr
    assert stream is not None
    seen = []
    for line in stream:
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"{text!r} never logged:\n{''.join(seen)}")


def test_socket_input_tls_refuses_a_server_it_does_not_trust(tmp_path: Path, ca: trustme.CA):
    server = _TLSServer(ca, b"secret\n", read_first=False)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"input:\n  socket:\n    network: tcp\n    address: 127.0.0.1:{server.port}\n    tls: {{enabled: true}}\n"
        "output:\n  stdout: {}\nhttp:\n  enabled: false\n"
    )
    proc = start_cli("run", str(config))
    try:
        line = read_stderr_until(proc, "CERTIFICATE_VERIFY_FAILED")
        assert "Failed to connect" in line
    finally:
        proc.terminate()
        stdout, _ = proc.communicate(timeout=30)
        server.close()
    assert "secret" not in stdout


def test_socket_input_open_message_mapping_must_give_a_string(tmp_path: Path):
    port = free_port()
    listener = socket.create_server(("127.0.0.1", port))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"input:\n  socket:\n    network: tcp\n    address: 127.0.0.1:{port}\n    open_message_mapping: root = 5\n"
        "output:\n  stdout: {}\nhttp:\n  enabled: false\n"
    )
    proc = start_cli("run", str(config))
    try:
        read_stderr_until(proc, "open message mapping returned non-string result: int64")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
        listener.close()
