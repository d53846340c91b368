"""The first components as a user runs them: stdin, file, generate on a cron, the memory buffer."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.conftest import run_cli


def test_stdin_lines_through_a_mapping_to_stdout(tmp_path: Path):
    config_text = """
http: {enabled: false}
input:
  stdin: {}
pipeline:
  processors:
    - mapping: 'root = content().uppercase()'
output:
  stdout: {}
"""
    path = tmp_path / "stdin.yaml"
    path.write_text(config_text)
    result = run_cli("run", str(path), input=b"one\n\ntwo\r\nthree")
    assert result.returncode == 0, result.stderr
    # an empty line is an empty message (as upstream's lines codec), CRLF is handled, logs go to
    # stderr when the output is stdout
    assert result.stdout == "ONE\n\nTWO\nTHREE\n"
    assert "Input type stdin is now active" in result.stderr


def test_file_input_reads_every_line_of_every_matching_file_with_its_path(tmp_path: Path):
    (tmp_path / "a.txt").write_text("1\n2\n")
    (tmp_path / "b.txt").write_text("3\n")
    out = tmp_path / "out.jsonl"
    config = tmp_path / "files.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  file:
    paths: ["{tmp_path}/*.txt"]
pipeline:
  processors:
    - mapping: 'root = {{"n": content().number(), "file": meta("path").filepath_split().index(-1)}}'
output:
  file:
    path: {out}
""")
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"n": 1, "file": "a.txt"},
        {"n": 2, "file": "a.txt"},
        {"n": 3, "file": "b.txt"},
    ]


def test_memory_buffer_and_batched_generate(tmp_path: Path):
    out = tmp_path / "out.txt"
    config = tmp_path / "buffered.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 250
    batch_size: 50
    interval: ""
    mapping: 'root = counter().string()'
buffer:
  memory:
    limit: 1000
pipeline:
  threads: 2
output:
  file:
    path: {out}
    codec: delim:,
""")
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    assert sorted(int(n) for n in out.read_text().rstrip(",").split(",")) == list(range(1, 251))


def test_generate_on_a_cron_schedule_waits_for_the_first_tick(tmp_path: Path):
    out = tmp_path / "out.txt"
    config = tmp_path / "cron.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 2
    interval: '* * * * * *'
    mapping: 'root = now().ts_unix().string()'
output:
  file:
    path: {out}
""")
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    first, second = (int(line) for line in out.read_text().splitlines())
    assert second == first + 1  # one per second, on the second


def test_a_five_field_cron_is_fine_for_generate_and_a_bad_interval_is_a_lint_error(tmp_path: Path):
    config = tmp_path / "intervals.yaml"
    config.write_text("input:\n  generate:\n    interval: '*/5 * * * *'\n    mapping: 'root = 1'\n")
    assert run_cli("lint", str(config)).returncode == 0
    config.write_text("input:\n  generate:\n    interval: 'every minute'\n    mapping: 'root = 1'\n")
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    assert "failed to parse interval" in result.stderr


def _buffered_run(tmp_path: Path, policy: str, generate: str) -> list[str]:
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.txt"
    config = tmp_path / "policy.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
{generate}
    mapping: 'root = counter().string()'
buffer:
  memory:
    batch_policy:
      enabled: true
{policy}
      processors:
        - mapping: 'root = "%d:%s".format(batch_size(), content())'
output:
  file:
    path: {out}
""")
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    return out.read_text().splitlines()


def test_memory_buffer_batch_policy_count_merges_batches_and_runs_its_processors(tmp_path: Path):
    lines = _buffered_run(tmp_path, "      count: 3\n", "    count: 7\n    interval: ''\n")
    # 3, 3, then what is left when the input ends
    assert sorted(lines, key=lambda line: int(line.split(":")[1])) == [
        "3:1", "3:2", "3:3", "3:4", "3:5", "3:6", "1:7"
    ]  # fmt: skip


def test_memory_buffer_batch_policy_byte_size_and_check(tmp_path: Path):
    lines = _buffered_run(tmp_path, "      byte_size: 2\n", "    count: 4\n    interval: ''\n")
    assert sorted(lines) == ["2:1", "2:2", "2:3", "2:4"]  # one byte each: two per batch
    lines = _buffered_run(
        tmp_path, "      check: 'content() == \"2\"'\n      count: 10\n", "    count: 5\n    interval: ''\n"
    )
    assert sorted(lines) == ["2:1", "2:2", "3:3", "3:4", "3:5"]


def test_memory_buffer_batch_policy_period_flushes_a_partial_batch(tmp_path: Path):
    # one message every 300ms, a period of 100ms: no message waits for a second one
    lines = _buffered_run(
        tmp_path, "      count: 100\n      period: 100ms\n", "    count: 3\n    interval: 300ms\n"
    )
    assert lines == ["1:1", "1:2", "1:3"]
