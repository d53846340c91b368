"""Regular expressions users write in configs (``include_patterns`` of metadata filters,
``drop_on.error_patterns``) are Go's: they run on RE2, so a pattern that makes a backtracking
engine take exponential time finishes at once, and a pattern Go rejects is a lint error at its
line."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.sink import RecordingSink
from tests.pipeline.conftest import run_cli, start_cli
from tests.pipeline.test_run import wait_until_serving
from tests.ports import free_port

HOSTILE = "^(a|a)*$"  # exponential on a backtracking engine for "aaa…a!"
HOSTILE_SEARCH = "(a|a)*b"  # the same, unanchored: tried at every "a" of a longer text
HOSTILE_TEXT = "a" * 40 + "!"


def test_a_pattern_go_rejects_is_a_lint_error_at_its_line(tmp_path: Path) -> None:
    config = tmp_path / "patterns.yaml"
    config.write_text(
        """input:
  http_server:
    path: /in
    sync_response:
      metadata_headers:
        include_patterns: [ "(?<=a)b" ]
output:
  drop_on:
    error_patterns:
      - "fine"
      - "(?=lookahead)"
    output:
      drop: {}
"""
    )
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"{config}(6,9) ") and "failed to compile" in lines[0]
    assert lines[1].startswith(
        f"{config}(11,9) error_patterns.1: error pattern 1 failed to compile: error parsing"
    )


def test_a_hostile_include_pattern_on_a_long_key_answers_at_once(tmp_path: Path) -> None:
    service, port = free_port(), free_port()
    config = tmp_path / "server.yaml"
    config.write_text(
        f"""
http:
  address: 127.0.0.1:{service}
input:
  http_server:
    address: 127.0.0.1:{port}
    path: /in
    sync_response:
      metadata_headers:
        include_patterns: [ "{HOSTILE}" ]
  processors:
    - sync_response: {{}}
output:
  drop: {{}}
"""
    )
    proc = start_cli("run", str(config))
    try:
        wait_until_serving(service)
        # query parameters become metadata keys: one the pattern cannot match, one it matches
        response = httpx.post(f"http://127.0.0.1:{port}/in?{HOSTILE_TEXT}=1&aaaa=2", content=b"x", timeout=20)
        assert response.status_code == 200
        assert response.headers.get("Aaaa") == "2"
        assert HOSTILE_TEXT not in {name for name in response.headers}
        assert httpx.get(f"http://127.0.0.1:{service}/ping", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_hostile_drop_on_error_pattern_does_not_stall_the_output(tmp_path: Path) -> None:
    config = tmp_path / "drop.yaml"
    with RecordingSink() as sink:
        # the error text carries the sink's answer: a long run of "a" the first pattern cannot match
        sink.fail_next(1, status=400, body=HOSTILE_TEXT.encode())
        config.write_text(
            f"""
http:
  enabled: false
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = "event"'
output:
  drop_on:
    error_patterns: [ "{HOSTILE_SEARCH}", "!$" ]
    output:
      http_client:
        url: {sink.url}
        retries: 0
"""
        )
        result = run_cli("run", str(config), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Message dropped due to error matching pattern 1: " in result.stdout + result.stderr
