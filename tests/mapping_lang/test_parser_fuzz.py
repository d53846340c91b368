"""Any text either compiles or fails with a positioned MappingError (never another exception)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import mapping_lang
from mapping_lang import MappingError

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
