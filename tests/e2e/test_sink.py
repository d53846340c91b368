"""The OpenMeter-compatible sink (examples/openmeter_sink.yaml) as a user drives it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.e2e._openmeter_helpers import SINK_CONFIG, cloudevent, start, wait_until_answering
from tests.e2e.conftest import REPO
from tests.ports import free_port

CLOUDEVENT = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


class Sink:
    def __init__(self, url: str, events_file: Path) -> None:
        self.url = url
        self.events_file = events_file

    def lines(self) -> list[dict[str, object]]:
        if not self.events_file.exists():
            return []
        return [orjson.loads(line) for line in self.events_file.read_bytes().splitlines() if line]

    def post(self, path: str, body: object, content_type: str = CLOUDEVENT) -> httpx.Response:
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        return httpx.post(
            self.url + path, content=content, headers={"Content-Type": content_type}, timeout=30
        )


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sink]:
    events_file = tmp_path_factory.mktemp("sink") / "events.jsonl"
    port = free_port()
    process = start(
        "run",
        str(SINK_CONFIG),
        env={"SINK_ADDRESS": f"127.0.0.1:{port}", "SINK_FILE": str(events_file)},
        cwd=REPO,
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/api/v1/events", process)
        yield Sink(f"http://127.0.0.1:{port}", events_file)
    finally:
        process.stop(10)
        process.cleanup()


def ids(lines: list[dict[str, object]]) -> list[object]:
    return [line["id"] for line in lines]


def test_a_valid_event_is_answered_204_and_written_as_one_line(sink: Sink) -> None:
    response = sink.post("/api/v1/events", cloudevent("single-1"))
    assert response.status_code == 204
    assert "single-1" in ids(sink.lines())


def test_a_batch_on_the_v3_endpoint_is_answered_202_and_written_one_event_per_line(sink: Sink) -> None:
    response = sink.post("/v3/openmeter/events", [cloudevent("v3-1"), cloudevent("v3-2")], BATCH)
    assert response.status_code == 202
    assert {"v3-1", "v3-2"} <= set(ids(sink.lines()))


def test_plain_json_may_hold_one_event_or_an_array(sink: Sink) -> None:
    assert sink.post("/api/v1/events", cloudevent("json-1"), "application/json").status_code == 204
    assert sink.post("/api/v1/events", [cloudevent("json-2")], "application/json").status_code == 204
    assert {"json-1", "json-2"} <= set(ids(sink.lines()))


def test_a_pretty_printed_event_is_still_one_line(sink: Sink) -> None:
    body = orjson.dumps(cloudevent("pretty-1"), option=orjson.OPT_INDENT_2)
    assert sink.post("/api/v1/events", body).status_code == 204
    assert [line for line in sink.lines() if line["id"] == "pretty-1"] == [cloudevent("pretty-1")]


def test_an_event_without_subject_is_refused_with_a_problem(sink: Sink) -> None:
    event = cloudevent("no-subject")
    del event["subject"]
    response = sink.post("/api/v1/events", event)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Bad Request"
    assert "subject is required" in problem["detail"]
    assert "no-subject" not in ids(sink.lines())


def test_a_batch_with_one_invalid_event_is_refused_whole(sink: Sink) -> None:
    response = sink.post("/api/v1/events", [cloudevent("batch-ok"), cloudevent("batch-bad", id=7)], BATCH)
    assert response.status_code == 400
    assert "Bad Request" in response.text
    assert "batch-ok" not in ids(sink.lines())


def test_bad_json_and_unknown_content_types_are_400(sink: Sink) -> None:
    response = sink.post("/api/v1/events", b"{not json")
    assert (response.status_code, response.json()["title"]) == (400, "Bad Request")
    response = sink.post("/api/v1/events", cloudevent("text-1"), "text/plain")
    assert response.status_code == 400 and "Bad Request" in response.text


def test_an_unknown_path_is_404_and_a_get_is_405(sink: Sink) -> None:
    assert sink.post("/api/v2/events", cloudevent("nowhere")).status_code == 404
    assert httpx.get(sink.url + "/api/v1/events").status_code == 405
