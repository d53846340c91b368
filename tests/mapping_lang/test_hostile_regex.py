"""A pattern that backtracking engines take exponential time on, run as an attacker would: through
the real CLI, in a config and in ``benthic blobl``. RE2 answers in linear time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EVIL = "^(a|a)*$"
SUBJECT = "a" * 40 + "!"  # no match: a backtracking engine tries 2**40 paths


@pytest.mark.timeout(60)
def test_a_config_running_a_catastrophic_pattern_processes_its_message(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root.s = "{SUBJECT}"'
pipeline:
  processors:
    - mapping: 'root.matched = this.s.re_match("{EVIL}")'
output:
  stdout: {{}}
logger:
  level: WARN
"""
    )
    proc = subprocess.run(
        [sys.executable, "-m", "benthic.cli", "run", str(config)],
        capture_output=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.strip() == b'{"matched":false}'


@pytest.mark.timeout(60)
def test_blobl_runs_a_catastrophic_pattern_on_each_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benthic.cli", "blobl", f'root = this.s.re_find_all("{EVIL}")'],
        input=f'{{"s":"{SUBJECT}"}}\n{{"s":"aaaa"}}\n'.encode(),
        capture_output=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.splitlines() == [b"[]", b'["aaaa"]']


def test_blobl_rejects_a_pattern_re2_cannot_parse_with_its_position() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benthic.cli", "blobl", 'root = this.s.re_match("(?=x)")'],
        input=b'{"s":"x"}\n',
        capture_output=True,
        timeout=50,
    )
    assert proc.returncode == 1
    assert "line 1 char 15:" in proc.stderr.decode()
    assert "error parsing regexp: invalid or unsupported Perl syntax: `(?=`" in proc.stderr.decode()
