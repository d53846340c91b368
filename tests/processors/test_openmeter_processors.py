"""The processors OpenMeter's collector configs use: what each does to the messages a user sends."""

from __future__ import annotations

import asyncio
import io
import tarfile
from typing import Any

import pytest

from pipeline.builder import Manager
from pipeline.engine import run_processors
from pipeline.message import Message
from tests.shared import SHARED

CLOUDEVENTS_SCHEMA = (SHARED / "upstream_configs" / "openmeter" / "cloudevents.spec.json").resolve()

VALID = b'{"id":"1","source":"api-gateway","specversion":"1.0","type":"request","subject":"customer-1"}'


def run(confs: list[Any], batch: list[Message], manager: Manager | None = None) -> list[list[Message]]:
    stages = (manager or Manager()).build_processors(confs, "root.pipeline.processors")
    return asyncio.run(run_processors(stages, batch))


def contents(batches: list[list[Message]]) -> list[list[bytes]]:
    return [[m.content for m in b] for b in batches]


# -- json_schema ---------------------------------------------------------------------------------


def schema_errors(payload: bytes) -> str | None:
    [[msg]] = run([{"json_schema": {"schema_path": f"file://{CLOUDEVENTS_SCHEMA}"}}], [Message(payload)])
    return msg.error


def test_an_additional_property_reads_as_upstream_writes_it() -> None:
    schema = '{"type":"object","properties":{"a":{}},"additionalProperties":false}'
    [[msg]] = run([{"json_schema": {"schema": schema}}], [Message(b'{"a":1,"Extra":2}')])
    # upstream prefixes the property's original case to the lower-cased description
    assert msg.error == "(root) Extraadditional property extra is not allowed"


def test_a_valid_cloudevent_passes_the_schema_unchanged() -> None:
    [[msg]] = run([{"json_schema": {"schema_path": f"file://{CLOUDEVENTS_SCHEMA}"}}], [Message(VALID)])
    assert msg.error is None
    assert msg.content == VALID


def test_schema_errors_read_like_upstreams() -> None:
    assert (
        schema_errors(b'{"id":"1","source":"s","specversion":"1.0","type":"t"}')
        == "(root) subject is required"
    )
    assert schema_errors(b"[]") == "(root) invalid type. expected: object, given: array"
    assert (
        schema_errors(b'{"id":1,"source":"s","specversion":"1.0","type":"t","subject":"c"}')
        == "id invalid type. expected: string, given: integer"
    )
    assert (
        schema_errors(b'{"id":"1","source":"s","specversion":"1.0","type":"t","subject":7}')
        == "subject invalid type. expected: [string,null], given: integer"
    )
    assert (
        schema_errors(
            b'{"id":"1","source":"s","specversion":"1.0","type":"t","subject":"c","time":"yesterday"}'
        )
        == "time does not match format 'date-time'"
    )


def test_missing_fields_are_listed_in_the_schemas_order() -> None:
    assert schema_errors(b"{}") == "\n".join(
        f"(root) {name} is required" for name in ("id", "source", "specversion", "type", "subject")
    )


def test_date_time_is_as_lenient_as_upstream() -> None:
    for ok in ("2023-01-02T03:04:05Z", "2023-01-02T03:04:05.123+01:00", "2023-01-02", "12:00:00"):
        event = VALID[:-1] + b',"time":"' + ok.encode() + b'"}'
        assert schema_errors(event) is None, ok


def test_a_body_that_is_not_json_is_flagged_with_gos_words() -> None:
    assert schema_errors(b"") == "target message part does not exist"
    assert schema_errors(b"hello") == "invalid character 'h' looking for beginning of value"


def test_a_schema_path_must_be_file_or_http() -> None:
    with pytest.raises(Exception, match="must start with file:// or http://"):
        Manager().build_processor({"json_schema": {"schema_path": "https://example.com/x.json"}}, "root")


# -- catch and try -------------------------------------------------------------------------------


def test_catch_runs_only_on_failed_messages_and_clears_the_flag() -> None:
    bad, good = Message(b"bad", error="boom"), Message(b"good")
    [[first, second]] = run([{"catch": [{"mapping": 'root = "caught: " + error()'}]}], [bad, good])
    assert (first.content, first.error) == (b"caught: boom", None)
    assert (second.content, second.error) == (b"good", None)


def test_catch_can_drop_the_failed_message() -> None:
    batches = run(
        [{"catch": [{"mapping": "root = deleted()"}]}], [Message(b"bad", error="x"), Message(b"good")]
    )
    assert contents(batches) == [[b"good"]]


def test_try_skips_the_rest_for_a_message_that_failed() -> None:
    confs = [
        {
            "try": [
                {"json_schema": {"schema_path": f"file://{CLOUDEVENTS_SCHEMA}"}},
                {"mapping": 'root = "reached"'},
            ]
        }
    ]
    [[invalid, valid]] = run(confs, [Message(b"{}"), Message(VALID)])
    assert invalid.content == b"{}" and invalid.error
    assert valid.content == b"reached" and valid.error is None


