"""The drop_on output wrapping an http_client talking to a sink on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.errors import ConfigError  # noqa: E402
from pipeline.message import Message  # noqa: E402
from tests.e2e.sink import RecordingSink  # noqa: E402
from tests.outputs.test_http_client import Harness  # noqa: E402


def drop_on(url: str, **fields: Any) -> dict[str, Any]:
    child = {"http_client": {"url": url, "retry_period": "10ms", "retries": 1, "drop_on": [400]}}
    return {"label": "openmeter", "drop_on": {"output": child, **fields}}


@pytest.fixture
def sink() -> Any:
    with RecordingSink() as recording:
        yield recording


def test_an_error_matching_a_pattern_is_dropped_and_logged(sink: RecordingSink) -> None:
    h = Harness()
    sink.fail_next(1, status=400)
    assert h.send(drop_on(sink.url, error_patterns=["Bad Request"]), [Message(b"x")]) == [None]
    logs = h.logs.getvalue()
    assert 'level=warning msg="Message dropped due to error matching pattern 0: ' in logs
    assert "unexpected response code (400): 400 Bad Request" in logs
    assert "label=openmeter path=root.output" in logs
    assert "Failed to send message to http_client" in logs  # the child's own ERROR


def test_an_error_not_matching_is_a_nack(sink: RecordingSink) -> None:
    h = Harness()
    sink.fail_next(5, status=503)
    [err] = h.send(drop_on(sink.url, error_patterns=["Bad Request"]), [Message(b"x")])
    assert "unexpected response code (503)" in str(err)


def test_error_true_drops_any_error(sink: RecordingSink) -> None:
    h = Harness()
    sink.fail_next(5, status=503)
    assert h.send(drop_on(sink.url, error=True), [Message(b"x")]) == [None]
    assert 'msg="Message dropped due to: ' in h.logs.getvalue()


def test_error_true_with_patterns_is_a_config_error() -> None:
    h = Harness()
    with pytest.raises(
        ConfigError, match="field 'error_patterns' is ineffective when 'error' is set to `true`"
    ):
        h.manager.build_output(
            drop_on("http://127.0.0.1:1/", error=True, error_patterns=["x"]), "root.output"
        )


def test_a_pattern_that_does_not_compile_is_a_config_error() -> None:
    h = Harness()
    with pytest.raises(ConfigError, match="error pattern 1 failed to compile"):
        h.manager.build_output(
            drop_on("http://127.0.0.1:1/", error_patterns=["ok", "(unclosed"]), "root.output"
        )


def test_back_pressure_drops_a_message_the_child_holds_too_long(sink: RecordingSink) -> None:
    h = Harness()
    sink.slow_next(1, delay=1.5)
    [err] = h.send(drop_on(sink.url, back_pressure="100ms"), [Message(b"x")])
    assert str(err) == "experienced back pressure beyond: 100ms"
    assert 'msg="Message dropped due to back pressure."' in h.logs.getvalue()


def test_the_child_keeps_its_max_in_flight_concurrency(sink: RecordingSink) -> None:
    h = Harness()
    sink.slow_next(4, delay=0.5)
    conf = drop_on(sink.url, error_patterns=["Bad Request"])
    conf["drop_on"]["output"]["http_client"]["max_in_flight"] = 4

    async def run() -> None:
        stage = h.manager.build_output(conf, "root.output")
        await stage.connect()
        await asyncio.gather(*(stage.send([Message(str(i).encode())]) for i in range(4)))
        await stage.close()

    asyncio.run(run())
    assert len(sink.requests) == 4
    assert sink.max_concurrent == 4


def test_readiness_reaches_the_child(sink: RecordingSink) -> None:
    h = Harness()

    async def run() -> list[dict[str, Any]]:
        stage = h.manager.build_output(drop_on(sink.url), "root.output")
        await stage.connect()
        await stage.send([Message(b"x")])
        statuses = stage.statuses()
        await stage.close()
        return statuses

    statuses = asyncio.run(run())
    assert [s["path"] for s in statuses] == ["root.output", "root.output.output"]
    assert all(s["connected"] for s in statuses)
