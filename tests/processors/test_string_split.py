"""The ``string_split`` processor through the real CLI: upstream's own example config shape."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.conftest import run_cli


def _split(tmp_path: Path, settings: str, lines: list[str]) -> list[object]:
    config = tmp_path / "c.yaml"
    config.write_text(
        "http:\n  enabled: false\ninput:\n  stdin: {}\n"
        f"pipeline:\n  processors:\n    - string_split:\n{settings}"
        "output:\n  stdout:\n    codec: lines\n"
    )
    result = run_cli("run", str(config), input=("\n".join(lines) + "\n").encode())
    assert result.returncode == 0, result.stderr
    # the log lines go to stdout too
    return [json.loads(line) for line in result.stdout.splitlines() if not line.startswith("time=")]


def test_string_split_turns_each_message_into_an_array_with_empty_parts_as_null(tmp_path: Path):
    settings = "        delimiter: ','\n        empty_as_null: true\n"
    assert _split(tmp_path, settings, ["a,,b", "c"]) == [["a", None, "b"], ["c"]]


def test_string_split_keeps_empty_parts_by_default_and_splits_characters_on_an_empty_delimiter(
    tmp_path: Path,
):
    assert _split(tmp_path, "        delimiter: ';'\n", ["x;;y"]) == [["x", "", "y"]]
    assert _split(tmp_path, "        delimiter: ''\n", ["héy"]) == [["h", "é", "y"]]


def test_string_split_emit_bytes_writes_the_parts_as_base64_as_go_does(tmp_path: Path):
    settings = "        delimiter: '-'\n        emit_bytes: true\n"
    assert _split(tmp_path, settings, ["ab-c"]) == [["YWI=", "Yw=="]]