# -- switch --------------------------------------------------------------------------------------


def test_switch_routes_by_the_first_passing_case_and_keeps_the_input_order() -> None:
    confs = [
        {
            "switch": [
                {"check": 'content() == "a"', "processors": [{"mapping": 'root = "A"'}]},
                {"check": 'content() == "b"', "processors": [{"mapping": 'root = "B"'}]},
            ]
        }
    ]
    assert contents(run(confs, [Message(b"b"), Message(b"a"), Message(b"c")])) == [[b"B", b"A", b"c"]]


def test_a_switch_case_without_processors_is_a_config_error() -> None:
    with pytest.raises(Exception, match="noop"):
        Manager().build_processor({"switch": [{"check": "true", "processors": []}]}, "root")


def test_a_failing_switch_check_flags_the_message_and_skips_later_cases() -> None:
    confs = [
        {
            "switch": [
                {"check": "this.missing.number() > 1", "processors": [{"noop": {}}]},
                {"processors": [{"mapping": 'root = "later"'}]},
            ]
        }
    ]
    [[msg]] = run(confs, [Message(b'{"a":1}')])
    assert msg.error and msg.content == b'{"a":1}'


# -- unarchive, split ----------------------------------------------------------------------------


def test_a_json_array_becomes_one_message_per_element_with_the_metadata() -> None:
    [[one, two]] = run(
        [{"unarchive": {"format": "json_array"}}], [Message(b'[{"b":1,"a":2},null]', {"k": "v"})]
    )
    assert one.content == b'{"a":2,"b":1}'  # re-serialised canonically, as upstream
    assert two.content == b"null"
    assert one.metadata == two.metadata == {"k": "v"}


def test_an_empty_json_array_yields_nothing() -> None:
    assert run([{"unarchive": {"format": "json_array"}}], [Message(b"[]")]) == []


def test_a_json_object_is_not_an_array() -> None:
    [[msg]] = run([{"unarchive": {"format": "json_array"}}], [Message(b"{}")])
    assert msg.error == "failed to parse message into JSON array: invalid type 'map[string]interface {}'"


def test_lines_and_tar_archives_unpack() -> None:
    assert contents(run([{"unarchive": {"format": "lines"}}], [Message(b"a\nb")])) == [[b"a", b"b"]]
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        info = tarfile.TarInfo("x.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    [[msg]] = run([{"unarchive": {"format": "tar"}}], [Message(data.getvalue())])
    assert (msg.content, msg.metadata["archive_filename"]) == (b"hello", "x.txt")


def test_split_makes_batches_of_the_size_asked() -> None:
    batch = [Message(str(i).encode()) for i in range(5)]
    assert contents(run([{"split": {"size": 2}}], batch)) == [[b"0", b"1"], [b"2", b"3"], [b"4"]]
    assert contents(run([{"split": {}}], batch[:2])) == [[b"0"], [b"1"]]


def test_split_by_byte_size() -> None:
    batch = [Message(b"aaaa"), Message(b"bbbb"), Message(b"cc")]
    assert contents(run([{"split": {"size": 0, "byte_size": 6}}], batch)) == [[b"aaaa"], [b"bbbb", b"cc"]]


# -- dedupe --------------------------------------------------------------------------------------


def dedupe_manager(**cache: Any) -> Manager:
    manager = Manager()
    manager.add_resources({"cache_resources": [{"label": "seen", "memory": cache}]})
    return manager


def test_dedupe_drops_repeated_bodies_across_batches_and_within_one() -> None:
    manager = dedupe_manager(default_ttl="1h")
    stages = manager.build_processors(
        [{"dedupe": {"cache": "seen", "key": '${! content().hash("xxhash64") }'}}], "root"
    )

    async def go() -> list[list[list[bytes]]]:
        first = await run_processors(stages, [Message(b"a"), Message(b"b"), Message(b"a")])
        second = await run_processors(stages, [Message(b"b"), Message(b"c")])
        return [contents(first), contents(second)]

    assert asyncio.run(go()) == [[[b"a", b"b"]], [[b"c"]]]


def test_dedupe_needs_an_existing_cache() -> None:
    with pytest.raises(Exception, match="cache resource 'nope' was not found"):
        Manager().build_processor({"dedupe": {"cache": "nope", "key": "x"}}, "root")


# -- sync_response -------------------------------------------------------------------------------


def test_sync_response_stores_a_copy_of_the_batch_for_the_request() -> None:
    store: list[list[Message]] = []
    msg = Message(b"answer", {"k": "v"})
    msg.context = {"sync_response": store}
    [[out]] = run([{"sync_response": {}}, {"mapping": 'root = "changed later"'}], [msg])
    assert out.content == b"changed later"
    assert [[m.content for m in entry] for entry in store] == [[b"answer"]]
    assert store[0][0].metadata == {"k": "v"}


def test_sync_response_without_a_request_does_nothing() -> None:
    assert contents(run([{"sync_response": {}}], [Message(b"x")])) == [[b"x"]]
