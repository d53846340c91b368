"""The ``protobuf`` processor with real ``.proto`` files (one importing another), through the
real CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.component_runs import REPORT, file_input, lint, run_lines
from tests.pipeline.conftest import run_cli


def protos(tmp_path: Path) -> Path:
    root = tmp_path / "protos"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "common.proto").write_text(
        'syntax = "proto3";\npackage testing;\nmessage Address { string city = 1; }\n'
    )
    (root / "person.proto").write_text(
        'syntax = "proto3";\npackage testing;\nimport "sub/common.proto";\n'
        "message Person {\n  string first_name = 1;\n  int64 id = 2;\n"
        "  enum Kind { UNKNOWN = 0; ADMIN = 1; }\n  Kind kind = 3;\n  repeated Address addresses = 4;\n}\n"
    )
    return root


def run(tmp_path: Path, lines: list[str], processors: str) -> list[dict]:
    config = file_input(tmp_path, lines) + "pipeline:\n  threads: 1\n  processors:\n" + processors + REPORT
    return run_lines(tmp_path, config + "output:\n  stdout: {}\n")


def test_from_json_then_to_json_round_trips_through_the_binary_form(tmp_path: Path):
    paths = json.dumps([str(protos(tmp_path))])
    out = run(
        tmp_path,
        ['{"firstName":"ada","id":"7","kind":"ADMIN","addresses":[{"city":"London"}]}'],
        f"    - protobuf: {{operator: from_json, message: testing.Person, import_paths: {paths}}}\n"
        "    - mapping: 'meta binary = content().encode(\"base64\")'\n"
        f"    - protobuf: {{operator: to_json, message: testing.Person, import_paths: {paths}, use_proto_names: true}}\n",
    )
    assert out[0]["error"] is None
    assert json.loads(out[0]["content"]) == {
        "first_name": "ada",
        "id": "7",
        "kind": "ADMIN",
        "addresses": [{"city": "London"}],
    }
    assert base64.b64decode(out[0]["meta"]["binary"]).startswith(b"\n\x03ada\x10\x07")


def test_enum_numbers_and_unknown_fields(tmp_path: Path):
    paths = json.dumps([str(protos(tmp_path))])
    out = run(
        tmp_path,
        ['{"firstName":"x","kind":"ADMIN","extra":1}', '{"firstName":"y","extra":1}'],
        f"    - protobuf: {{operator: from_json, message: testing.Person, import_paths: {paths}, discard_unknown: true}}\n"
        f"    - protobuf: {{operator: to_json, message: testing.Person, import_paths: {paths}, use_enum_numbers: true}}\n",
    )
    assert json.loads(out[0]["content"]) == {"firstName": "x", "kind": 1}
    strict = run(
        tmp_path,
        ['{"firstName":"y","extra":1}'],
        f"    - protobuf: {{operator: from_json, message: testing.Person, import_paths: {paths}}}\n",
    )
    assert strict[0]["content"] == '{"firstName":"y","extra":1}'
    assert strict[0]["error"] == "unmarshalling JSON message 'testing.Person': proto: unknown field \"extra\""


def test_unknown_message_type_stops_the_config_with_a_clear_error(tmp_path: Path):
    paths = json.dumps([str(protos(tmp_path))])
    config = file_input(tmp_path, ["{}"]) + (
        f"pipeline:\n  processors:\n    - protobuf: {{operator: to_json, message: testing.Nope, import_paths: {paths}}}\n"
        "output:\n  stdout: {}\nhttp:\n  enabled: false\n"
    )
    (tmp_path / "c.yaml").write_text(config)
    result = run_cli("run", str(tmp_path / "c.yaml"))
    assert result.returncode != 0
    assert "unable to find message 'testing.Nope'" in result.stderr


def test_bsr_is_refused_at_lint(tmp_path: Path):
    result = lint(
        tmp_path,
        "pipeline:\n  processors:\n    - protobuf: {operator: decode, message: a.B, bsr: [{module: m}]}\n",
    )
    assert result.returncode == 1 and "bsr is not supported" in result.stderr


def test_well_known_types_resolve_and_hidden_proto_files_are_skipped(tmp_path: Path):
    root = protos(tmp_path)
    (root / ".scratch.proto").write_text("this is not a proto file")
    (root / "event.proto").write_text(
        'syntax = "proto3";\npackage testing;\nimport "google/protobuf/timestamp.proto";\n'
        "message Event { google.protobuf.Timestamp at = 1; }\n"
    )
    paths = json.dumps([str(root)])
    out = run(
        tmp_path,
        ['{"at":"2024-01-02T03:04:05Z"}'],
        f"    - protobuf: {{operator: from_json, message: testing.Event, import_paths: {paths}}}\n"
        f"    - protobuf: {{operator: to_json, message: testing.Event, import_paths: {paths}}}\n",
    )
    assert out[0]["error"] is None
    assert json.loads(out[0]["content"]) == {"at": "2024-01-02T03:04:05Z"}


def test_a_proto_file_that_does_not_compile_names_protocs_complaint(tmp_path: Path):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "broken.proto").write_text('syntax = "proto3";\nmessage Broken { strin name = 1; }\n')
    config = file_input(tmp_path, ["{}"]) + (
        f"pipeline:\n  processors:\n    - protobuf: {{operator: to_json, message: Broken, import_paths: [{json.dumps(str(root))}]}}\n"
        "output:\n  stdout: {}\nhttp:\n  enabled: false\n"
    )
    (tmp_path / "c.yaml").write_text(config)
    result = run_cli("run", str(tmp_path / "c.yaml"))
    assert result.returncode != 0
    assert "unable to load protos" in result.stderr and "strin" in result.stderr
