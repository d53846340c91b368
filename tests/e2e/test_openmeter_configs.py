"""OpenMeter's collector configs, run exactly as shipped, behave as Redpanda Connect runs them.

Only environment variables differ from a deployment: URLs point at a sink on 127.0.0.1 and paths
at a temporary directory. The ports the files hard-code (8080, 8889, 4195, 4196) are used as is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.e2e._openmeter_helpers import (
    PRESET,
    QUICKSTART,
    SEEDER,
    clean_env,
    cloudevent,
    collector_workdir,
    start,
    start_on_fixed_ports,
    wait_for_port_free,
)
from tests.e2e.conftest import Process
from tests.e2e.sink import RecordingSink
from tests.ports import free_port

# the configs hard-code their ports and the quickstart its buffer file: under pytest-xdist these
# tests share one worker, so that they never run at the same time as each other
pytestmark = pytest.mark.xdist_group("openmeter-fixed-ports")

PRESET_URL = "http://127.0.0.1:8080/api/v1/events"
QUICKSTART_URL = "http://127.0.0.1:8889/api/v1/events"
# the preset's http_client sends "Bearer ${OPENMETER_TOKEN:}": a token keeps the header valid
TOKEN = "e2e-token"


def post(url: str, body: object, content_type: str = "application/cloudevents+json") -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(url, content=content, headers={"Content-Type": content_type}, timeout=30)


def sent_ids(sink: RecordingSink) -> list[object]:
    return [event["id"] for event in sink.events()]


# -- the HTTP ingest proxy preset -------------------------------------------------------------------


def start_preset(tmp_path: Path, sink_url: str) -> Process:
    env = {
        **clean_env(),
        "OPENMETER_URL": sink_url,
        "OPENMETER_TOKEN": TOKEN,
        "BUFFER_PATH": str(tmp_path / "buffer.db"),
        "LOG_LEVEL": "INFO",
    }
    workdir = collector_workdir(tmp_path)
    process = start_on_fixed_ports(
        (8080, 4195), "http://127.0.0.1:4195/ping", lambda: start("run", str(PRESET), env=env, cwd=workdir)
    )
    process.wait_for_output("Input type http_server is now active")
    return process


@pytest.fixture
def ingest_sink() -> Iterator[RecordingSink]:
    with RecordingSink(path="/api/v1/events", status=204) as sink:
        yield sink


def test_the_preset_answers_204_and_forwards_valid_events_in_batches(
    tmp_path: Path, ingest_sink: RecordingSink
) -> None:
    process = start_preset(tmp_path, ingest_sink.base_url)
    try:
        for i in range(5):
            response = post(PRESET_URL, cloudevent(f"preset-{i}"))
            assert response.status_code == 204
            assert response.headers["content-type"] == "application/json"
        ingest_sink.wait_for_events(5, timeout=30)
        assert sorted(sent_ids(ingest_sink)) == [f"preset-{i}" for i in range(5)]
        request = ingest_sink.accepted()[0]
        assert request.header("content-type") == "application/json"
        assert request.header("authorization") == f"Bearer {TOKEN}"
        assert isinstance(orjson.loads(request.body), list)  # a JSON array per batch
    finally:
        process.stop(15)
        process.cleanup()


def test_the_preset_refuses_invalid_events_with_a_problem_and_keeps_serving(
    tmp_path: Path, ingest_sink: RecordingSink
) -> None:
    process = start_preset(tmp_path, ingest_sink.base_url)
    try:
        no_subject = cloudevent("bad-1")
        del no_subject["subject"]
        response = post(PRESET_URL, no_subject)
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "detail": "invalid event: (root) subject is required",
            "status": 400,
            "title": "Bad Request",
            "type": "about:blank",
        }
        assert post(PRESET_URL, b"{not json").status_code == 400
        assert post(PRESET_URL, [cloudevent("in-array")]).json()["detail"] == (
            "invalid event: (root) invalid type. expected: object, given: array"
        )
        huge = b'{"id":"' + b"x" * (10 * 1024 * 1024) + b'"'  # 10 MB, not even JSON
        response = post(PRESET_URL, huge)
        assert response.status_code == 400 and "Bad Request" in response.text
        assert httpx.get(PRESET_URL, timeout=10).status_code == 405
        # the stream did not stall: a valid event still goes through
        assert post(PRESET_URL, cloudevent("after-bad")).status_code == 204
        ingest_sink.wait_for_events(1, timeout=30)
        time.sleep(1.5)  # one more batch period: nothing invalid follows
        assert sent_ids(ingest_sink) == ["after-bad"]
        assert "schema validation failed due to: (root) subject is required" in process.output
    finally:
        process.stop(15)
        process.cleanup()


def test_events_answered_204_survive_a_kill_while_openmeter_is_down(tmp_path: Path) -> None:
    sink_port = free_port()
    sink_url = f"http://127.0.0.1:{sink_port}"  # nothing listens there yet
    process = start_preset(tmp_path, sink_url)
    answered = []
    try:
        for i in range(20):
            if post(PRESET_URL, cloudevent(f"durable-{i}")).status_code == 204:
                answered.append(f"durable-{i}")
        time.sleep(1.5)  # a batch period: the first delivery attempt is under way when it dies
    finally:
        process.kill()  # SIGKILL: no shutdown, no flush
        process.cleanup()
    assert len(answered) == 20
    with RecordingSink(path="/api/v1/events", status=204, port=sink_port) as sink:
        restarted = start_preset(tmp_path, sink_url)
        try:
            # the predicate runs under the sink's lock: read its requests directly
            sink.wait_for(
                lambda s: set(answered) <= {e["id"] for r in s.requests if r.accepted for e in r.events()}, 60
            )
            assert set(answered) <= set(sent_ids(sink))
        finally:
            restarted.stop(15)
            restarted.cleanup()


# -- the streams-mode quickstart ------------------------------------------------------------------

BUFFER = Path("/var/lib/collector/buffer.sqlite")


def start_quickstart(tmp_path: Path, sink_url: str) -> Process:
    if not os.access(BUFFER.parent if BUFFER.parent.exists() else BUFFER.parent.parent, os.W_OK):
        pytest.skip(f"the quickstart's buffer path {BUFFER} is hard-coded and not writable here")
    for stale in BUFFER.parent.glob(BUFFER.name + "*"):
        stale.unlink()  # left by an earlier run of this test
    env = {**clean_env(), "OPENMETER_URL": sink_url}
    # the docker-compose command, word for word (globs are expanded by benthic itself)
    argv = (
        "--config",
        str(QUICKSTART / "config.yaml"),
        "--log.level",
        "debug",
        "--resources",
        str(QUICKSTART / "resources" / "*.yaml"),
        "streams",
        "--no-api",
        str(QUICKSTART / "streams" / "*.yaml"),
    )
    workdir = collector_workdir(tmp_path)
    process = start_on_fixed_ports(
        (8889, 4195), "http://127.0.0.1:4195/ready", lambda: start(*argv, env=env, cwd=workdir)
    )
    process.wait_for_output("Input type http_server is now active")
    return process


def test_the_quickstart_collector_validates_dedupes_and_delivers(
    tmp_path: Path, ingest_sink: RecordingSink
) -> None:
    process = start_quickstart(tmp_path, ingest_sink.base_url)
    try:
        assert httpx.get("http://127.0.0.1:4195/ready", timeout=10).text == "OK"
        first = post(QUICKSTART_URL, cloudevent("qs-1"))
        assert (first.status_code, first.headers["content-type"]) == (204, "application/octet-stream")
        again = post(QUICKSTART_URL, cloudevent("qs-1"))
        assert (again.status_code, again.content) == (200, b"")  # dedupe dropped the same bytes
        batch = post(
            QUICKSTART_URL, [cloudevent("qs-2"), cloudevent("qs-3")], "application/cloudevents-batch+json"
        )
        assert batch.status_code == 204
        assert batch.headers["content-type"].startswith("multipart/form-data; boundary=")
        no_subject = cloudevent("qs-bad")
        del no_subject["subject"]
        invalid = post(QUICKSTART_URL, no_subject)
        assert invalid.status_code == 400
        assert invalid.json()["detail"] == "request body has an error: (root) subject is required"
        wrong_type = post(QUICKSTART_URL, cloudevent("qs-json"), "application/json")
        assert wrong_type.status_code == 400
        assert (
            wrong_type.json()["detail"]
            == 'request body has an error: header Content-Type has unexpected value "application/json"'
        )
        ingest_sink.wait_for_events(3, timeout=30)
        time.sleep(0.5)
        assert sorted(sent_ids(ingest_sink)) == ["qs-1", "qs-2", "qs-3"]
        assert httpx.get(QUICKSTART_URL, timeout=10).status_code == 405
    finally:
        process.stop(20)
        process.cleanup()


def test_the_quickstart_seeder_feeds_the_collector(tmp_path: Path, ingest_sink: RecordingSink) -> None:
    collector = start_quickstart(tmp_path, ingest_sink.base_url)
    try:
        wait_for_port_free(4196)
        seeder = start(
            "run",
            str(SEEDER),
            env={
                **clean_env(),
                "OPENMETER_URL": "http://127.0.0.1:8889",
                "OPENMETER_TOKEN": TOKEN,
                "SEEDER_COUNT": "8",
                "SEEDER_INTERVAL": "20ms",
            },
        )
        try:
            assert seeder.wait(60) == 0, seeder.output[-3000:]
        finally:
            seeder.cleanup()
        events = ingest_sink.wait_for_events(8, timeout=30)
        assert len({event["id"] for event in events}) == 8
        assert {event["type"] for event in events} == {"request"}
        assert all(str(event["subject"]).startswith("customer-") for event in events)
    finally:
        collector.stop(20)
        collector.cleanup()
