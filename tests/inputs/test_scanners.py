"""The scanners of the ``file`` input (and so of every input with a ``scanner`` block), run
through the real CLI on real files."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

from tests.component_runs import lint, run_config, run_lines


def read_with(tmp_path: Path, paths: list[Path], scanner: str, mapping: str = "root = this") -> list:
    config = f"""
input:
  file:
    paths: {json.dumps([str(p) for p in paths])}
    scanner: {scanner}
pipeline:
  threads: 1
  processors:
    - mapping: |
        {mapping}
output:
  stdout: {{}}
"""
    return run_lines(tmp_path, config)


def test_csv_scanner_rows_with_header_quoted_newlines_and_row_metadata(tmp_path: Path):
    data = tmp_path / "a.csv"
    data.write_text('id,note\n1,"two\nlines"\n2,plain\n')
    out = read_with(tmp_path, [data], "{csv: {}}", 'root = {"row": this, "n": @csv_row, "path": @path}')
    assert out == [
        {"row": {"id": "1", "note": "two\nlines"}, "n": 0, "path": str(data)},
        {"row": {"id": "2", "note": "plain"}, "n": 1, "path": str(data)},
    ]


def test_csv_scanner_continue_on_error_emits_an_errored_message_and_goes_on(tmp_path: Path):
    data = tmp_path / "a.csv"
    data.write_text("a;b\n1;2\n3\n4;5\n")
    out = read_with(
        tmp_path,
        [data],
        "{csv: {custom_delimiter: ';', continue_on_error: true}}",
        'root = {"row": if errored() { null } else { this }, "error": error()}',
    )
    assert [m["row"] for m in out] == [{"a": "1", "b": "2"}, None, {"a": "4", "b": "5"}]
    assert "wrong number of fields" in out[1]["error"]


def test_json_documents_and_json_array_scanners(tmp_path: Path):
    docs = tmp_path / "docs.json"
    docs.write_text('{"a":1} {"a":2}\n[3]\n')
    assert read_with(tmp_path, [docs], "{json_documents: {}}") == [{"a": 1}, {"a": 2}, [3]]
    array = tmp_path / "array.json"
    array.write_text('[{"b":1},["x"],2]')
    assert read_with(tmp_path, [array], "{json_array: {}}") == [{"b": 1}, ["x"], 2]


def test_json_documents_scanner_stops_at_a_bad_document_with_gos_words(tmp_path: Path):
    docs = tmp_path / "docs.json"
    docs.write_text('{"a":1} {"b": nul}\n{"c":3}\n')
    config = f"""
input:
  file:
    paths: [{json.dumps(str(docs))}]
    scanner: {{json_documents: {{}}}}
output:
  stdout: {{}}
"""
    result = run_config(tmp_path, config)
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"a": 1}]
    assert "Failed to read message: invalid character '}' in literal null (expecting 'l')" in result.stderr


def test_re_match_scanner_starts_a_message_at_each_match(tmp_path: Path):
    log = tmp_path / "app.log"
    log.write_text("12:00:01 start\n  detail\n12:00:02 next\n12:00:03 last\n")
    out = read_with(
        tmp_path, [log], "{re_match: {pattern: '(?m)^\\d\\d:\\d\\d:\\d\\d'}}", "root.s = content().string()"
    )
    assert [m["s"] for m in out] == ["12:00:01 start\n  detail\n", "12:00:02 next\n", "12:00:03 last\n"]


def test_tar_inside_decompress_gives_each_file_with_its_name(tmp_path: Path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, body in (("a.txt", b"first"), ("dir/b.txt", b"second")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(gzip.compress(buffer.getvalue()))
    out = read_with(
        tmp_path,
        [path],
        "{decompress: {algorithm: gzip, into: {tar: {}}}}",
        'root = {"name": @tar_name, "body": content().string()}',
    )
    assert out == [{"name": "a.txt", "body": "first"}, {"name": "dir/b.txt", "body": "second"}]


def test_skip_bom_removes_a_leading_byte_order_mark(tmp_path: Path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfhello\nworld\n")
    out = read_with(tmp_path, [path], "{skip_bom: {into: {lines: {}}}}", "root.s = content().string()")
    assert [m["s"] for m in out] == ["hello", "world"]


def test_switch_picks_a_scanner_by_file_name(tmp_path: Path):
    csv_file = tmp_path / "a.csv"
    csv_file.write_text("k\nv\n")
    text = tmp_path / "b.txt"
    text.write_text("whole\nfile\n")
    scanner = "{switch: [{re_match_name: '\\.csv$', scanner: {csv: {}}}, {scanner: {to_the_end: {}}}]}"
    out = read_with(
        tmp_path,
        [csv_file, text],
        scanner,
        'root = if @path.has_suffix(".csv") { this } else { {"s": content().string()} }',
    )
    assert out == [{"k": "v"}, {"s": "whole\nfile\n"}]


def test_a_broken_gzip_file_is_reported_and_the_next_file_is_still_read(tmp_path: Path):
    broken = tmp_path / "broken.gz"
    broken.write_bytes(b"not gzip at all")
    good = tmp_path / "good.gz"
    good.write_bytes(gzip.compress(b"ok\n"))
    config = f"""
input:
  file:
    paths: [{json.dumps(str(broken))}, {json.dumps(str(good))}]
    scanner: {{decompress: {{algorithm: gzip, into: {{lines: {{}}}}}}}}
output:
  stdout: {{}}
"""
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ok"]
    assert "gzip" in result.stderr


def test_unknown_scanners_fail_lint(tmp_path: Path):
    avro = lint(tmp_path, "input:\n  file:\n    paths: [a]\n    scanner: {avro: {raw_jsn: true}}\n")
    assert avro.returncode == 1 and "(4,22) field raw_jsn not recognised" in avro.stderr
    nested = lint(
        tmp_path, "input:\n  file:\n    paths: [a]\n    scanner: {switch: [{scanner: {nope: {}}}]}\n"
    )
    assert nested.returncode == 1 and "unable to infer scanner type from candidates: [nope]" in nested.stderr
