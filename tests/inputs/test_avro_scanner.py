"""The ``avro`` scanner, run through the real CLI on Avro container files written by fastavro."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import uuid
from pathlib import Path

import fastavro

from tests.component_runs import lint, run_config
from tests.pipeline.conftest import cli_env, run_cli

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "email", "type": ["null", "string"]},
        {"name": "quantity", "type": ["null", "long"]},
        {"name": "price", "type": ["null", "double"]},
        {"name": "weight", "type": "float"},
        {"name": "placed", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 8, "scale": 2}},
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "raw", "type": "bytes"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["OPEN", "DONE"]}},
        {"name": "tags", "type": {"type": "map", "values": "int"}},
        {
            "name": "note",
            "type": [
                "null",
                {"type": "record", "name": "Note", "fields": [{"name": "text", "type": "string"}]},
            ],
        },
        {"name": "count", "type": ["int", "long"]},
    ],
}

ORDERS = [
    {
        "email": "ann@example.com",
        "quantity": 5,
        "price": 12.32,
        "weight": 0.1,
        "placed": dt.datetime(2023, 6, 20, 0, 38, 16, tzinfo=dt.UTC),
        "day": dt.date(2023, 6, 20),
        "total": decimal.Decimal("61.60"),
        "id": uuid.UUID("4a701342-4e27-4d08-bef9-e2f74fb79418"),
        "raw": b'a\x00"\xff',
        "status": "OPEN",
        "tags": {"x": 1},
        "note": {"text": "fragile"},
        "count": 7,
    },
    {
        "email": None,
        "quantity": None,
        "price": float("nan"),
        "weight": 1e10,
        "placed": None,
        "day": dt.date(1969, 12, 31),
        "total": decimal.Decimal("-0.05"),
        "id": uuid.UUID(int=1),
        "raw": b"",
        "status": "DONE",
        "tags": {},
        "note": None,
        "count": 2**40,
    },
]

TAGGED = [
    '{"email":{"string":"ann@example.com"},"quantity":{"long":5},"price":{"double":12.32},"weight":0.1,'
    '"placed":{"long.timestamp-millis":1687221496000},"day":19528,"total":61.60,'
    '"id":"4a701342-4e27-4d08-bef9-e2f74fb79418","raw":"a\\u0000\\"\\u00FF","status":"OPEN",'
    '"tags":{"x":1},"note":{"shop.Note":{"text":"fragile"}},"count":{"int":7}}',
    '{"email":null,"quantity":null,"price":{"double":null},"weight":1e+10,"placed":null,"day":-1,'
    '"total":-0.05,"id":"00000000-0000-0000-0000-000000000001","raw":"","status":"DONE","tags":{},'
    '"note":null,"count":{"long":1099511627776}}',
]


def container(records: list[dict], *, codec: str = "null", block: int = 16000) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(ORDER), records, codec=codec, sync_interval=block)
    return out.getvalue()


def _file(path: Path, scanner: str, form: str) -> str:
    return f"""
      - file: {{paths: [{json.dumps(str(path))}], scanner: {scanner}}}
        processors:
          - mapping: 'meta form = "{form}"'"""


def test_each_datum_is_a_message_in_avro_json_with_its_schema(tmp_path: Path):
    data = tmp_path / "orders.avro"
    data.write_bytes(container(ORDERS, codec="deflate"))
    config = f"""
input:
  broker:
    inputs:
{_file(data, "{avro: {}}", "tagged")}
{_file(data, "{avro: {raw_json: true}}", "raw")}
pipeline:
  processors:
    - mapping: |
        root = {{"form": @form, "json": content().string(), "schema": @avro_schema, "fp": @avro_schema_fingerprint}}
output:
  stdout: {{}}
"""
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["json"] for line in lines if line["form"] == "tagged"] == TAGGED
    first, second = (json.loads(line["json"]) for line in lines if line["form"] == "raw")
    assert first["email"] == "ann@example.com" and first["placed"] == 1687221496000
    assert first["note"] == {"text": "fragile"} and first["count"] == 7
    assert second["price"] is None and second["count"] == 2**40

    canonical = fastavro.schema.to_parsing_canonical_form(fastavro.parse_schema(ORDER))
    assert '"logicalType"' not in canonical and canonical.startswith('{"name":"shop.Order"')
    # the fingerprint is the CRC-64-AVRO value; fastavro prints its bytes little-endian
    expected = int.from_bytes(bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")), "little")
    assert {(line["schema"], line["fp"]) for line in lines} == {(canonical, expected)}


def test_a_corrupt_file_is_reported_and_kept_and_the_next_file_is_read(tmp_path: Path):
    good = container(ORDERS * 3, block=1)  # one datum per block
    broken = tmp_path / "broken.avro"
    broken.write_bytes(good[: len(good) - 30])  # the last block is cut short
    bad = tmp_path / "bad.avro"
    bad.write_bytes(b'{"not": "avro"}\n')
    whole = tmp_path / "whole.avro"
    whole.write_bytes(container(ORDERS[:1]))
    config = f"""
input:
  file:
    paths: {json.dumps([str(broken), str(bad), str(whole)])}
    scanner: {{avro: {{raw_json: true}}}}
    delete_on_finish: true
pipeline:
  threads: 1
output:
  stdout: {{}}
"""
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    emails = [json.loads(line)["email"] for line in result.stdout.splitlines()]
    assert emails == ["ann@example.com", None] * 2 + ["ann@example.com"] * 2
    assert f"reading OCF datum 5 of {broken}: " in result.stderr
    assert f"reading OCF header of {bad}: " in result.stderr
    assert broken.exists() and bad.exists() and not whole.exists()


def test_raw_json_must_be_a_bool(tmp_path: Path):
    result = lint(tmp_path, "input:\n  file:\n    paths: [a]\n    scanner: {avro: {raw_json: maybe}}\n")
    assert result.returncode == 1
    assert "lint.yaml(4,22) cannot parse 'maybe' as a bool" in result.stderr


def test_without_the_formats_extra_lint_names_the_pip_command(tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['fastavro'] = None\n")
    config = tmp_path / "lint.yaml"
    config.write_text("input:\n  stdin:\n    scanner: {avro: {}}\n")
    result = run_cli("lint", str(config), env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert (
        "the avro scanner needs the Python package 'fastavro': pip install 'benthic[formats]'"
        in result.stderr
    )
