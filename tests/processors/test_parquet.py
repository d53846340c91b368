"""parquet_encode and parquet_decode (and the refused, deprecated parquet processor), run in
pipelines through the real CLI; files are checked with pyarrow as another reader would."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.component_runs import lint, run_config, run_lines
from tests.pipeline.conftest import cli_env, run_cli

SCHEMA = json.dumps(
    [
        {"name": "id", "type": "INT64"},
        {"name": "as", "type": "DOUBLE", "repeated": True},
        {"name": "b", "type": "BYTE_ARRAY"},
        {"name": "c", "type": "DOUBLE"},
        {"name": "d", "type": "BOOLEAN"},
        {"name": "e", "type": "INT64", "optional": True},
        {"name": "f", "type": "FLOAT"},
        {"name": "g", "type": "UTF8"},
        {"name": "ts", "type": "TIMESTAMP", "optional": True},
        {"name": "uuid", "type": "UUID", "optional": True},
        {"name": "json", "type": "JSON", "optional": True},
        {"name": "nested_stuff", "optional": True, "fields": [{"name": "a_stuff", "type": "BYTE_ARRAY"}]},
    ]
)

FULL_ROW = {
    "id": 3,
    "as": [0.1, 0.2],
    "b": "hello world",
    "c": 0.5,
    "d": True,
    "e": 6,
    "f": 0.1,
    "g": "logical string",
    "ts": "1996-12-19T16:39:57Z",
    "uuid": "4a701342-4e27-4d08-bef9-e2f74fb79418",
    "json": {"foo": " bar"},
    "nested_stuff": {"a_stuff": "a value"},
    "canary": "not in schema",
}
SPARSE_ROW = {"id": 4, "b": "x", "c": 1, "d": False, "f": 2, "g": "y"}


def _generate(rows: list[dict], extra: str = "") -> str:
    """A ``generate`` child input of a broker emitting ``rows`` as one batch."""
    values = ", ".join(json.dumps(r) for r in rows)
    return f"""
      - generate:
          count: 1
          interval: ""
          mapping: 'root = [{values}]'
        processors:
          - unarchive: {{format: json_array}}
{extra}"""


COMMON_SCHEMA = {
    "type": "OBJECT",
    "children": [
        {"name": "id", "type": "INT64"},
        {"name": "tags", "type": "ARRAY", "children": [{"type": "STRING"}]},
        {"name": "price", "type": "DECIMAL", "precision": 8, "scale": 2, "optional": True},
    ],
}


def _other_writer_file(path: Path) -> None:
    table = pa.table(
        {
            "f32": pa.array([0.1], pa.float32()),
            "fixed": pa.array([b"ab"], pa.binary(2)),
            "raw": pa.array([b"caf\xc3\xa9"], pa.binary()),
            "small_dec": pa.array([decimal.Decimal("12.34")], pa.decimal128(6, 2)),
            "big_dec": pa.array([decimal.Decimal("1234567.5")], pa.decimal128(30, 1)),
            "day": pa.array([dt.date(2020, 1, 2)], pa.date32()),
            "ms": pa.array([dt.time(0, 0, 1)], pa.time32("ms")),
            "tags": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())),
            "local": pa.array([0], pa.timestamp("ms")),
            "empty": pa.array([None], pa.struct([pa.field("x", pa.int32())])),
        }
    )
    data = io.BytesIO()
    pq.write_table(table, data, store_decimal_as_integer=True)
    path.write_bytes(data.getvalue())


def test_rows_decode_as_upstream_shows_them(tmp_path: Path):
    """Rows encoded from a static schema and from a schema in metadata, and a file of another
    writer, each decoded."""
    other = tmp_path / "other.parquet"
    _other_writer_file(other)
    static = "          - parquet_encode: {schema: " + SCHEMA + "}"
    from_metadata = (
        f"          - mapping: 'meta schema = {json.dumps(COMMON_SCHEMA)}'\n"
        "          - parquet_encode: {schema_metadata: schema}"
    )
    priced = [{"id": 1, "tags": ["a", "b"], "price": "3.50"}, {"id": 2, "tags": []}]
    config = f"""
input:
  broker:
    inputs:
{_generate([FULL_ROW, SPARSE_ROW], static)}
{_generate(priced, from_metadata)}
      - file: {{paths: [{json.dumps(str(other))}], scanner: {{to_the_end: {{}}}}}}
pipeline:
  processors:
    - parquet_decode: {{handle_logical_types: v2}}
output:
  stdout: {{}}
"""
    lines = run_lines(tmp_path, config)
    assert len(lines) == 5
    assert {k: v for k, v in FULL_ROW.items() if k != "canary"} in lines
    assert {
        **SPARSE_ROW,
        "as": [],
        "e": None,
        "ts": None,
        "uuid": None,
        "json": None,
        "nested_stuff": None,
    } in lines
    assert {"id": 1, "tags": ["a", "b"], "price": 3.5} in lines and {
        "id": 2,
        "tags": [],
        "price": None,
    } in lines
    assert {
        "f32": 0.1,
        "fixed": "YWI=",
        "raw": "café",
        "small_dec": 12.34,
        "big_dec": "1.2345675e+06",
        "day": 18263,
        "ms": 1000,
        "tags": {"k": 1},
        "local": dt.datetime.fromtimestamp(0, dt.UTC).astimezone().isoformat().replace("+00:00", "Z"),
        "empty": None,
    } in lines


def _file_output(path: Path, encoder: str) -> str:
    return f"""
      - file: {{path: {json.dumps(str(path))}, codec: all-bytes}}
        processors:
          - parquet_encode: {encoder}"""


def test_the_files_honour_compression_encoding_and_timestamp_unit(tmp_path: Path):
    tuned, default = tmp_path / "tuned.parquet", tmp_path / "default.parquet"
    tuned_encoder = (
        "{default_compression: zstd, default_encoding: PLAIN, default_timestamp_unit: MILLISECOND, schema: "
        + SCHEMA
        + "}"
    )
    config = f"""
