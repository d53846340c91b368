"""A batch that is partly written (``BatchError``): only the messages that failed are sent again,
passed on by ``fallback``, or replayed by the input; the delivered ones are never repeated."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import BatchError
from pipeline.message import Message, mark_origins
from tests.ports import free_port
from tests.processors.flow_helpers import run_config


class FlakySink:
    """An HTTP server on 127.0.0.1 that answers 500 the first time it sees a JSON body whose
    ``id`` is in ``flaky`` and 200 otherwise; it records every body it received and those it
    accepted."""

    def __init__(self, flaky: set[int]) -> None:
        self.flaky = set(flaky)
        self.received: list[Any] = []
        self.accepted: list[Any] = []
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                value = json.loads(body)
                with lock:
                    owner.received.append(value)
                    failing = value["id"] in owner.flaky
                    owner.flaky.discard(value["id"])
                    if not failing:
                        owner.accepted.append(value)
                status, reply = (500, b"not yet") if failing else (200, b"ok")
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky_second() -> Iterator[FlakySink]:
    sink = FlakySink({2})
    yield sink
    sink.close()


def generate(count: int, batch_size: int) -> str:
    return f"""
input:
  generate:
    count: {count}
    batch_size: {batch_size}
    interval: ""
    mapping: 'root = {{"id": counter()}}'
"""


def ids(values: list[Any]) -> list[int]:
    return [v["id"] for v in values]


def test_http_client_sends_a_batch_message_by_message_and_resends_only_from_the_failure_on(
    flaky_second: FlakySink, tmp_path: Path
) -> None:
    config = (
        generate(4, 4)
        + f"""
output:
  http_client:
    url: {flaky_second.url}
    retries: 0
"""
    )
    run_config(config, tmp_path / "unused")
    # upstream stops at the failure; the message before it was delivered and is not sent again
    assert ids(flaky_second.received) == [1, 2, 2, 3, 4]
    assert ids(flaky_second.accepted) == [1, 2, 3, 4]


def test_a_switch_case_that_fails_does_not_make_the_other_case_write_again(
    flaky_second: FlakySink, tmp_path: Path
) -> None:
    out = tmp_path / "odd"
    config = (
        generate(4, 4)
        + f"""
output:
  switch:
    cases:
      - check: this.id % 2 == 0
        output:
          http_client:
            url: {flaky_second.url}
            retries: 0
      - output:
          file:
            path: {out}
"""
    )
    assert ids(run_config(config, out)) == [1, 3]
    assert ids(flaky_second.accepted) == [2, 4]
    assert ids(flaky_second.received) == [2, 2, 4]


def test_a_fan_out_broker_resends_to_a_failing_child_only_what_it_failed(
    flaky_second: FlakySink, tmp_path: Path
) -> None:
    out = tmp_path / "all"
    config = (
        generate(4, 4)
        + f"""
output:
  broker:
    pattern: fan_out
    outputs:
      - http_client:
          url: {flaky_second.url}
          retries: 0
      - file:
          path: {out}
"""
    )
    assert ids(run_config(config, out)) == [1, 2, 3, 4]
    assert ids(flaky_second.received) == [1, 2, 2, 3, 4]
    assert ids(flaky_second.accepted) == [1, 2, 3, 4]


def test_reject_errored_in_a_fallback_sends_only_the_errored_message_to_the_dead_letter_output(
    tmp_path: Path,
) -> None:
    out, dead = tmp_path / "out", tmp_path / "dead"
    config = (
        generate(3, 3)
        + f"""
pipeline:
  processors:
    - mapping: 'root = if this.id == 2 {{ throw("bad two") }} else {{ this }}'
output:
  fallback:
    - reject_errored:
        file: {{path: {out}}}
    - file:
        path: {dead}
      processors:
        - mapping: 'root = this.merge({{"why": @fallback_error}})'
"""
    )
    assert ids(run_config(config, out)) == [1, 3]
    [line] = dead.read_text().splitlines()
    assert json.loads(line) == {
        "id": 2,
        "why": "rejecting due to failed processing: failed assignment (line 1): bad two",
    }


def test_a_batch_rejected_whole_gives_each_message_its_own_error_at_the_dead_letter_output(
    tmp_path: Path,
) -> None:
    out, dead = tmp_path / "out", tmp_path / "dead"
    config = (
        generate(3, 3)
        + f"""
pipeline:
  processors:
    - mapping: 'root = throw("bad " + this.id.string())'
output:
  fallback:
    - reject_errored:
        file: {{path: {out}}}
    - file:
        path: {dead}
      processors:
        - mapping: 'root = @fallback_error'
