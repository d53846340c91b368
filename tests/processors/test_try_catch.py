"""The ``try_catch`` processor through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.conftest import run_cli


def _run(tmp_path: Path, processors: str, lines: list[str]) -> list[object]:
    config = tmp_path / "c.yaml"
    config.write_text(
        "http:\n  enabled: false\ninput:\n  stdin: {}\n"
        f"pipeline:\n  processors:\n{processors}"
        "output:\n  stdout:\n    codec: lines\n"
    )
    result = run_cli("run", str(config), input=("\n".join(lines) + "\n").encode())
    assert result.returncode == 0, result.stderr
    # the log lines go to stdout too
    return [_value(line) for line in result.stdout.splitlines() if not line.startswith("time=")]


def _value(line: str) -> object:
    try:
        return json.loads(line)
    except ValueError:
        return line


def test_a_failed_message_skips_the_rest_and_is_recovered_with_the_error_in_metadata(tmp_path: Path):
    processors = (
        "    - try_catch:\n"
        "        processors:\n"
        "          - mapping: 'root = this.n.number()'\n"
        "          - mapping: 'root = {\"doubled\": this * 2}'\n"
        "        catch:\n"
        '          - mapping: \'root = {"what": @error.what, "flagged": errored()}\'\n'
    )
    out = _run(tmp_path, processors, ['{"n":"4"}', '{"n":"four"}'])
    assert out[0] == {"doubled": 8}
    assert isinstance(out[1], dict) and out[1]["flagged"] is False
    assert "four" in out[1]["what"]  # the number() failure, not a later step's


def test_without_catch_the_error_is_recorded_and_the_flag_cleared(tmp_path: Path):
    processors = (
        "    - try_catch:\n"
        "        error_metadata: problem\n"
        "        processors:\n"
        "          - mapping: 'root = throw(\"nope\")'\n"
        '    - mapping: \'root = {"what": @problem.what, "flagged": errored()}\'\n'
    )
    assert _run(tmp_path, processors, ["x"]) == [
        {"what": "failed assignment (line 1): nope", "flagged": False}
    ]


def test_a_message_flagged_before_the_block_goes_straight_to_catch(tmp_path: Path):
    processors = (
        "    - mapping: 'root = throw(\"earlier\")'\n"
        "    - try_catch:\n"
        "        processors:\n"
        "          - mapping: 'root = \"not run\"'\n"
        "        catch:\n"
        "          - mapping: 'root = @error.what'\n"
    )
    assert _run(tmp_path, processors, ["x"]) == ["failed assignment (line 1): earlier"]
