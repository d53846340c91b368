"""Running a config through the real CLI the way a user does, for the component tests: the
config is written to a file, ``benthic run`` runs it to the end of its input, and the lines it
printed with the ``stdout`` output come back parsed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Process, benthic_argv
from tests.pipeline.conftest import run_cli

# A last processor that shows each message as a user would inspect it: payload, error, metadata.
REPORT = """    - mapping: |
        root.content = content().string()
        root.error = error()
        root.meta = @
"""


def reported_pipeline(tmp_path: Path, lines: list[str], processors: str) -> str:
    """A config: ``lines`` from a real file through ``processors`` (one thread, so in order), then
    :data:`REPORT`, to stdout."""
    return (
        file_input(tmp_path, lines)
        + "pipeline:\n  threads: 1\n  processors:\n"
        + processors
        + REPORT
        + "output:\n  stdout: {}\n"
    )


def run_reported(tmp_path: Path, lines: list[str], processors: str) -> list[Any]:
    """Run :func:`reported_pipeline` and return each message's report."""
    return run_lines(tmp_path, reported_pipeline(tmp_path, lines, processors))


def run_config(tmp_path: Path, config: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.yaml"
    path.write_text(config + "\nhttp:\n  enabled: false\n")
    return run_cli("run", str(path), timeout=timeout)


def run_lines(tmp_path: Path, config: str, *, timeout: float = 60) -> list[Any]:
    """Run a config whose output is ``stdout`` and return what it printed, one JSON per line."""
    result = run_config(tmp_path, config, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def lint(tmp_path: Path, config: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "lint.yaml"
    path.write_text(config)
    return run_cli("lint", str(path))


def file_input(tmp_path: Path, lines: list[str] | bytes, codec: str = "lines") -> str:
    """An ``input:`` block reading the given lines (or bytes as one message) from a real file."""
    path = tmp_path / "input.txt"
    if isinstance(lines, bytes):
        path.write_bytes(lines)
        codec = "all-bytes"
    else:
        path.write_text("".join(f"{line}\n" for line in lines))
    return f"input:\n  file:\n    paths: [{json.dumps(str(path))}]\n    codec: {codec}\n"


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> str:
    """``text`` written to ``tmp_path/name``; the file's path."""
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def started(config: str) -> Process:
    """``benthic run config`` with its output (logs included) going to a file."""
    return Process(benthic_argv("run", config))


def until(proc: Process, pattern: str, timeout: float = 45) -> str:
    """Wait for ``pattern`` in the output, stop the process, and return everything it printed."""
    try:
        proc.wait_for_output(pattern, timeout)
        proc.stop()
        return proc.output
    finally:
        proc.cleanup()
