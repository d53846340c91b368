"""The outputs of OpenMeter's configs: openmeter, switch, broker, sync_response and inproc."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import orjson
import pytest

from pipeline.builder import Manager
from pipeline.http.server import HTTPServer, Request, Response
from pipeline.logs import Logger, LogSink
from pipeline.message import Message
from pipeline.metrics import Metrics
from tests.ports import free_port


class Ingest:
    """An OpenMeter-like endpoint on 127.0.0.1 recording what it got."""

    def __init__(self, status: int = 204, problem: dict[str, Any] | None = None) -> None:
        self.status = status
        self.problem = problem
        self.requests: list[Request] = []
        self.server = HTTPServer("127.0.0.1", 0)
        self.server.route("/api/v1/events", self._handle, ("POST",))

    async def _handle(self, request: Request) -> Response:
        self.requests.append(request)
        if self.problem is not None:
            return Response.json(orjson.dumps(self.problem), self.status, "application/problem+json")
        return Response(self.status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


def write(output_conf: dict[str, Any], batch: list[Message], manager: Manager | None = None) -> None:
    async def go() -> None:
        stage = (manager or Manager()).build_output(output_conf, "root.output")
        await stage.connect()
        try:
            await stage.send(batch)
        finally:
            await stage.close()

    asyncio.run(go())


def with_ingest(ingest: Ingest, body: Any) -> None:
    async def go() -> None:
        await ingest.server.start()
        try:
            await body(ingest)
        finally:
            await ingest.server.close()

    asyncio.run(go())


def test_openmeter_posts_the_batch_as_one_json_array_with_the_token() -> None:
    ingest = Ingest()

    async def scenario(ingest: Ingest) -> None:
        stage = Manager().build_output({"openmeter": {"url": ingest.url, "token": "s3cret"}}, "root.output")
        await stage.connect()
        await stage.send([Message(b'{"id":"1","b":"<&>"}'), Message(b'{"id":"2"}')])
        await stage.close()

    with_ingest(ingest, scenario)
    [request] = ingest.requests
    assert request.path == "/api/v1/events"
    assert request.header("content-type") == "application/json"
    assert request.header("authorization") == "Bearer s3cret"
    # Go's json.Encoder: sorted keys, HTML escaped, a trailing newline
    assert request.body == b'[{"b":"\\u003c\\u0026\\u003e","id":"1"},{"id":"2"}]\n'


def test_openmeter_reports_a_problem_as_title_and_detail() -> None:
    ingest = Ingest(
        400, {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "invalid event"}
    )

    async def scenario(ingest: Ingest) -> None:
        stage = Manager().build_output({"openmeter": {"url": ingest.url + "/"}}, "root.output")
        await stage.connect()
        with pytest.raises(Exception, match=r"^\[Bad Request\] invalid event$"):
            await stage.send([Message(b'{"id":"1"}')])
        await stage.close()

    with_ingest(ingest, scenario)
    assert ingest.requests[0].header("authorization") is None  # no token key: no header


def test_openmeter_refuses_a_batch_with_a_non_json_event_without_sending() -> None:
    ingest = Ingest()

    async def scenario(ingest: Ingest) -> None:
        stage = Manager().build_output({"openmeter": {"url": ingest.url}}, "root.output")
        await stage.connect()
        with pytest.raises(Exception, match="failed to process event"):
            await stage.send([Message(b"not json")])
        await stage.close()

    with_ingest(ingest, scenario)
    assert ingest.requests == []


def test_openmeter_url_keeps_a_path_prefix() -> None:
    from outputs.openmeter import events_url

    assert events_url("http://openmeter:8888") == "http://openmeter:8888/api/v1/events"
    assert events_url("https://host/prefix?x=1") == "https://host/prefix/api/v1/events"


def test_switch_sends_each_message_to_the_matching_cases() -> None:
    store: list[list[Message]] = []
    msgs = [Message(b"a"), Message(b"b")]
    for m in msgs:
        m.context = {"sync_response": store}
    conf = {
        "switch": {
            "cases": [
                {"check": 'content() == "a"', "output": {"sync_response": {}}, "continue": True},
                {"output": {"sync_response": {}, "processors": [{"mapping": 'root = "seen:" + content()'}]}},
            ]
        }
    }
    write(conf, msgs)
    assert [[m.content for m in entry] for entry in store] == [[b"a"], [b"seen:a", b"seen:b"]]


def test_switch_needs_two_cases() -> None:
    with pytest.raises(Exception, match="fewer than 2 cases"):
        Manager().build_output({"switch": {"cases": [{"output": {"drop": {}}}]}}, "root.output")


def test_switch_in_strict_mode_fails_unmatched_messages() -> None:
    conf = {
        "switch": {
            "strict_mode": True,
            "cases": [{"check": "false", "output": {"drop": {}}}, {"check": "false", "output": {"drop": {}}}],
        }
    }
    with pytest.raises(Exception, match="no switch output conditions were met"):
        write(conf, [Message(b"x")])


def test_broker_fan_out_gives_each_output_its_own_copy() -> None:
    store: list[list[Message]] = []
    msg = Message(b'{"id":"1"}')
    msg.context = {"sync_response": store}
    conf = {
        "broker": {
            "pattern": "fan_out",
            "outputs": [
                {"sync_response": {}, "processors": [{"mapping": "root = null"}]},
                {"sync_response": {}},
            ],
        }
    }
    write(conf, [msg])
    assert sorted(entry[0].content for entry in store) == [b"null", b'{"id":"1"}']


def test_broker_fan_out_retries_a_failing_output_until_it_succeeds() -> None:
    ingest = Ingest(503)

    async def scenario(ingest: Ingest) -> None:
        stage = Manager().build_output(
            {"broker": {"outputs": [{"openmeter": {"url": ingest.url}}, {"drop": {}}]}}, "root.output"
        )
        await stage.connect()
        sending = asyncio.ensure_future(stage.send([Message(b'{"id":"1"}')]))
        while len(ingest.requests) < 2:
            await asyncio.sleep(0.05)
        assert not sending.done()
        ingest.status = 204
        await asyncio.wait_for(sending, 10)
        await stage.close()

    with_ingest(ingest, scenario)
    assert len(ingest.requests) >= 3


def test_broker_round_robin_alternates() -> None:
    store: list[list[Message]] = []
    conf = {
        "broker": {
            "pattern": "round_robin",
            "outputs": [
                {"sync_response": {}, "processors": [{"mapping": 'root = "one"'}]},
                {"sync_response": {}, "processors": [{"mapping": 'root = "two"'}]},
            ],
        }
    }

    async def go() -> None:
        stage = Manager().build_output(conf, "root.output")
        await stage.connect()
        for _ in range(4):
            msg = Message(b"x")
            msg.context = {"sync_response": store}
            await stage.send([msg])
        await stage.close()

    asyncio.run(go())
    assert [entry[0].content for entry in store] == [b"one", b"two", b"one", b"two"]


def test_inproc_passes_the_transaction_and_its_ack_to_the_reader() -> None:
    async def go() -> tuple[bytes, bool]:
        manager = Manager()
        out = manager.build_output({"inproc": "pipe"}, "root.output")
        inp = manager.for_stream("other").build_input({"inproc": "pipe"}, "root.input")
        await out.connect()
        await inp.connect()
        sending = asyncio.ensure_future(out.send([Message(b"hello")]))
        batch, ack = await inp.read()
        await asyncio.sleep(0.05)
        waited = not sending.done()  # the writer waits for the reader's ack
        await ack(None)
        await asyncio.wait_for(sending, 5)
        return batch[0].content, waited

    assert asyncio.run(go()) == (b"hello", True)


def test_openmeter_errors_and_debug_logs_never_show_the_token_or_url_credentials() -> None:
    ingest = Ingest(
        401,
        {"title": "Unauthorized", "status": 401, "detail": "token Bearer om-token-4 is not valid"},
    )
    logs = io.StringIO()
    logger = Logger(LogSink(level="TRACE", stream=logs, add_timestamp=False))
    manager = Manager(logger=logger, metrics=Metrics(logger=logger))
    failures: list[str] = []

    async def scenario(ingest: Ingest) -> None:
        for url in (
            ingest.url.replace("http://", "http://me:url-secret-2@"),
            f"http://me:url-secret-2@127.0.0.1:{free_port()}",
        ):
            stage = manager.build_output({"openmeter": {"url": url, "token": "om-token-4"}}, "root.output")
            await stage.connect()
            with pytest.raises(Exception) as caught:
                await stage.send([Message(b'{"id":"1"}')])
            failures.append(str(caught.value))
            await stage.close()

    with_ingest(ingest, scenario)
    assert failures[0] == "[Unauthorized] token Bearer !!!SECRET_SCRUBBED!!! is not valid"
    assert "connection refused" in failures[1] and "me:xxxxx@" in failures[1]
    seen = "".join(failures) + logs.getvalue()
    assert "OpenMeter answered 401" in seen
    assert "om-token-4" not in seen and "url-secret-2" not in seen
