"""Inputs made of other inputs (``sequence``, ``broker``, ``batched``, ``read_until``, and a
``resource`` reference), run through the real CLI on real files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.component_runs import lint, run_lines


def write(tmp_path: Path, name: str, lines: list[str]) -> str:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return json.dumps(str(path))


def file_conf(path: str, delete: bool = False) -> str:
    return f"{{file: {{paths: [{path}], delete_on_finish: {str(delete).lower()}}}}}"


def test_sequence_reads_each_input_to_its_end_in_order_and_acks_reach_the_files(tmp_path: Path):
    a = write(tmp_path, "a.txt", ['"a1"', '"a2"'])
    b = write(tmp_path, "b.txt", ['"b1"'])
    config = f"""
input:
  sequence:
    inputs:
      - {file_conf(a, True)}
      - {file_conf(b, True)}
pipeline:
  threads: 1
output:
  stdout: {{}}
"""
    assert run_lines(tmp_path, config) == ["a1", "a2", "b1"]
    # each file was deleted once all its messages were delivered: acks went back through the sequence
    assert not (tmp_path / "a.txt").exists() and not (tmp_path / "b.txt").exists()


def test_broker_merges_every_child_and_its_copies(tmp_path: Path):
    a = write(tmp_path, "a.txt", ['"a1"', '"a2"'])
    b = write(tmp_path, "b.txt", ['"b1"'])
    config = f"""
input:
  broker:
    copies: 2
    inputs:
      - {file_conf(a)}
      - {file_conf(b)}
output:
  stdout: {{}}
"""
    assert sorted(run_lines(tmp_path, config)) == ["a1", "a1", "a2", "a2", "b1", "b1"]


def test_broker_batching_groups_the_merged_stream(tmp_path: Path):
    a = write(tmp_path, "a.txt", [f'"{i}"' for i in range(5)])
    config = f"""
input:
  broker:
    inputs:
      - {file_conf(a)}
    batching:
      count: 2
pipeline:
  threads: 1
  processors:
    - mapping: 'root = {{"value": this, "batch": batch_size()}}'
output:
  stdout: {{}}
"""
    out = run_lines(tmp_path, config)
    assert [m["batch"] for m in out] == [2, 2, 2, 2, 1]
    assert [m["value"] for m in out] == ["0", "1", "2", "3", "4"]


def test_batched_applies_its_policy_with_processors(tmp_path: Path):
    a = write(tmp_path, "a.txt", [f'"{i}"' for i in range(4)])
    config = f"""
input:
  batched:
    child: {file_conf(a, True)}
    policy:
      count: 3
      processors:
        - mapping: 'root = {{"value": this, "batch": batch_size()}}'
pipeline:
  threads: 1
output:
  stdout: {{}}
"""
    out = run_lines(tmp_path, config)
    assert [(m["value"], m["batch"]) for m in out] == [("0", 3), ("1", 3), ("2", 3), ("3", 1)]
    assert not (tmp_path / "a.txt").exists()


def test_read_until_stops_after_the_first_message_meeting_the_check(tmp_path: Path):
    config = """
input:
  read_until:
    check: this.n == 3
    input:
      generate:
        mapping: 'root.n = counter()'
        interval: ""
pipeline:
  threads: 1
output:
  stdout: {}
"""
    assert run_lines(tmp_path, config) == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_read_until_restart_input_reads_the_child_again(tmp_path: Path):
    a = write(tmp_path, "a.txt", ['{"n":1}', '{"n":2}'])
    config = f"""
input:
  read_until:
    restart_input: true
    check: 'count("reads") == 5'
    input: {file_conf(a)}
pipeline:
  threads: 1
output:
  stdout: {{}}
"""
    assert run_lines(tmp_path, config) == [{"n": 1}, {"n": 2}, {"n": 1}, {"n": 2}, {"n": 1}]


def test_read_until_without_check_or_idle_timeout_fails_lint(tmp_path: Path):
    result = lint(tmp_path, "input:\n  read_until:\n    input: {stdin: {}}\n")
    assert result.returncode == 1 and "either check or idle_timeout" in result.stderr


def test_input_resource_is_read_through_its_label(tmp_path: Path):
    a = write(tmp_path, "a.txt", ['"from the resource"'])
    config = f"""
input:
  resource: source
input_resources:
  - label: source
    file: {{paths: [{a}]}}
output:
  stdout: {{}}
"""
    assert run_lines(tmp_path, config) == ["from the resource"]
