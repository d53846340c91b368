"""Regular expression methods: Go RE2 syntax, run by the RE2 engine (``mapping_lang.re2``).

Literal patterns are compiled once when the mapping is compiled (``prepare``), so a pattern RE2
rejects is a parse error with its position, as upstream's; dynamic patterns go through a bounded
compile cache.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.errors import EvalError
from mapping_lang.library import Param, method
from mapping_lang.libutil import string_or_bytes
from mapping_lang.re2 import (
    Re2Error,
    Regex,
    compile_re2,
    compile_template,
    decode,
    encode,
    find_all,
    group_names,
    replace_all,
)
from mapping_lang.value import type_name

CATEGORY = "Regular Expressions"


class _Pattern:
    """A compiled literal pattern, as handed from ``prepare`` to the method."""

    __slots__ = ("regex",)

    def __init__(self, regex: Regex) -> None:
        self.regex = regex


def _regex(pattern: Any) -> Regex:
    if type(pattern) is _Pattern:
        return pattern.regex
    if not isinstance(pattern, str):
        raise EvalError(f"expected string value, got {type_name(pattern)}")
    try:
        return compile_re2(pattern)
    except Re2Error as e:
        raise EvalError(str(e)) from None


def _prepare_pattern(pattern: str) -> tuple[Any, ...]:
    return (_Pattern(_regex(pattern)),)


def _prepare_replace(pattern: str, value: str) -> tuple[Any, ...]:
    return (_Pattern(_regex(pattern)), compile_template(value))


def _data(target: Any) -> tuple[bytes, bool]:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return v, True
    return encode(v), False


_PATTERN = [Param("pattern", "string", description="A Go RE2 regular expression.")]


@method("re_match", category=CATEGORY, params=_PATTERN, prepare=_prepare_pattern,
        description="True when the regular expression finds a match at any position of the string.")  # fmt: skip
def re_match(ctx: Any, target: Any, pattern: Any) -> Any:
    return _regex(pattern).search(_data(target)[0]) is not None


@method("re_find_all", category=CATEGORY, params=_PATTERN, prepare=_prepare_pattern,
        description="Every match of a regular expression in the string, left to right, none overlapping.")  # fmt: skip
def re_find_all(ctx: Any, target: Any, pattern: Any) -> Any:
    return [decode(m.group()) for m in find_all(_regex(pattern), _data(target)[0])]


@method("re_find_all_submatch", category=CATEGORY, params=_PATTERN, prepare=_prepare_pattern,
        description="All matches, each as an array of the full match and its capture groups.")  # fmt: skip
def re_find_all_submatch(ctx: Any, target: Any, pattern: Any) -> Any:
    regex = _regex(pattern)
    return [
        [decode(m.group()), *(decode(g or b"") for g in m.groups())]
        for m in find_all(regex, _data(target)[0])
    ]


def _match_object(regex: Regex, names: dict[int, str], m: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"0": decode(m.group())}
    for i in range(1, regex.groups + 1):
        obj[names.get(i, str(i))] = decode(m.group(i) or b"")
    return obj


@method("re_find_object", category=CATEGORY, params=_PATTERN, prepare=_prepare_pattern,
        description="The first match as an object of capture group names (or indexes) to text.")  # fmt: skip
def re_find_object(ctx: Any, target: Any, pattern: Any) -> Any:
    regex = _regex(pattern)
    m = regex.search(_data(target)[0])
    return {} if m is None else _match_object(regex, group_names(regex), m)


@method("re_find_all_object", category=CATEGORY, params=_PATTERN, prepare=_prepare_pattern,
        description="All matches as objects of capture group names (or indexes) to text.")  # fmt: skip
def re_find_all_object(ctx: Any, target: Any, pattern: Any) -> Any:
    regex = _regex(pattern)
    names = group_names(regex)
    return [_match_object(regex, names, m) for m in find_all(regex, _data(target)[0])]


def _re_replace(ctx: Any, target: Any, pattern: Any, value: Any) -> Any:
    regex = _regex(pattern)
    template = value if type(value) is tuple else compile_template(value)
    data, was_bytes = _data(target)
    result = replace_all(regex, data, template)
    return result if was_bytes else decode(result)


_REPLACE_PARAMS = [
    Param("pattern", "string", description="A Go RE2 regular expression."),
    Param("value", "string", description="The replacement; $1 or ${name} expand capture groups."),
]
method("re_replace_all", category=CATEGORY, params=_REPLACE_PARAMS, prepare=_prepare_replace,
       description="Replaces all regular expression matches, expanding $1/${name} references.")(_re_replace)  # fmt: skip
method("re_replace", category=CATEGORY, params=_REPLACE_PARAMS, prepare=_prepare_replace,
       description="Replaces all regular expression matches, expanding $1/${name} references.")(_re_replace)  # fmt: skip
