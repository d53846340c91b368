"""The avro processor, run in pipelines through the real CLI; binary data is written and read
back with fastavro, another implementation, so that both directions are checked against it."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import fastavro

from tests.component_runs import REPORT, file_input, lint, run_config, run_lines

IDENTITY = {
    "namespace": "foo.namespace.com",
    "type": "record",
    "name": "identity",
    "fields": [
        {"name": "Name", "type": "string"},
        {
            "name": "Address",
            "type": [
                "null",
                {
                    "namespace": "my.namespace.com",
                    "type": "record",
                    "name": "address",
                    "fields": [{"name": "City", "type": "string"}, {"name": "State", "type": "string"}],
                },
            ],
            "default": None,
        },
    ],
}
IDENTITY_JSON = '{"Name":"foo","Address":{"my.namespace.com.address":{"City":"foo","State":"bar"}}}'
IDENTITY_BINARY = b"\x06foo\x02\x06foo\x06bar"

# a last processor that shows the payload as hex, for binary results
HEX_REPORT = """    - mapping: |
        root.hex = content().encode("hex")
        root.error = error()
"""


def _avro(operator: str, encoding: str, schema: object = IDENTITY, *, path: Path | None = None) -> str:
    if path is not None:
        where = f"        schema_path: {json.dumps('file://' + str(path))}\n"
    else:
        where = f"        schema: {json.dumps(json.dumps(schema))}\n"
    return f"    - avro:\n        operator: {operator}\n        encoding: {encoding}\n" + where


def _run(tmp_path: Path, data: list[str] | bytes, processors: str, report: str = REPORT) -> list[dict]:
    config = file_input(tmp_path, data) + "pipeline:\n  processors:\n" + processors + report
    return run_lines(tmp_path, config + "output:\n  stdout: {}\n")


def test_textual_avro_becomes_json_with_tagged_unions(tmp_path: Path):
    (out,) = _run(tmp_path, [IDENTITY_JSON], _avro("to_json", "textual"))
    assert out["error"] is None
    assert out["content"] == (
        '{"Address":{"my.namespace.com.address":{"City":"foo","State":"bar"}},"Name":"foo"}'
    )


def test_textual_avro_may_hold_bare_union_values_and_leave_out_defaulted_fields(tmp_path: Path):
    out = _run(
        tmp_path,
        ['{"Name":"foo","Address":{"City":"a","State":"b"}}', '{"Name":"nobody","Unknown":1}'],
        _avro("to_json", "textual"),
    )
    assert [(m["content"], m["error"]) for m in out] == [
        ('{"Address":{"my.namespace.com.address":{"City":"a","State":"b"}},"Name":"foo"}', None),
        ('{"Name":"nobody"}', None),
    ]


def test_binary_avro_becomes_json(tmp_path: Path):
    (out,) = _run(tmp_path, IDENTITY_BINARY, _avro("to_json", "binary"))
    assert out["error"] is None
    assert json.loads(out["content"]) == json.loads(IDENTITY_JSON)


def test_json_becomes_binary_avro_that_another_reader_reads(tmp_path: Path):
    (out,) = _run(tmp_path, [IDENTITY_JSON], _avro("from_json", "binary"), HEX_REPORT)
    assert out["error"] is None
    data = bytes.fromhex(out["hex"])
    assert data == IDENTITY_BINARY
    parsed = fastavro.parse_schema(IDENTITY)
    assert fastavro.schemaless_reader(io.BytesIO(data), parsed) == {
        "Name": "foo",
        "Address": {"City": "foo", "State": "bar"},
    }


def test_from_json_accepts_bare_union_values_and_fills_defaults(tmp_path: Path):
    out = _run(
        tmp_path,
        ['{"Name":"foo","Address":{"City":"foo","State":"bar"}}', '{"Name":"nobody"}'],
        _avro("from_json", "binary"),
        HEX_REPORT,
    )
    assert [bytes.fromhex(m["hex"]) for m in out] == [IDENTITY_BINARY, b"\x0cnobody\x00"]


def test_schema_path_reads_the_schema_from_a_file_url(tmp_path: Path):
    schema = tmp_path / "identity.avsc"
    schema.write_text(json.dumps(IDENTITY, indent=2))
    (out,) = _run(tmp_path, IDENTITY_BINARY, _avro("to_json", "binary", path=schema))
    assert json.loads(out["content"]) == json.loads(IDENTITY_JSON)


@contextlib.contextmanager
def _serving(body: bytes) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering every GET with ``body``; its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_schema_path_fetches_an_http_url_once_at_start(tmp_path: Path):
    with _serving(json.dumps(IDENTITY).encode()) as base:
        config = (
            file_input(tmp_path, IDENTITY_BINARY)
            + "pipeline:\n  processors:\n    - avro:\n        operator: to_json\n        encoding: binary\n"
            + f"        schema_path: {base}/subjects/identity/versions/1\n"
            + REPORT
            + "output:\n  stdout: {}\n"
        )
        (out,) = run_lines(tmp_path, config)
    assert json.loads(out["content"]) == json.loads(IDENTITY_JSON)


def test_single_object_encoding_carries_the_schema_fingerprint_and_round_trips(tmp_path: Path):
    out = _run(
        tmp_path,
        ['{"Name":"foo"}'],
        _avro("from_json", "single")
        + "    - mapping: 'meta single = content().encode(\"hex\")'\n"
        # the same message goes back to JSON
        + _avro("to_json", "single"),
    )
    (msg,) = out
    single = bytes.fromhex(msg["meta"]["single"])
    canonical = fastavro.schema.to_parsing_canonical_form(fastavro.parse_schema(IDENTITY))
    assert single[:2] == b"\xc3\x01"
    # fastavro's hex is the fingerprint's little-endian bytes, as the header carries them
    assert single[2:10] == bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))
    assert single[10:] == b"\x06foo\x00"
    assert msg["error"] is None
    assert msg["content"] == '{"Address":null,"Name":"foo"}'


def test_single_object_with_another_header_is_flagged(tmp_path: Path):
    (out,) = _run(tmp_path, IDENTITY_BINARY, _avro("to_json", "single"))
    assert out["error"] == (
        "converting Avro document to JSON: avro: invalid single-object encoding magic: "
        "got [0x6, 0x66], want [0xc3, 0x01]"
    )


EVENT = {
    "type": "record",
    "name": "Event",
    "namespace": "ex",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ratio", "type": "float"},
        {"name": "blob", "type": "bytes"},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "counts", "type": {"type": "map", "values": "int"}},
        {"name": "note", "type": ["null", "string", "long"]},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
    ],
}


def test_binary_from_another_writer_decodes_to_the_values_upstream_gives(tmp_path: Path):
    record = {
        "id": 7,
        "at": dt.datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=dt.UTC),
        "ratio": 0.1,
        "blob": b"\x00\xff",
        "kind": "B",
        "tags": ["x", "y"],
        "counts": {"a": 1},
        "note": 42,
        "price": __import__("decimal").Decimal("12.34"),
    }
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(EVENT), record)
    (out,) = _run(tmp_path, buffer.getvalue(), _avro("to_json", "binary", EVENT))
    assert out["error"] is None
    assert json.loads(out["content"]) == {
        "id": 7,
        "at": "2024-05-01T12:30:00.25Z",
        "ratio": 0.1,
        "blob": "AP8=",
        "kind": "B",
        "tags": ["x", "y"],
        "counts": {"a": 1},
        "note": {"long": 42},
        "price": "617/50",
    }


def test_json_to_textual_avro_writes_physical_values_and_tags(tmp_path: Path):
    document = {
        "id": 7,
        "at": 1714566600250,
        "ratio": 1.5,
        "blob": "hi",
        "kind": "A",
        "tags": [],
        "counts": {},
        "note": {"string": "hello"},
        "price": 3.5,
    }
    (out,) = _run(tmp_path, [json.dumps(document)], _avro("from_json", "textual", EVENT))
    assert out["error"] is None
    written = json.loads(out["content"])
    assert written["note"] == {"string": "hello"}
    assert written["price"] == 3.5
    assert written["blob"] == "hi" and written["at"] == 1714566600250
    # and the Avro JSON reads back to the same values
    # a timestamp may be given as RFC 3339 text
    document["at"] = "2024-05-01T12:30:00.25Z"
    (again,) = _run(tmp_path, [json.dumps(document)], _avro("from_json", "textual", EVENT))
    assert json.loads(again["content"])["at"] == 1714566600250
    (back,) = _run(tmp_path, [out["content"]], _avro("to_json", "textual", EVENT))
    assert back["error"] is None
    assert json.loads(back["content"])["at"] == "2024-05-01T12:30:00.25Z"
    assert json.loads(back["content"])["price"] == "7/2"


def test_bad_input_is_passed_on_flagged_with_the_error(tmp_path: Path):
    out = _run(tmp_path, b"\x06fo", _avro("to_json", "binary"))
    assert out == [
        {
            "content": "\x06fo",
            "error": "converting Avro document to JSON: avro: short buffer for string: need 3, have 2",
            "meta": out[0]["meta"],
        }
    ]
    (wrong,) = _run(tmp_path, ['{"Name":1}'], _avro("from_json", "binary"))
    assert wrong["content"] == '{"Name":1}'
    assert wrong["error"] == (
        "converting JSON to Avro schema: avro: field Name: cannot use json.Number with Avro type string"
    )
    (garbage,) = _run(tmp_path, ["not json"], _avro("from_json", "binary"))
    assert garbage["error"].startswith("parsing message as structured: ")
    (textual,) = _run(tmp_path, ['{"Name":"x","Address":{"nope":{}}}'], _avro("to_json", "textual"))
    assert textual["error"].startswith("converting Avro document to JSON: ")


def test_hostile_counts_and_lengths_fail_quickly(tmp_path: Path):
    schema = {"type": "array", "items": "null"}
    # a block of 2**62 nulls would spin for ever if the count were trusted
    huge = b"\xfe\xff\xff\xff\xff\xff\xff\xff\x7f"
    (out,) = _run(tmp_path, huge, _avro("to_json", "binary", schema))
    assert out["error"].startswith("converting Avro document to JSON: avro: block count ")
    (long_string,) = _run(tmp_path, b"\xfe\xff\xff\xff\x0f", _avro("to_json", "binary", {"type": "string"}))
    assert "short buffer for string" in long_string["error"]


def test_lint_requires_a_schema_and_a_supported_schema_path(tmp_path: Path):
    base = "input:\n  stdin: {}\npipeline:\n  processors:\n    - avro:\n        operator: to_json\n"
    result = lint(tmp_path, base + "output:\n  drop: {}\n")
    assert "a schema must be specified with either the `schema` or `schema_path` fields" in (
        result.stdout + result.stderr
    )
    result = lint(tmp_path, base + "        schema_path: /abs/schema.avsc\noutput:\n  drop: {}\n")
    assert "invalid schema_path provided, must start with file:// or http://" in result.stdout + result.stderr
    result = lint(tmp_path, base + "        schema_path: https://127.0.0.1:1/s\noutput:\n  drop: {}\n")
    assert "invalid schema_path provided, must start with file:// or http://" in result.stdout + result.stderr
    result = lint(
        tmp_path, base.replace("to_json", "sideways") + '        schema: "{}"\noutput:\n  drop: {}\n'
    )
    assert result.returncode != 0
    assert "value sideways is not a valid option, expected one of: [to_json, from_json]" in result.stderr


def test_a_bad_schema_or_missing_schema_file_stops_the_start(tmp_path: Path):
    config = file_input(tmp_path, ["{}"]) + "pipeline:\n  processors:\n"
    bad = run_config(
        tmp_path, config + _avro("to_json", "binary", {"type": "record"}) + "output:\n  drop: {}\n"
    )
    assert bad.returncode != 0
    assert "parsing schema: " in bad.stdout + bad.stderr
    missing = run_config(
        tmp_path, config + _avro("to_json", "binary", path=tmp_path / "absent.avsc") + "output:\n  drop: {}\n"
    )
    assert missing.returncode != 0
    assert f"loading Avro schema definition: {tmp_path / 'absent.avsc'}" in missing.stdout + missing.stderr
