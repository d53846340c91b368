"""Templates (-t/--templates, template lint), through the real CLI with real files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.conftest import run_cli

SHOUT = """name: shout
type: processor
summary: Upper-cases messages and adds a suffix.
fields:
  - name: suffix
    type: string
    default: "!"
  - name: times
    type: int
mapping: |
  root.mapping = "root = content().uppercase().string() + %q.repeat(%d)".format(this.suffix, this.times)
tests:
  - name: defaults
    config:
      times: 2
    expected:
      mapping: 'root = content().uppercase().string() + "!".repeat(2)'
"""

NUMBERS = """name: numbers
type: input
fields:
  - name: count
    type: int
mapping: |
  root.generate = {"count": this.count, "interval": "", "mapping": "root = counter().string()"}
  root.processors = [{"mapping": "root = \\"n\\" + content().string()"}]
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_templated_input_and_processor_run_with_the_generated_configs(tmp_path: Path):
    templates = tmp_path / "templates"
    templates.mkdir()
    _write(templates, "shout.yaml", SHOUT)
    _write(templates, "numbers.yaml", NUMBERS)
    out = tmp_path / "out.txt"
    config = _write(
        tmp_path,
        "c.yaml",
        "http:\n  enabled: false\ninput:\n  numbers:\n    count: 2\n  processors:\n    - mapping: 'root = content().string() + \"x\"'\n"
        "pipeline:\n  processors:\n    - label: loud\n      shout:\n        times: 3\n"
        f"output:\n  file:\n    path: {out}\n    codec: lines\n",
    )
    result = run_cli("run", "-t", f"{templates}/*.yaml", str(config))
    assert result.returncode == 0, result.stderr
    # the template's own processors run first, then the input's
    assert out.read_text().split() == ["N1X!!!", "N2X!!!"]


def test_lint_checks_a_templated_component_against_its_fields_and_its_generated_config(tmp_path: Path):
    template = _write(tmp_path, "shout.yaml", SHOUT)
    config = _write(
        tmp_path,
        "c.yaml",
        "pipeline:\n  processors:\n    - shout:\n        suffix: '?'\n        loud: true\n",
    )
    result = run_cli("lint", "--templates", str(template), str(config))
    assert result.returncode == 1
    assert "field loud not recognised" in result.stderr
    config.write_text("pipeline:\n  processors:\n    - shout:\n        suffix: '?'\n")
    result = run_cli("lint", "-t", str(template), str(config))
    assert "field times is required" in result.stderr
    broken = _write(tmp_path, "broken.yaml", SHOUT.replace("root.mapping = ", "root.mapping_typo = "))
    config.write_text("pipeline:\n  processors:\n    - shout:\n        times: 1\n")
    result = run_cli("lint", "-t", str(broken), str(config))
    assert result.returncode == 1
    assert "template shout: " in result.stderr
    assert run_cli("lint", "-t", str(template), str(config)).returncode == 0


def test_without_the_template_flag_the_component_is_unknown(tmp_path: Path):
    config = _write(tmp_path, "c.yaml", "pipeline:\n  processors:\n    - shout:\n        times: 1\n")
    result = run_cli("lint", str(config))
    assert "unable to infer processor type from candidates: [shout]" in result.stderr


def test_template_lint_runs_the_template_tests(tmp_path: Path):
    good = _write(tmp_path, "shout.yaml", SHOUT)
    result = run_cli("template", "lint", str(good))
    assert (result.returncode, result.stderr) == (0, "")
    bad = _write(tmp_path, "bad.yaml", SHOUT.replace('"!".repeat(2)', '"!".repeat(9)'))
    result = run_cli("template", "lint", str(bad))
    assert result.returncode == 1
    assert "test 'defaults': mismatch" in result.stderr


def test_a_broken_template_file_is_reported_with_its_path(tmp_path: Path):
    bad = _write(tmp_path, "bad.yaml", "name: x\ntype: widget\nmapping: root = {}\n")
    config = _write(tmp_path, "c.yaml", "input:\n  stdin: {}\n")
    result = run_cli("lint", "-t", str(bad), str(config))
    assert result.returncode == 1
    assert f"{bad}: type: value widget is not a valid option" in result.stderr


def test_list_shows_templated_components(tmp_path: Path):
    template = _write(tmp_path, "shout.yaml", SHOUT)
    result = run_cli("list", "-t", str(template), "processors")
    assert "\n  - shout\n" in result.stdout
    described = json.loads(run_cli("list", "-t", str(template), "--format", "jsonschema").stdout)
    assert any(
        "shout" in a["properties"]
        for a in described["definitions"]["processor"]["allOf"][0]["anyOf"]
        if "properties" in a
    )


def test_an_output_templates_processors_run_after_the_outputs_own(tmp_path: Path):
    out = tmp_path / "out.txt"
    _write(
        tmp_path,
        "sink.yaml",
        "name: sink\ntype: output\nfields:\n  - name: path\n    type: string\nmapping: |\n"
        '  root.file = {"path": this.path, "codec": "lines"}\n'
        '  root.processors = [{"mapping": "root = content().uppercase().string() + \\"g\\""}]\n',
    )
    config = _write(
        tmp_path,
        "c.yaml",
        "http:\n  enabled: false\n"
        "input:\n  generate:\n    count: 1\n    interval: ''\n    mapping: 'root = \"x\"'\n"
        f"output:\n  sink:\n    path: {out}\n"
        "  processors:\n    - mapping: 'root = content().string() + \"c\"'\n",
    )
    result = run_cli("run", "-t", str(tmp_path / "sink.yaml"), str(config))
    assert result.returncode == 0, result.stderr
    assert out.read_text().split() == ["XCg"]
