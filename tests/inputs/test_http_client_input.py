"""The http_client input (polling and streaming), run through the real CLI against a real server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.http_upstream import Upstream
from tests.pipeline.conftest import run_cli


def _run(tmp_path: Path, input_conf: str, limit: int) -> tuple[list[dict], list]:
    out = tmp_path / "out.jsonl"
    config = tmp_path / "c.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        f"input:\n{input_conf}"
        f"  processors:\n    - mapping: |\n        root.content = content().string()\n        root.meta = metadata()\n"
        f"output:\n  file:\n    path: {out}\n    codec: lines\n"
        f"  processors:\n    - mapping: root = this\n"
    )
    result = run_cli("run", str(config), "--set", "shutdown_timeout=5s", timeout=60)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return rows[:limit], rows


def test_streaming_mode_cuts_the_body_into_lines_and_ends_without_reconnect(tmp_path: Path):
    with Upstream(lines=[b"one", b"two", b"three"]) as up:
        rows, _ = _run(
            tmp_path,
            f"  http_client:\n    url: {up.url}/stream\n    stream:\n      enabled: true\n      reconnect: false\n",
            10,
        )
        assert [r["content"] for r in rows] == ["one", "two", "three"]
        assert rows[0]["meta"]["http_status_code"] == 200
        assert [(m, p) for m, p, _, _ in up.requests] == [("GET", "/stream")]


def test_streaming_with_a_chunker_scanner(tmp_path: Path):
    with Upstream(lines=[b"abcdef"]) as up:
        rows, _ = _run(
            tmp_path,
            f"  http_client:\n    url: {up.url}/stream\n    stream:\n      enabled: true\n      reconnect: false\n"
            "      scanner:\n        chunker:\n          size: 4\n",
            10,
        )
        assert [r["content"] for r in rows] == ["abcd", "ef\n"]


def test_http_client_input_lint_checks_the_stream_scanner(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "input:\n  http_client:\n    url: http://x\n    stream:\n      enabled: true\n"
        "      scanner:\n        nonsense: {}\n"
    )
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    assert f"{config}(7,9) unable to infer scanner type from candidates: [nonsense]" in result.stderr


def test_polling_interpolates_the_last_message_and_skips_empty_bodies(tmp_path: Path):
    import signal
    import time

    from tests.pipeline.conftest import start_cli

    out = tmp_path / "out.jsonl"
    config = tmp_path / "c.yaml"
    with Upstream(pages=[b"p1", b"", b"p2"]) as up:
        config.write_text(
            "http:\n  enabled: false\n"
            "input:\n  http_client:\n"
            f"    url: '{up.url}/page?after=${{! content() }}'\n"
            "    verb: POST\n    payload: 'cursor=${! content() }'\n    rate_limit: slow\n"
            "rate_limit_resources:\n  - label: slow\n    local:\n      count: 1\n      interval: 20ms\n"
            f"output:\n  file:\n    path: {out}\n    codec: lines\n"
        )
        proc = start_cli("run", str(config))
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (not out.exists() or len(out.read_text().split()) < 2):
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
        assert out.read_text().split()[:2] == ["p1", "p2"]
        paths = [p for _, p, _, _ in up.requests]
        bodies = [b for _, _, _, b in up.requests]
        assert paths[:3] == ["/page?after=", "/page?after=p1", "/page?after=p1"]
        assert bodies[:3] == [b"cursor=", b"cursor=p1", b"cursor=p1"]