"""
    )
    assert run_config(config, out) == []
    assert dead.read_text().splitlines() == [
        f"rejecting due to failed processing: failed assignment (line 1): bad {i}" for i in (1, 2, 3)
    ]


def test_an_input_replays_only_the_rejected_messages_of_a_batch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # the second evaluation fails; the replayed message is evaluated again and passes
    config = (
        generate(3, 3)
        + f"""
pipeline:
  processors:
    - mutation: 'root.n = if counter() == 2 {{ throw("not this time") }} else {{ true }}'
output:
  reject_errored:
    file: {{path: {out}}}
"""
    )
    written = ids(run_config(config, out))
    assert sorted(written) == [1, 2, 3]  # each once: the delivered ones were not replayed
    assert written[-1] == 2


def test_fallback_passes_on_only_what_its_first_output_failed(
    flaky_second: FlakySink, tmp_path: Path
) -> None:
    out = tmp_path / "second"
    config = (
        generate(4, 4)
        + f"""
output:
  fallback:
    - http_client:
        url: {flaky_second.url}
        retries: 0
    - file:
        path: {out}
      processors:
        - mapping: 'root = this.merge({{"why": @fallback_error.contains("500")}})'
"""
    )
    # message 2 failed and 3 and 4 were never sent: those three go to the second output
    assert run_config(config, out) == [{"id": i, "why": True} for i in (2, 3, 4)]
    assert ids(flaky_second.accepted) == [1]


def test_a_batch_error_traces_written_copies_back_to_the_transaction() -> None:
    transaction = [Message(b"a"), Message(b"b"), Message(b"c")]
    mark_origins(transaction)
    written = [m.copy() for m in transaction]  # what an output's processors made of them
    err = BatchError(written, ValueError("down")).failed(1, ValueError("b failed"))
    assert {i: str(e) for i, e in (err.indexes_in(transaction) or {}).items()} == {1: "b failed"}
    assert str(err) == "down"
    # a message made anew (no origin) cannot be traced: the whole transaction counts as failed
    fresh = [Message(b"x")]
    assert BatchError(fresh, ValueError("down")).failed(0, ValueError("x")).indexes_in(transaction) is None
    # no message named: every one failed
    assert sorted(BatchError(written, ValueError("all")).indexes_in(transaction) or {}) == [0, 1, 2]


def test_a_per_message_plugin_output_retries_only_the_message_that_raised(tmp_path: Path) -> None:
    from pipeline import output
    from pipeline.registry import REGISTRY

    calls: list[int] = []
    written: list[int] = []

    @output("test_flaky_per_message")
    async def flaky(msg: Message, conf: Any) -> None:
        n = json.loads(msg.content)["id"]
        calls.append(n)
        if n == 2 and calls.count(2) == 1:
            raise RuntimeError("not yet")
        written.append(n)

    try:
        run_config(generate(4, 4) + "output:\n  test_flaky_per_message: {}\n", tmp_path / "unused")
    finally:
        REGISTRY._components["output"].pop("test_flaky_per_message")  # keep the registry as it was
    assert calls == [1, 2, 3, 4, 2]
    assert written == [1, 3, 4, 2]


STAMP = "- mapping: 'root = this.merge({\"made\": uuid_v4()})'"


@pytest.mark.parametrize(
    "where",
    [
        # the output's own processors
        "  processors:\n    " + STAMP,
        # its batch policy's processors
        "    batching:\n      count: 4\n      processors:\n        " + STAMP,
    ],
    ids=["output processors", "batch processors"],
)
def test_a_message_sent_again_keeps_what_the_outputs_processors_made_of_it(
    flaky_second: FlakySink, tmp_path: Path, where: str
) -> None:
    config = (
        generate(4, 4)
        + f"""
output:
  http_client:
    url: {flaky_second.url}
    retries: 0
{where}
"""
    )
    run_config(config, tmp_path / "unused")
    seconds = [body for body in flaky_second.received if body["id"] == 2]
    assert len(seconds) == 2
    # the retry reuses the first attempt's bytes (the same event id), as a whole-batch retry does
    assert seconds[0]["made"] == seconds[1]["made"]
    assert ids(flaky_second.accepted) == [1, 2, 3, 4]


def test_a_transaction_split_into_batches_is_replayed_whole_when_one_batch_fails(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # ids 2 and 4 fail on their first evaluation, each in its own half of the split transaction
    config = (
        generate(4, 4)
        + f"""
pipeline:
  threads: 1
  processors:
    - split: {{size: 2}}
    - mutation: 'root.n = if [2, 4].contains(counter()) {{ throw("not this time") }} else {{ true }}'
output:
  reject_errored:
    file: {{path: {out}}}
"""
    )
    written = ids(run_config(config, out))
    # nothing is lost: a rejection in one half must not make the input replay that half only
    assert set(written) == {1, 2, 3, 4}
