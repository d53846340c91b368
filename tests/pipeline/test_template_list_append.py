"""A template whose mapping builds a list with ``"-"`` path segments (the way upstream's template
examples build ``fallback`` outputs and processor lists), run and linted through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.conftest import run_cli

TEMPLATE = """name: keep_or_spill
type: output
fields:
  - name: spill_path
    type: string
mapping: |
  root.fallback = []
  root.fallback."-".retry.max_retries = 1
  root.fallback."0".retry.output.reject = "always refused"
  root.fallback."-".file.path = this.spill_path
  root.fallback."1".file.codec = "lines"
tests:
  - name: two outputs in order
    config:
      spill_path: spill.log
    expected:
      fallback:
        - retry:
            max_retries: 1
            output:
              reject: always refused
        - file:
            path: spill.log
            codec: lines
"""


def test_a_template_built_with_dash_appends_passes_its_tests_and_runs(tmp_path: Path):
    template = tmp_path / "keep_or_spill.yaml"
    template.write_text(TEMPLATE)
    checked = run_cli("template", "lint", str(template))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    spill = tmp_path / "spill.log"
    config = tmp_path / "config.yaml"
    config.write_text(
        "input:\n  generate:\n    count: 2\n    interval: ''\n    mapping: 'root = \"m\" + counter().string()'\n"
        f"output:\n  keep_or_spill:\n    spill_path: {json.dumps(str(spill))}\n"
        "http:\n  enabled: false\n"
    )
    result = run_cli("run", "-t", str(template), str(config))
    assert result.returncode == 0, result.stderr
    assert sorted(spill.read_text().splitlines()) == ["m1", "m2"]
