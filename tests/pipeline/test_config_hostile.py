"""Hostile and broken config files, as a user or an attacker would hand them to the real CLI.

Each must end in one ``file(line,col) message`` error and a non-zero exit, never a Python
traceback, and each runs under an address-space limit so that a file that makes the process
grow without bound fails the test instead of the machine.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.conftest import cli_env

MEMORY_LIMIT = 2 * 1024**3  # bytes of address space the CLI may use while reading a hostile file

OK_CONFIG = """
input:
  generate:
    count: 1
    interval: ""
    mapping: root = "ok"
output:
  drop: {}
"""

BILLION_LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi", strict=True)
)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_bounded(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benthic.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
        preexec_fn=_limit_memory,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], where: str, message: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    # ``where`` is the file and "(line,col)", or "(line," when the column is not the point
    pattern = re.escape(where) + (r"\d+\)" if where.endswith(",") else "") + " " + re.escape(message)
    assert re.search(pattern, output), output


HOSTILE_FILES = {
    "billion_laughs": (BILLION_LAUGHS.encode(), "(1,", "yaml: document contains excessive aliasing"),
    "binary": (bytes(range(256)) * 4, "(1,1)", "yaml: control characters are not allowed"),
    "deep_sequence": (
        b"a: " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
        "(1,",
        "yaml: exceeded max depth of 100",
    ),
    "deep_mapping": (
        "".join("  " * i + f"k{i}:\n" for i in range(3000)).encode(),
        "(100,",
        "yaml: exceeded max depth of 100",
    ),
    "duplicate_key": (
        b"input:\n  generate:\n    mapping: root = 1\ninput:\n  stdin: {}\n",
        "(4,1)",
        'mapping key "input" already defined at line 1',
    ),
    "self_containing_anchor": (b"a: &loop [*loop]\n", "(1,", "anchor 'loop' value contains itself"),
    "utf16_without_bom": (
        "input: {}\n".encode("utf-16-le"),
        "(1,",
        "yaml: control characters are not allowed",
    ),
    "top_level_list": (b"- input\n- output\n", "(1,1)", "expected a mapping at the top level"),
}


@pytest.mark.parametrize("command", ["lint", "run", "echo"])
@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_a_hostile_config_file_is_a_positioned_error_within_bounded_memory(
    tmp_path: Path, command: str, name: str
):
    content, where, message = HOSTILE_FILES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content)
    assert_clean_error(run_bounded(command, str(path)), f"{path}{where}", message)


def test_a_billion_laughs_in_a_set_override_is_refused(tmp_path: Path):
    config = tmp_path / "ok.yaml"
    config.write_text(OK_CONFIG)
    laughs = BILLION_LAUGHS.replace("\n", ", ").rstrip(", ")
    result = run_bounded("run", "--set", f"input.generate.mapping={{{laughs}}}", str(config))
    assert_clean_error(
        result, "--set input.generate.mapping(1,", "yaml: document contains excessive aliasing"
    )


def test_a_utf16_config_with_a_byte_order_mark_is_read_as_yaml_v3_reads_it(tmp_path: Path):
    config = tmp_path / "utf16.yaml"
    config.write_bytes(OK_CONFIG.encode("utf-16"))
    result = run_bounded("echo", str(config))
    assert result.returncode == 0, result.stderr
    assert 'mapping: root = "ok"' in result.stdout


@pytest.mark.parametrize("command", ["lint", "run", "echo"])
def test_a_garbage_env_file_is_a_positioned_error(tmp_path: Path, command: str):
    config = tmp_path / "ok.yaml"
    config.write_text(OK_CONFIG)
    binary = tmp_path / "binary.env"
    binary.write_bytes(b"A=1\n\xff\xfe\x00garbage\n")
    assert_clean_error(
        run_bounded(command, "-e", str(binary), str(config)), f"{binary}(2,1)", "env file is not"
    )
    no_equals = tmp_path / "no_equals.env"
    no_equals.write_text("A=1\n# fine\n  this line has no equals sign\n")
    assert_clean_error(
        run_bounded(command, "-e", str(no_equals), str(config)),
        f"{no_equals}(3,3)",
        "invalid line in env file",
    )


@pytest.mark.parametrize("command", ["lint", "run", "echo"])
def test_a_garbage_resource_file_is_a_positioned_error(tmp_path: Path, command: str):
    config = tmp_path / "ok.yaml"
    config.write_text(OK_CONFIG)
    for name, (content, where, message) in HOSTILE_FILES.items():
        resources = tmp_path / f"{name}_resources.yaml"
        resources.write_bytes(content)
        result = run_bounded(command, "-r", str(resources), str(config))
        assert_clean_error(result, f"{resources}{where}", message)


def test_a_resource_file_block_that_configures_nothing_is_reported(tmp_path: Path):
    config = tmp_path / "ok.yaml"
    config.write_text(OK_CONFIG)
    resources = tmp_path / "resources.yaml"
    resources.write_text("http:\n  address: 127.0.0.1:0\ncache_resources:\n  - label: seen\n    memory: {}\n")
    result = run_bounded("lint", "-r", str(resources), str(config))
    assert result.returncode == 0, result.stderr
    assert f"{resources}(1,1) warning: field http is ignored in a resource file" in result.stderr


def test_lint_of_a_markdown_file_that_is_not_text_is_a_positioned_error(tmp_path: Path):
    notes = tmp_path / "notes.md"
    notes.write_bytes(b"\xff\xfe\x00```yaml\ninput: {}\n```\n")
    assert_clean_error(run_bounded("lint", str(notes)), f"{notes}(1,1)", "the file is not UTF-8 text")


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_benthic_test_refuses_a_hostile_definition_file_cleanly(tmp_path: Path, name: str):
    content, where, message = HOSTILE_FILES[name]
    (tmp_path / "pipeline.yaml").write_text(OK_CONFIG)
    definition = tmp_path / "pipeline_benthos_test.yaml"
    definition.write_bytes(content)
    assert_clean_error(run_bounded("test", str(tmp_path / "pipeline.yaml")), f"{definition}{where}", message)
