"""The http_server output, run through the real CLI, fetched by real HTTP clients on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.pipeline.conftest import run_cli, start_cli
from tests.ports import free_port


def _config(tmp_path: Path, port: int, count: int, extra: str = "", batch: int = 1) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        f"input:\n  generate:\n    count: {count}\n    batch_size: {batch}\n    interval: ''\n"
        "    mapping: 'root = \"m\" + counter().string()'\n"
        f"output:\n  http_server:\n    address: 127.0.0.1:{port}\n{extra}"
    )
    return config


def _get(url: str, **kw: object) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, timeout=10, **kw)  # type: ignore[arg-type]
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_each_get_takes_the_next_message_and_the_run_ends_once_all_are_taken(tmp_path: Path):
    port = free_port()
    proc = start_cli("run", str(_config(tmp_path, port, 3)))
    try:
        bodies = [_get(f"http://127.0.0.1:{port}/get").content for _ in range(3)]
        assert bodies == [b"m1", b"m2", b"m3"]
        proc.communicate(timeout=30)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_a_batch_is_served_as_one_multipart_body(tmp_path: Path):
    port = free_port()
    proc = start_cli("run", str(_config(tmp_path, port, 2, batch=2)))
    try:
        response = _get(f"http://127.0.0.1:{port}/get")
        assert response.headers["content-type"].startswith("multipart/mixed; boundary=")
        assert b"m1" in response.content and b"m2" in response.content
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_stream_path_writes_every_message_as_a_line(tmp_path: Path):
    port = free_port()
    proc = start_cli("run", str(_config(tmp_path, port, 3)))
    try:
        _get(f"http://127.0.0.1:{port}/nothing")  # wait until it listens
        lines: list[bytes] = []
        with httpx.stream("GET", f"http://127.0.0.1:{port}/get/stream", timeout=20) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                lines.append(line.encode())
                if len(lines) == 3:
                    break
        assert lines == [b"m1", b"m2", b"m3"]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_get_with_nothing_to_take_times_out_with_408_and_other_verbs_are_refused(tmp_path: Path):
    port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(
        "http:\n  enabled: false\ninput:\n  http_server:\n    address: 127.0.0.1:" + str(free_port()) + "\n"
        f"output:\n  http_server:\n    address: 127.0.0.1:{port}\n    timeout: 200ms\n"
    )
    proc = start_cli("run", str(config))
    try:
        response = _get(f"http://127.0.0.1:{port}/get")
        assert (response.status_code, response.text) == (408, "Timed out waiting for message")
        assert httpx.post(f"http://127.0.0.1:{port}/get").status_code == 405
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_lint_refuses_tls_without_an_address(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("output:\n  http_server:\n    cert_file: a.pem\n    key_file: b.pem\n")
    result = run_cli("lint", str(config))
    assert "apply only to a custom address" in result.stderr
    config.write_text("output:\n  http_server:\n    path: /fetch\n    allowed_verbs: [GET, POST]\n")
    assert run_cli("lint", str(config)).returncode == 0
