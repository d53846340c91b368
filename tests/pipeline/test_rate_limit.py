"""The local rate limit, shared by name: an http_server input answers 429 past the limit."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.pipeline.conftest import run_cli, start_cli
from tests.ports import free_port


def test_http_server_refuses_requests_beyond_a_local_rate_limit(tmp_path: Path):
    port = free_port()
    out = tmp_path / "out.txt"
    config = tmp_path / "limited.yaml"
    config.write_text(f"""
http: {{enabled: false}}
rate_limit_resources:
  - label: two_per_minute
    local:
      count: 2
      interval: 1m
input:
  http_server:
    address: 127.0.0.1:{port}
    path: /ingest
    rate_limit: two_per_minute
output:
  file:
    path: {out}
""")
    proc = start_cli("run", str(config))
    try:
        statuses = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(statuses) < 3:
            try:
                statuses.append(
                    httpx.post(f"http://127.0.0.1:{port}/ingest", content=b"hello", timeout=5).status_code
                )
            except httpx.ConnectError:
                time.sleep(0.1)
        assert statuses == [200, 200, 429]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert out.read_text() == "hello\nhello\n"


def test_local_rate_limit_fields_are_checked(tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text(
        "rate_limit_resources:\n  - label: rl\n    local:\n      count: 0\n      byte_size: 10\n"
    )
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    assert "count must be larger than zero" in result.stderr
    assert "byte_size limits are not supported" in result.stderr