input:
  broker:
    inputs:
{_generate([FULL_ROW])}
output:
  broker:
    pattern: fan_out
    outputs:
{_file_output(tuned, tuned_encoder)}
{_file_output(default, "{schema: [{name: b, type: BYTE_ARRAY}, {name: ts, type: TIMESTAMP}]}")}
"""
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    parquet = pq.ParquetFile(tuned)
    columns = {parquet.schema.column(i).path: parquet.schema.column(i) for i in range(len(parquet.schema))}
    assert str(columns["ts"].logical_type).startswith("Timestamp(isAdjustedToUTC=true, timeUnit=milliseconds")
    assert columns["uuid"].logical_type.type == "UUID" and columns["json"].logical_type.type == "JSON"
    assert columns["g"].logical_type.type == "STRING" and columns["b"].logical_type.type == "NONE"
    group = parquet.metadata.row_group(0)
    b_column = next(
        group.column(i) for i in range(group.num_columns) if group.column(i).path_in_schema == "b"
    )
    assert b_column.compression == "ZSTD" and "DELTA_LENGTH_BYTE_ARRAY" not in b_column.encodings
    assert parquet.read().column("ts").to_pylist() == [dt.datetime(1996, 12, 19, 16, 39, 57, tzinfo=dt.UTC)]
    plain = pq.ParquetFile(default)
    assert "timeUnit=nanoseconds" in str(plain.schema.column(1).logical_type)
    column = plain.metadata.row_group(0).column(0)
    assert column.compression == "UNCOMPRESSED" and "DELTA_LENGTH_BYTE_ARRAY" in column.encodings


REPORT = """
    - mapping: 'root = {"error": error(), "content": content().string()}'
output:
  stdout: {}
"""


def test_what_cannot_be_encoded_or_decoded_passes_on_unchanged_and_flagged(tmp_path: Path):
    config = (
        """
input:
  broker:
    inputs:
      - generate:
          count: 1
          interval: ""
          mapping: 'root = [{"id": 1, "name": "ok"}, {"id": "bar", "name": "foo"}]'
        processors:
          - unarchive: {format: json_array}
          - parquet_encode:
              schema:
                - { name: id, type: FLOAT }
                - { name: name, type: UTF8 }
      - generate: {count: 1, interval: "", mapping: 'root = [1, 2]'}
        processors:
          - parquet_encode: {schema: [{name: a, type: INT64}]}
      - generate: {count: 1, interval: "", mapping: 'root = "not a parquet file"'}
        processors:
          - parquet_decode: {}
      - generate: {count: 1, interval: "", mapping: 'root = {"id": 5}'}
        processors:
          - parquet_encode: {schema_metadata: nope}
pipeline:
  processors:
"""
        + REPORT
    )
    lines = sorted(run_lines(tmp_path, config), key=lambda line: line["content"])
    assert lines == [
        {"content": "[1,2]", "error": "unable to encode message type []interface {} as parquet row"},
        {"content": "not a parquet file", "error": lines[1]["error"]},
        {
            "content": '{"id":"bar","name":"foo"}',
            "error": "message 1: column id: cannot write string as FLOAT",
        },
        {"content": '{"id":1,"name":"ok"}', "error": "message 1: column id: cannot write string as FLOAT"},
        {
            "content": '{"id":5}',
            "error": "schema_metadata 'nope' specified but field was missing from input data",
        },
    ]
    assert lines[1]["error"].startswith("decoding Parquet file: Parquet magic bytes not found")


def test_bad_schemas_fail_lint_with_upstreams_words(tmp_path: Path):
    config = """pipeline:
  processors:
    - parquet_encode: {}
    - parquet_encode: {schema: [{name: a, type: INT64, repeated: true, optional: true}]}
    - parquet_encode: {schema: [{name: a, fields: [{name: b, type: INT128}]}]}
    - parquet_encode: {schema: [{name: a, type: INT64}], default_compression: lz4}
    - parquet_decode: {handle_logical_types: v3}
    - parquet: {operator: to_json}
"""
    result = lint(tmp_path, config)
    assert result.returncode == 1
    problems = result.stderr.splitlines()
    assert [line.split(" ", 1)[0].rsplit("(", 1)[1] for line in problems] == [
        "3,7)",
        "4,24)",
        "5,24)",
        "6,58)",
        "7,24)",
        "8,7)",
    ]
    assert "either a schema or schema_metadata must be specified" in problems[0]
    assert "column a cannot be both repeated and optional" in problems[1]
    assert "field b type of 'INT128' not recognised" in problems[2]
    assert "value lz4 is not a valid option" in problems[3]
    assert "value v3 is not a valid option, expected one of: [v1, v2]" in problems[4]
    assert "use parquet_decode to read Parquet files and parquet_encode to write them" in problems[5]


def test_without_the_parquet_extra_lint_names_the_pip_command(tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['pyarrow'] = None\n")
    config = tmp_path / "lint.yaml"
    config.write_text(
        "input:\n  parquet: {paths: [a.parquet]}\n"
        "pipeline:\n  processors:\n    - parquet_decode: {}\n    - parquet_encode: {schema: [{name: a, type: INT64}]}\n"
    )
    result = run_cli("lint", str(config), env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert result.stderr.count("which is not installed: pip install 'benthic[parquet]'") == 3
