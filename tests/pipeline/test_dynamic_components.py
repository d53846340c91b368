"""The dynamic input and output, managed over the service HTTP API of a running CLI."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.pipeline.conftest import start_cli
from tests.pipeline.test_service import wait_answering
from tests.ports import free_port


def _wait_for(predicate, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_dynamic_output_children_are_added_listed_and_removed_over_http(tmp_path: Path):
    port = free_port()
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    config = tmp_path / "c.yaml"
    config.write_text(
        f"http:\n  address: 127.0.0.1:{port}\n"
        "input:\n  generate:\n    interval: 50ms\n    mapping: 'root = \"tick\"'\n"
        f"output:\n  dynamic:\n    prefix: /admin\n    outputs:\n      first:\n        file:\n          path: {first}\n          codec: lines\n"
    )
    proc = start_cli("run", str(config))
    base = f"http://127.0.0.1:{port}/admin/outputs"
    try:
        wait_answering(f"http://127.0.0.1:{port}/ping")
        assert _wait_for(lambda: len(_lines(first)) >= 1)
        added = httpx.post(f"{base}/second", content=f"file:\n  path: {second}\n  codec: lines\n")
        assert added.status_code == 200, added.text
        listed = httpx.get(base).json()
        assert sorted(listed) == ["first", "second"]
        assert listed["second"]["config"] == {"file": {"path": str(second), "codec": "lines"}}
        assert httpx.get(f"{base}/second/uptime").text.endswith("s")
        assert _wait_for(lambda: len(_lines(second)) >= 2)
        assert httpx.delete(f"{base}/first").status_code == 200
        assert sorted(httpx.get(base).json()) == ["second"]
        stopped_at = len(_lines(first))
        assert _wait_for(lambda: len(_lines(second)) >= len(_lines(first)) + 3)
        assert len(_lines(first)) == stopped_at
        bad = httpx.post(f"{base}/third", content="nonsense_output: {}\n")
        assert bad.status_code == 400
        assert "unable to infer output type from candidates: [nonsense_output]" in bad.text
        assert httpx.get(f"{base}/missing").status_code == 404
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_dynamic_input_merges_children_posted_at_run_time(tmp_path: Path):
    port = free_port()
    out = tmp_path / "out.txt"
    config = tmp_path / "c.yaml"
    config.write_text(
        f"http:\n  address: 127.0.0.1:{port}\n"
        "input:\n  dynamic: {}\n"
        f"output:\n  file:\n    path: {out}\n    codec: lines\n"
    )
    proc = start_cli("run", str(config))
    base = f"http://127.0.0.1:{port}/inputs"
    try:
        wait_answering(f"http://127.0.0.1:{port}/ping")
        assert httpx.get(base).json() == {}
        posted = httpx.post(
            f"{base}/numbers",
            content="generate:\n  count: 3\n  interval: ''\n  mapping: 'root = \"n\" + counter().string()'\n",
        )
        assert posted.status_code == 200, posted.text
        assert _wait_for(lambda: len(_lines(out)) >= 3)
        assert _lines(out) == ["n1", "n2", "n3"]
        # an ended child is removed, and the input keeps running for more
        assert _wait_for(lambda: httpx.get(base).json() == {})
        assert (
            httpx.post(
                f"{base}/more",
                content='{"generate": {"count": 1, "interval": "", "mapping": "root = \\"m\\""}}',
            ).status_code
            == 200
        )
        assert _wait_for(lambda: _lines(out)[-1:] == ["m"])
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
