"""The ``csv`` and ``subprocess`` inputs, run through the real CLI on real files and programs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.component_runs import lint, run_config, run_lines, started, until

PY = json.dumps(sys.executable)


def test_csv_rows_become_objects_with_header_and_path_metadata(tmp_path: Path):
    data = tmp_path / "people.csv"
    data.write_text('name,age\nalice,30\n"bob, jr",4\n')
    config = f"""
input:
  csv:
    paths: [{json.dumps(str(tmp_path / "*.csv"))}]
    delete_on_finish: true
pipeline:
  threads: 1
  processors:
    - mapping: 'root = {{"row": this, "header": @header, "path": @path, "mtime": @mod_time_unix}}'
output:
  stdout: {{}}
"""
    out = run_lines(tmp_path, config)
    assert [m["row"] for m in out] == [{"name": "alice", "age": "30"}, {"name": "bob, jr", "age": "4"}]
    assert out[0]["header"] == ["name", "age"] and out[0]["path"] == str(data)
    assert isinstance(out[0]["mtime"], int)
    assert not data.exists()  # deleted once every row was delivered


def test_csv_without_header_gives_arrays_in_batches_with_a_custom_delimiter(tmp_path: Path):
    (tmp_path / "a.csv").write_text("1;2\n3;4\n5;6\n")
    config = f"""
input:
  csv:
    paths: [{json.dumps(str(tmp_path / "a.csv"))}]
    parse_header_row: false
    delimiter: ";"
    batch_count: 2
pipeline:
  threads: 1
  processors:
    - mapping: 'root = {{"row": this, "batch": batch_size()}}'
output:
  stdout: {{}}
"""
    assert run_lines(tmp_path, config) == [
        {"row": ["1", "2"], "batch": 2},
        {"row": ["3", "4"], "batch": 2},
        {"row": ["5", "6"], "batch": 1},
    ]


def test_csv_row_with_the_wrong_field_count_stops_the_file_with_a_logged_error(tmp_path: Path):
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2\n3\n4,5\n")
    config = f"""
input:
  csv:
    paths: [{json.dumps(str(broken))}]
    delete_on_finish: true
output:
  stdout: {{}}
"""
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"a": "1", "b": "2"}]
    assert "wrong number of fields" in result.stderr
    assert broken.exists()  # a file that could not be read to its end is kept


def test_csv_delimiter_must_be_one_character(tmp_path: Path):
    result = lint(tmp_path, "input:\n  csv:\n    paths: [x.csv]\n    delimiter: ';;'\n")
    assert result.returncode == 1 and "exactly one character" in result.stderr


def test_subprocess_input_emits_each_line_and_ends_with_the_program(tmp_path: Path):
    program = tmp_path / "emit.py"
    program.write_text(
        "import sys\nfor i in range(3):\n    print(f'{{\"n\":{i}}}', flush=True)\nprint('oops', file=sys.stderr)\n"
    )
    config = f"""
input:
  subprocess:
    name: {PY}
    args: [{json.dumps(str(program))}]
output:
  stdout: {{}}
"""
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert "oops" in result.stderr


def test_subprocess_input_restart_on_exit_runs_the_program_again(tmp_path: Path):
    program = tmp_path / "once.py"
    program.write_text("print('{\"tick\":1}', flush=True)\n")
    config = f"""
input:
  read_until:
    check: 'count("ticks") == 3'
    input:
      subprocess:
        name: {PY}
        args: [{json.dumps(str(program))}]
        restart_on_exit: true
output:
  stdout: {{}}
"""
    assert run_lines(tmp_path, config) == [{"tick": 1}] * 3


def test_a_subprocess_program_that_does_not_exist_is_named_in_go_words(tmp_path: Path):
    config = tmp_path / "missing.yaml"
    config.write_text(
        "http: {enabled: false}\n"
        "input:\n  subprocess:\n    name: benthic-no-such-program\n"
        "output:\n  subprocess:\n    name: benthic-no-such-output-program\n"
    )
    # both, in whichever order they are logged
    logs = until(
        started(str(config)), r"(?s)(no-such-program.*no-such-output)|(no-such-output.*no-such-program)"
    )
    assert 'exec: \\"benthic-no-such-program\\": executable file not found in $PATH' in logs, logs
    assert 'exec: \\"benthic-no-such-output-program\\": executable file not found in $PATH' in logs, logs
