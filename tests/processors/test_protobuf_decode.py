"""The ``protobuf`` processor's ``decode`` operator: a structured document where ``to_json`` gives
canonical JSON (64-bit integers stay numbers, bytes stay bytes, a Timestamp is a timestamp), run
through the real CLI with real ``.proto`` files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.component_runs import REPORT, file_input, run_lines

PROTO = """syntax = "proto3";
package testing;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
message Reading {
  int64 big = 1;
  uint64 ubig = 2;
  bytes blob = 3;
  google.protobuf.Timestamp at = 4;
  enum Unit { UNIT_UNKNOWN = 0; WATT = 1; }
  Unit unit = 5;
  map<int32, string> labels = 6;
  repeated double samples = 7;
  google.protobuf.StringValue note = 8;
  string sensor_name = 9;
}
"""


def decode(tmp_path: Path, document: str, options: str = "") -> dict:
    root = tmp_path / "protos"
    root.mkdir()
    (root / "reading.proto").write_text(PROTO)
    paths = json.dumps([str(root)])
    common = f"message: testing.Reading, import_paths: {paths}{options}"
    processors = (
        f"    - protobuf: {{operator: from_json, {common}}}\n"
        f"    - protobuf: {{operator: decode, {common}}}\n"
        "    - mapping: |\n"
        "        root = this\n"
        "        root.types = this.map_each(kv -> kv.value.type())\n"
        '        root.blob_hex = this.blob.encode("hex").catch(null)\n'
        "        root.at_unix = this.at.ts_unix_nano().catch(null)\n"
    )
    config = (
        file_input(tmp_path, [document]) + "pipeline:\n  threads: 1\n  processors:\n" + processors + REPORT
    )
    out = run_lines(tmp_path, config + "output:\n  stdout: {}\n")
    assert out[0]["error"] is None, out[0]["error"]
    return json.loads(out[0]["content"])


def test_decode_keeps_numbers_bytes_and_timestamps_as_values(tmp_path: Path):
    doc = decode(
        tmp_path,
        json.dumps(
            {
                "big": "9007199254740993",
                "ubig": "18446744073709551615",
                "blob": "AAEC",
                "at": "2024-01-02T03:04:05.123456Z",
                "unit": "WATT",
                "labels": {"7": "seven"},
                "samples": [1.5, 2],
                "note": "hi",
                "sensorName": "s1",
            }
        ),
    )
    assert doc["big"] == 9007199254740993 and doc["ubig"] == 18446744073709551615
    assert doc["types"]["big"] == "number" and doc["types"]["blob"] == "bytes"
    assert doc["types"]["at"] == "timestamp"
    assert doc["blob_hex"] == "000102"
    assert doc["at_unix"] == 1704164645123456000
    assert doc["unit"] == "WATT" and doc["labels"] == {"7": "seven"} and doc["samples"] == [1.5, 2.0]
    assert doc["note"] == "hi" and doc["sensorName"] == "s1"


def test_decode_leaves_unset_fields_out_and_honours_name_and_enum_options(tmp_path: Path):
    doc = decode(
        tmp_path,
        '{"unit":"WATT","sensorName":"s2","blob":"","at":"1970-01-01T00:00:01Z"}',
        ", use_proto_names: true, use_enum_numbers: true",
    )
    assert doc["unit"] == 1 and doc["sensor_name"] == "s2"
    assert "big" not in doc and "labels" not in doc and "note" not in doc and "blob" not in doc
    assert doc["at_unix"] == 1_000_000_000
