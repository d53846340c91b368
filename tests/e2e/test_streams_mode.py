"""`benthic streams`: several streams in one process, sharing the HTTP server, caches and inproc."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson

from tests.e2e._openmeter_helpers import start, wait_until_answering
from tests.ports import free_port

ROOT = """
http:
  address: 127.0.0.1:{port}
cache_resources:
  - label: seen
    memory:
      default_ttl: 1h
"""

FRONT = """
input:
  http_server:
    path: /events
pipeline:
  processors:
    - dedupe:
        cache: seen
        key: '${! content() }'
    - mapping: 'root = content().uppercase()'
output:
  broker:
    pattern: fan_out
    outputs:
      - sync_response: {}
      - inproc: handoff
"""

BACK = """
input:
  inproc: handoff
output:
  file:
    path: {events}
    codec: lines
"""

ECHO = """
input:
  http_server:
    path: /echo
pipeline:
  processors:
    - mapping: 'root = "echo: " + content()'
    - sync_response: {}
output:
  drop: {}
"""


def test_streams_share_the_server_caches_and_inproc_pipes(tmp_path: Path) -> None:
    port = free_port()
    events = tmp_path / "events.jsonl"
    (tmp_path / "root.yaml").write_text(ROOT.format(port=port))
    streams = tmp_path / "streams"
    (streams / "nested").mkdir(parents=True)
    (streams / "front.yaml").write_text(FRONT)
    (streams / "nested" / "back.yaml").write_text(BACK.format(events=events))
    process = start("streams", "-c", str(tmp_path / "root.yaml"), str(streams))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base + "/ready", process)
        process.wait_for_output("Input type inproc is now active")
        assert httpx.get(base + "/ready").text == "OK"
        # the shared server prefixes a stream's endpoint with its id
        response = httpx.post(base + "/front/events", content=b"hello")
        assert (response.status_code, response.content) == (200, b"HELLO")
        repeat = httpx.post(base + "/front/events", content=b"hello")
        assert (repeat.status_code, repeat.content) == (200, b"")  # deduplicated by the shared cache
        assert events.read_text() == "HELLO\n"  # answered only after the other stream took it
        listing = httpx.get(base + "/streams").json()
        assert sorted(listing) == ["front", "nested_back"]
        assert listing["front"]["active"] is True
    finally:
        assert process.stop(20) == 0, process.output[-3000:]
        process.cleanup()


def test_the_streams_api_creates_replaces_and_deletes_streams(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "root.yaml").write_text(f"http:\n  address: 127.0.0.1:{port}\n")
    process = start("streams", "-c", str(tmp_path / "root.yaml"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base + "/ready", process)
        assert httpx.get(base + "/streams").json() == {}
        assert httpx.post(base + "/streams/echo", content=ECHO.encode()).status_code == 200
        assert httpx.post(base + "/streams/echo", content=ECHO.encode()).text == "Stream already exists\n"
        for _ in range(50):
            answer = httpx.post(base + "/echo/echo", content=b"hi")
            if answer.status_code == 200:
                break
            time.sleep(0.1)
        assert answer.content == b"echo: hi"
        info = httpx.get(base + "/streams/echo").json()
        assert info["active"] is True and info["config"]["output"] == {"drop": {}}
        replaced = ECHO.replace('"echo: "', '"again: "')
        assert httpx.put(base + "/streams/echo", content=replaced.encode()).status_code == 200
        assert httpx.post(base + "/echo/echo", content=b"hi").content == b"again: hi"
        bad = httpx.post(base + "/streams/broken", content=b"input:\n  nope: {}\n")
        assert bad.status_code == 400 and "lint_errors" in orjson.loads(bad.content)
        assert httpx.delete(base + "/streams/echo").status_code == 200
        assert httpx.get(base + "/streams/echo").status_code == 404
        assert httpx.delete(base + "/streams/echo").text == "Stream not found\n"
    finally:
        assert process.stop(20) == 0, process.output[-3000:]
        process.cleanup()


def test_no_api_keeps_ready_but_removes_the_streams_endpoints(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "root.yaml").write_text(f"http:\n  address: 127.0.0.1:{port}\n")
    (tmp_path / "echo.yaml").write_text(ECHO)
    process = start(
        "streams",
        "-c",
        str(tmp_path / "root.yaml"),
        "--no-api",
        str(tmp_path / "*.yaml").replace("*.yaml", "echo.yaml"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base + "/ready", process)
        process.wait_for_output("Input type http_server is now active")
        assert httpx.get(base + "/ready").text == "OK"
        assert httpx.get(base + "/streams").status_code == 404
        assert httpx.post(base + "/echo/echo", content=b"x").content == b"echo: x"
    finally:
        process.stop(20)
        process.cleanup()


def test_a_stream_file_with_root_fields_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "http:\n  address: 127.0.0.1:0\ninput:\n  generate:\n    mapping: root = 1\n"
    )
    process = start("streams", str(tmp_path / "bad.yaml"))
    try:
        assert process.wait(30) == 1
        assert "field http is not allowed in a stream config" in process.output
    finally:
        process.cleanup()
