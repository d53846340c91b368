"""Fuzzing the config loader, the environment interpolation and the YAML reader: whatever the
input, the answer is a result or a clean ``ConfigReadError``, never another exception, and it
comes within the test's timeout (pytest-timeout) rather than hanging."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.config import (
    ConfigReadError,
    apply_set,
    interpolate_env,
    load_env_file,
    parse_yaml,
    read_config,
)
from pipeline.config.env import EnvError

# each test's time bound: a hang fails the test rather than the suite
pytestmark = pytest.mark.timeout(120)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# pieces that tend to reach the interesting corners of YAML and of the interpolation grammar
YAML_PIECES = st.sampled_from(
    [
        "input:",
        "output:",
        "  generate:",
        "    mapping: root = 1",
        "- ",
        "&a ",
        "*a",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "? ",
        "<<: *a",
        "!!binary ",
        "!!python/object:os.system ",
        "'",
        '"',
        "|",
        ">",
        "#",
        "---",
        "...",
        "%YAML 1.1",
        "\t",
        "\x00",
        "\ufeff",
        "${A}",
        "${B:default}",
        "${C|base64decode}",
        "${{D}}",
        "label: x",
        "processors:",
        "  - mapping: |",
        "      root = this",
    ]
)
YAML_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.tuples(YAML_PIECES, st.sampled_from(["", " ", "\n", "\n  ", "\n    "])), max_size=40).map(
        lambda parts: "".join(a + b for a, b in parts)
    ),
)
ENV = st.dictionaries(st.sampled_from(["A", "B", "C", "D", "E"]), st.text(max_size=40), max_size=5)


@FUZZ
@given(text=YAML_TEXT)
@example(text="? 0:")  # a mapping as a key
@example(text="a: &a [*a]")
def test_the_yaml_reader_gives_values_or_a_clean_error(text: str) -> None:
    try:
        data, marks = parse_yaml(text, "fuzz.yaml")
    except ConfigReadError as err:
        assert str(err)
        return
    assert isinstance(marks, dict)
    for line, column in marks.values():
        assert line >= 1 and column >= 1
    del data


@FUZZ
@given(text=YAML_TEXT, env=ENV)
def test_env_interpolation_gives_text_or_a_clean_error(text: str, env: dict[str, str]) -> None:
    try:
        result, missing = interpolate_env(text, env)
    except EnvError as err:
        assert str(err)
        return
    assert isinstance(result, str)
    assert all(isinstance(name, str) for name in missing)


@FUZZ
@given(text=YAML_TEXT, env=ENV, sets=st.lists(st.text(max_size=40), max_size=3))
def test_the_config_loader_gives_a_config_with_lints_or_a_clean_error(
    text: str, env: dict[str, str], sets: list[str]
) -> None:
    try:
        loaded = read_config("fuzz.yaml", text=text, env=env, overrides=sets)
    except ConfigReadError as err:
        assert str(err)
        return
    assert isinstance(loaded.data, dict)
    for lint in loaded.lints:
        assert lint.render("fuzz.yaml").startswith("fuzz.yaml(")


@FUZZ
@given(content=st.binary(max_size=300))
def test_the_loader_reads_any_bytes_from_a_file_or_refuses_them_cleanly(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.yaml"
        path.write_bytes(content)
        try:
            read_config(str(path), skip_env_check=True)
        except ConfigReadError as err:
            assert str(path) in str(err) or "configuration file" in str(err)


@FUZZ
@given(content=st.binary(max_size=300))
def test_any_env_file_gives_variables_or_a_positioned_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.env"
        path.write_bytes(content)
        try:
            values = load_env_file(str(path))
        except ConfigReadError as err:
            assert str(err).startswith(f"{path}(")
            return
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())


SET_PATH = st.lists(
    st.sampled_from(
        ["input", "generate", "mapping", "pipeline", "processors", "0", "1", "5", "-1", "", "x", " "]
    ),
    min_size=1,
    max_size=6,
).map(".".join)
SET_EXPRESSION = st.one_of(
    st.text(max_size=60), st.tuples(SET_PATH, YAML_TEXT).map(lambda pair: f"{pair[0]}={pair[1]}")
)


@FUZZ
@given(assignment=SET_EXPRESSION)
@example(assignment="pipeline.processors.5.x=1")
@example(assignment="pipeline.processors.0.noop.1=1")
def test_any_set_expression_applies_or_fails_cleanly(assignment: str) -> None:
    data = {"input": {"generate": {"mapping": "root = 1"}}, "pipeline": {"processors": [{"noop": {}}]}}
    try:
        apply_set(data, assignment)
    except ConfigReadError as err:
        assert str(err)


@pytest.mark.parametrize("depth", [10, 99, 101, 5_000])
def test_nesting_at_and_beyond_the_bound(depth: int) -> None:
    text = "[" * depth + "]" * depth
    if depth <= 99:
        assert parse_yaml(text)[0] is not None
    else:
        with pytest.raises(ConfigReadError, match="exceeded max depth"):
            parse_yaml(text)
