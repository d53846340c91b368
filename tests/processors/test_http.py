"""The http processor, run through the real CLI against a real server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.http_upstream import Upstream
from tests.pipeline.conftest import run_cli


def _run(tmp_path: Path, processors: str, count: int = 2) -> list[dict]:
    out = tmp_path / "out.jsonl"
    config = tmp_path / "c.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        f"input:\n  generate:\n    count: {count}\n    interval: ''\n    mapping: 'root = \"m\" + counter().string()'\n"
        f"pipeline:\n  processors:\n{processors}"
        "    - mapping: |\n        root.content = content().string()\n        root.meta = metadata()\n"
        "        root.error = error()\n"
        f"output:\n  file:\n    path: {out}\n    codec: lines\n"
    )
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_each_message_is_replaced_by_its_response_with_status_and_extracted_headers(tmp_path: Path):
    with Upstream() as up:
        rows = _run(
            tmp_path,
            f"    - http:\n        url: {up.url}/echo\n        extract_headers:\n          include_patterns: ['^x-']\n",
        )
        # two single-message batches on pipeline.threads workers: they may finish in either order
        assert sorted(r["content"] for r in rows) == ["echo:m1", "echo:m2"]
        assert all(r["meta"]["http_status_code"] == 200 and r["meta"]["x-reply"] == "yes" for r in rows)
        assert sorted(body for _, _, _, body in up.requests) == [b"m1", b"m2"]
        assert all(method == "POST" for method, *_ in up.requests)


def test_a_failed_request_keeps_the_message_flagged_with_the_status(tmp_path: Path):
    with Upstream() as up:
        rows = _run(
            tmp_path,
            f"    - http:\n        url: {up.url}/fail\n        retries: 1\n        retry_period: 10ms\n",
            count=1,
        )
        assert rows[0]["content"] == "m1"
        assert rows[0]["meta"]["http_status_code"] == 500
        assert "HTTP request returned unexpected response code (500)" in rows[0]["error"]
        assert len(up.requests) == 2  # the first attempt and one retry


def test_a_multipart_response_becomes_one_message_per_part(tmp_path: Path):
    with Upstream() as up:
        rows = _run(tmp_path, f"    - http:\n        url: {up.url}/multi\n        verb: GET\n", count=1)
        assert [r["content"] for r in rows] == ["first", "second"]


def test_parallel_and_interpolated_urls_send_every_message(tmp_path: Path):
    with Upstream() as up:
        rows = _run(
            tmp_path,
            "    - http:\n        url: '" + up.url + "/echo?id=${! content() }'\n        parallel: true\n"
            "        headers:\n          X-Id: '${! content() }'\n",
            count=3,
        )
        assert sorted(r["content"] for r in rows) == ["echo:m1", "echo:m2", "echo:m3"]
        assert sorted(path for _, path, _, _ in up.requests) == ["/echo?id=m1", "/echo?id=m2", "/echo?id=m3"]
        assert sorted(h["X-Id"] for _, _, h, _ in up.requests) == ["m1", "m2", "m3"]


def test_http_processor_lint_refuses_unknown_fields_and_oauth1(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "pipeline:\n  processors:\n    - http:\n        url: http://x\n        parallell: true\n"
    )
    result = run_cli("lint", str(config))
    assert (result.returncode, "field parallell not recognised" in result.stderr) == (1, True)
    config.write_text(
        "pipeline:\n  processors:\n    - http:\n        url: http://x\n        oauth:\n          enabled: true\n"
    )
    result = run_cli("lint", str(config))
    assert (result.returncode, "OAuth v1 request signing is not supported" in result.stderr) == (1, True)
