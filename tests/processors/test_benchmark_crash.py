"""The benchmark processor (throughput lines in the log) and the crash processor (a FATAL line
and the end of the process), run through the real CLI as a user runs them."""

from __future__ import annotations

import math
import re
from pathlib import Path

from tests.component_runs import REPORT, file_input, lint, run_config, run_lines, started, until, write

_FIELD = r"(\S+)=(\"[^\"]*\"|\S+)"


def _fields(line: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in re.findall(_FIELD, line)}


def _stats_lines(log: str, window: str) -> list[dict[str, str]]:
    return [_fields(line) for line in log.splitlines() if f'msg="{window} stats: ' in line]


def test_benchmark_passes_messages_on_and_logs_a_lifetime_total_at_shutdown(tmp_path: Path):
    config = (
        file_input(tmp_path, ["hello", "world", "abcde", "12345", "zzzzz"])
        + "pipeline:\n  threads: 1\n  processors:\n    - benchmark: {interval: 0}\n"
        + REPORT
        + "output:\n  stdout: {}\n"
    )
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    out = [line for line in result.stdout.splitlines() if line.strip()]
    assert [re.search(r'"content":"(\w+)"', line)[1] for line in out] == [  # type: ignore[index]
        "hello",
        "world",
        "abcde",
        "12345",
        "zzzzz",
    ]
    assert _stats_lines(result.stderr, "rolling") == []
    (total,) = _stats_lines(result.stderr, "total")
    assert total["level"] == "info"
    assert total["path"] == "root.pipeline.processors.0"
    assert re.fullmatch(r"total stats: \d+(\.\d{1,6})? msg/sec, \d+(\.\d)? [kMGTPE]?B/sec", total["msg"])
    # five messages of five bytes each: the byte rate is five times the message rate
    assert math.isclose(float(total["bytes/sec"]), float(total["msg/sec"]) * 5, rel_tol=1e-9)
    shown = total["msg"].split(" ")[2]
    assert float(shown) == round(float(total["msg/sec"]), 6)


def test_benchmark_without_count_bytes_logs_the_message_rate_only(tmp_path: Path):
    config = (
        file_input(tmp_path, ["a", "b", "c"])
        + "pipeline:\n  processors:\n    - benchmark: {interval: 0, count_bytes: false}\n"
        + "output:\n  drop: {}\n"
    )
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    # with no stdout output, the log goes to stdout
    (total,) = _stats_lines(result.stdout, "total")
    assert "bytes/sec" not in total
    assert re.fullmatch(r"total stats: \d+(\.\d{1,6})? msg/sec", total["msg"])


def test_benchmark_logs_rolling_stats_every_interval_while_messages_flow(tmp_path: Path):
    config = write(
        tmp_path,
        """
input:
  generate:
    interval: 10ms
    mapping: 'root = "0123456789"'
pipeline:
  processors:
    - benchmark: {interval: 100ms}
output:
  drop: {}
http:
  enabled: false
""",
    )
    log = until(started(config), r"rolling stats: .*\n(.|\n)*rolling stats: ")
    first = _stats_lines(log, "rolling")[0]
    assert first["level"] == "info"
    assert re.fullmatch(r"rolling stats: \d+(\.\d{1,6})? msg/sec, \d+(\.\d)? [kMGTPE]?B/sec", first["msg"])
    # every message is ten bytes long, so each window's byte rate is ten times its message rate
    for stats in _stats_lines(log, "rolling"):
        assert math.isclose(float(stats["bytes/sec"]), float(stats["msg/sec"]) * 10, rel_tol=1e-9)


def test_benchmark_interval_must_be_a_duration(tmp_path: Path):
    result = lint(
        tmp_path,
        "input:\n  stdin: {}\npipeline:\n  processors:\n    - benchmark: {interval: often}\noutput:\n  drop: {}\n",
    )
    assert result.returncode != 0
    assert "interval" in result.stdout + result.stderr


def test_crash_logs_the_interpolated_text_at_fatal_and_exits_with_status_1(tmp_path: Path):
    delivered = tmp_path / "delivered.txt"
    config = (
        file_input(tmp_path, ['{"id":1}', '{"id":2}'])
        + "pipeline:\n  threads: 1\n  processors:\n"
        + "    - crash: 'cannot handle id ${! this.id } from ${! @origin.or(\"nowhere\") }'\n"
        + f"output:\n  file:\n    path: {str(delivered)!r}\n    codec: lines\n"
    )
    result = run_config(tmp_path, config)
    assert result.returncode == 1
    fatal = [_fields(line) for line in result.stdout.splitlines() if "level=fatal" in line]
    assert len(fatal) == 1
    assert fatal[0]["msg"] == "cannot handle id 1 from nowhere"
    assert fatal[0]["path"] == "root.pipeline.processors.0"
    # the process ended before anything reached the output
    assert not delivered.exists() or delivered.read_text() == ""
    assert "Pipeline has terminated" not in result.stdout


def test_crash_says_so_when_its_text_fails_to_interpolate(tmp_path: Path):
    config = (
        file_input(tmp_path, ["not json"])
        + "pipeline:\n  processors:\n    - crash: '${! this.id }'\noutput:\n  drop: {}\n"
    )
    result = run_config(tmp_path, config)
    assert result.returncode == 1
    (line,) = [_fields(line) for line in result.stdout.splitlines() if "level=fatal" in line]
    assert line["msg"].startswith("failed to interpolate crash message: ")


def test_crash_is_not_reached_when_no_message_takes_its_branch(tmp_path: Path):
    out = run_lines(
        tmp_path,
        file_input(tmp_path, ["fine", "also fine"])
        + "pipeline:\n  processors:\n    - switch:\n        - check: 'content() == \"bad\"'\n"
        + "          processors:\n            - crash: 'bad input'\n"
        + REPORT
        + "output:\n  stdout: {}\n",
    )
    assert [m["content"] for m in out] == ["fine", "also fine"]
