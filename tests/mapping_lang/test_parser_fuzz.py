"""Any text either compiles or fails with a positioned MappingError, and any compiled mapping run
on any input gives a result or a MappingError: never another exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mapping_lang
from mapping_lang import MappingError, library

TOKENS = [
    "root",
    "this",
    "=",
    ".",
    "a",
    "b",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\n",
    " ",
    "1",
    "2.5",
    '"s"',
    '"""t"""',
    "+",
    "-",
    "*",
    "/",
    "%",
    "|",
    "||",
    "&&",
    "!",
    "==",
    "<",
    "->",
    "=>",
    "if",
    "else",
    "match",
    "_",
    "let",
    "meta",
    "@",
    "@k",
    "$v",
    "map",
    "m",
    "uppercase()",
    "deleted()",
    "#c",
    "x",
]


def _check(src: str) -> None:
    try:
        mapping_lang.compile(src)
    except MappingError as e:
        assert e.line is not None and e.column is not None, str(e)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_random_text(src: str) -> None:
    _check(src)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_random_token_sequences(tokens: list[str]) -> None:
    _check(" ".join(tokens))
    _check("".join(tokens))


# --- the runtime: generated mappings over generated documents ---------------------------------
# Every registered function and method is called with literal arguments of every kind on inputs
# of every kind; each run ends in a result or a MappingError. Functions that read files are left
# out (a random path could name a device).

_UNSAFE_FUNCTIONS = {"file", "file_rel"}
library.load_builtins()
_FUNCTIONS = sorted(set(library.FUNCTIONS) - _UNSAFE_FUNCTIONS)
_METHODS = sorted(library.METHODS)

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _literal(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


_literals = _json.map(_literal) | st.sampled_from(
    [
        '"%v %d %x"',
        '"(a|b)+"',
        '"[a-"',
        '"2006-01-02"',
        '"1h2m"',
        '"sha256"',
        '"gzip"',
        '"hex"',
        '"-"',
        "-1",
        "0",
        "1e308",
    ]
)
_atoms = _literals | st.sampled_from(["this", "this.a", "this.a.b", "@", "@k", 'meta("k")', "$v", "this.0"])


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 4 if depth < 2 else 1))
    if kind == 0:
        return draw(_atoms)
    if kind in (1, 2):
        table = library.METHODS if kind == 1 else library.FUNCTIONS
        name = draw(st.sampled_from(_METHODS if kind == 1 else _FUNCTIONS))
        # mostly as many arguments as the spec declares, sometimes a wrong count
        count = draw(st.integers(0, len(table[name].params)) | st.integers(0, 4))
        args = ", ".join(draw(st.lists(_literals if depth else _atoms, min_size=count, max_size=count)))
        if kind == 2:
            return f"{name}({args})"
        target = draw(_atoms) if depth >= 2 else draw(_expressions(depth + 1))
        return f"({target}).{name}({args})"
    if kind == 3:
        op = draw(st.sampled_from(["+", "-", "*", "/", "%", "==", "<", "&&", "||", "|"]))
        return f"({draw(_expressions(depth + 1))}) {op} ({draw(_expressions(depth + 1))})"
    return f"[{draw(_expressions(depth + 1))}, {draw(_expressions(depth + 1))}]"


@pytest.mark.timeout(600)
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expression=_expressions(),
    document=_json.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=20),
    metadata=st.dictionaries(st.sampled_from(["k", "x"]), st.text(max_size=8), max_size=2),
)
def test_generated_mappings_run_to_a_result_or_a_mapping_error(
    expression: str, document: bytes, metadata: dict[str, str]
) -> None:
    try:
        mapping = mapping_lang.compile(f"root = {expression}")
    except MappingError as e:
        assert e.line is not None and e.column is not None, str(e)
        return
    try:
        mapping.apply(document, metadata)
    except MappingError:
        pass
