"""Resource inputs and outputs carrying their own processors, run through the real CLI."""

from __future__ import annotations

from pathlib import Path

from tests.pipeline.conftest import run_cli


def _run(tmp_path: Path, text: str) -> str:
    config = tmp_path / "c.yaml"
    config.write_text("http:\n  enabled: false\n" + text)
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_resource_input_reference_runs_its_processors_after_the_resources_own(tmp_path: Path):
    out = _run(
        tmp_path,
        "input:\n  resource: numbers\n  processors:\n    - mapping: 'root = content().string() + \"r\"'\n"
        "input_resources:\n  - label: numbers\n    generate:\n      count: 3\n      interval: ''\n"
        "      mapping: 'root = counter().string()'\n"
        "    processors:\n      - mapping: 'root = \"n\" + content().string()'\n"
        "output:\n  stdout:\n    codec: lines\n",
    )
    assert out.split() == ["n1r", "n2r", "n3r"]


def test_a_resource_named_twice_in_a_broker_with_processors_is_read_once(tmp_path: Path):
    # the resource is one input: its three messages go to one reference or the other, never both
    out = _run(
        tmp_path,
        "input:\n  broker:\n    inputs:\n"
        "      - resource: numbers\n        processors:\n          - mapping: 'root = \"a\" + content().string()'\n"
        "      - resource: numbers\n        processors:\n          - mapping: 'root = \"b\" + content().string()'\n"
        "input_resources:\n  - label: numbers\n    generate:\n      count: 3\n      interval: ''\n"
        "      mapping: 'root = counter().string()'\n"
        "output:\n  stdout:\n    codec: lines\n",
    )
    lines = out.split()
    assert len(lines) == 3, out
    assert sorted(line[1:] for line in lines) == ["1", "2", "3"]
    assert all(line[0] in "ab" for line in lines)


def test_a_resource_output_reference_runs_its_processors_before_the_resources_own(tmp_path: Path):
    sink = tmp_path / "out.txt"
    _run(
        tmp_path,
        "input:\n  generate:\n    count: 2\n    interval: ''\n    mapping: 'root = counter().string()'\n"
        "output:\n  resource: sink\n  processors:\n    - mapping: 'root = content().string() + \"r\"'\n"
        f"output_resources:\n  - label: sink\n    file:\n      path: {sink}\n      codec: lines\n"
        "    processors:\n      - mapping: 'root = content().string() + \"s\"'\n",
    )
    assert sink.read_text().split() == ["1rs", "2rs"]


def test_a_resource_input_reference_to_an_unknown_resource_fails_naming_it(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        "input:\n  resource: nope\n  processors:\n    - mapping: 'root = this'\n"
        "output:\n  drop: {}\n"
    )
    result = run_cli("run", str(config))
    assert result.returncode != 0
    assert "input resource 'nope' was not found" in result.stderr
