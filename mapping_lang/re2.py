"""Go regular expressions on Google's RE2 engine (the ``google-re2`` package).

Upstream compiles Bloblang patterns with Go's ``regexp`` package, which is an RE2 implementation:
matching takes time linear in the input, whatever the pattern. We hand patterns to the C++ RE2
library, which reads the same syntax and matches the same way, and add what Go does around it:

* errors worded as Go's ``regexp/syntax`` words them (``error parsing regexp: missing closing ):
  `a(```);
* Go's "All" iteration: after an empty match the search moves on by one whole character, and an
  empty match right after the previous match is skipped;
* ``Regexp.Expand`` templates for replacements: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``.

Matching runs on UTF-8 bytes, as Go's does; text is encoded on the way in and decoded on the way
out. Where we differ: the C++ parser accepts ``\\C`` (any single byte), which Go rejects; we reject
it as Go does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import re2 as _re2

Regex = Any  # a compiled ``re2._Regexp`` (the package ships no type information)
Match = Any  # a ``re2._Match`` over bytes

_OPTIONS = _re2.Options()
_OPTIONS.log_errors = False  # errors are reported to the mapping's author, not printed by RE2

# RE2's error codes, in Go's words (regexp/syntax ErrorCode strings)
_GO_ERRORS = {
    "missing )": "missing closing )",
    "unexpected )": "unexpected )",
    "missing ]": "missing closing ]",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid repetition size": "invalid repeat count",
    "trailing \\": "trailing backslash at end of expression",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid named capture group": "invalid named capture",
    "pattern too large - compile failed": "expression too large",
    "pattern too large - reverse compile failed": "expression too large",
}
_BYTE_ESCAPE = re.compile(r"\\(?:\\|(C))")  # \C outside an escaped backslash


class Re2Error(ValueError):
    pass


@lru_cache(maxsize=512)
def compile_re2(pattern: str) -> Regex:
    """Compile a Go RE2 pattern; ``Re2Error`` in Go's wording when it is not valid."""
    if "\\C" in pattern and any(m.group(1) for m in _BYTE_ESCAPE.finditer(pattern)):
        raise Re2Error("error parsing regexp: invalid escape sequence: `\\C`")
    try:
        return _re2.compile(encode(pattern), _OPTIONS)
    except _re2.error as e:
        text = e.args[0] if e.args else b""
        msg = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        code, sep, arg = msg.partition(": ")
        if not sep:
            code, arg = msg, pattern
        raise Re2Error(f"error parsing regexp: {_GO_ERRORS.get(code, code)}: `{arg}`") from None


def encode(text: str) -> bytes:
    """Text as the UTF-8 bytes it came from (lone surrogates kept as they were read)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "surrogatepass")


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _rune_width(data: bytes, pos: int) -> int:
    lead = data[pos]
    if lead < 0xC0:
        return 1
    width = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    end = min(pos + width, len(data))
    for i in range(pos + 1, end):
        if data[i] & 0xC0 != 0x80:
            return 1  # invalid UTF-8 counts one byte, as Go's decoder does
    return width if end - pos == width else 1


def find_all(regex: Regex, data: bytes) -> Iterator[Match]:
    """Go's "All" iteration over ``data``: see the module docstring."""
    pos = 0
    end = len(data)
    prev_end = -1
    while pos <= end:
        m = regex.search(data, pos)
        if m is None:
            break
        start, stop = m.span()
        accept = True
        if stop == pos:  # an empty match at the search position
            if start == prev_end:
                accept = False
            pos += _rune_width(data, pos) if pos < end else 1
        else:
            pos = stop
        prev_end = stop
        if accept:
            yield m


def group_names(regex: Regex) -> dict[int, str]:
    """Capture group index to name, for the named groups."""
    return {index: decode(name) for name, index in regex.groupindex.items()}


Template = tuple[tuple[bool, bytes | int | str], ...]  # (is_group, literal or group ref)
_TEMPLATE_NAME = re.compile(r"[0-9A-Za-z_]+")


@lru_cache(maxsize=512)
def compile_template(template: str) -> Template:
    """Go ``Regexp.Expand`` templates: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``.

    A reference that is not a well-formed name stays literal text; a name of digits is a group
    number, anything else a group name (``$1x`` names the group ``1x``)."""
    parts: list[tuple[bool, bytes | int | str]] = []
    lit: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        c = template[i]
        if c != "$" or i + 1 >= n:
            lit.append(c)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            lit.append("$")
            i += 2
            continue
        if nxt == "{":
            close = template.find("}", i + 2)
            name = template[i + 2 : close] if close > 0 else ""
            if close < 0 or not _TEMPLATE_NAME.fullmatch(name):
                lit.append(c)
                i += 1
                continue
            i = close + 1
        else:
            m = _TEMPLATE_NAME.match(template, i + 1)
            if m is None:
                lit.append(c)
                i += 1
                continue
            name = m.group()
            i = m.end()
        if lit:
            parts.append((False, encode("".join(lit))))
            lit = []
        parts.append((True, int(name) if name.isdigit() else name))
    if lit:
        parts.append((False, encode("".join(lit))))
    return tuple(parts)


def _expander(regex: Regex, template: Template) -> Callable[[Match], bytes]:
    if all(not is_group for is_group, _ in template):
        literal = b"".join(ref for _, ref in template)  # type: ignore[misc]
        return lambda m: literal
    index = {decode(name): i for name, i in regex.groupindex.items()}
    refs: list[bytes | int] = []
    for is_group, ref in template:
        if not is_group:
            refs.append(ref)  # type: ignore[arg-type]
        elif isinstance(ref, int):
            refs.append(ref if ref <= regex.groups else b"")
        else:
            refs.append(index.get(ref, b""))  # type: ignore[arg-type]

    def expand(m: Match) -> bytes:
        return b"".join(r if type(r) is bytes else (m.group(r) or b"") for r in refs)

    return expand


def replace_all(regex: Regex, data: bytes, template: Template) -> bytes:
    expand = _expander(regex, template)
    out: list[bytes] = []
    last = 0
    for m in find_all(regex, data):
        start, stop = m.span()
        out.append(data[last:start])
        out.append(expand(m))
        last = stop
    out.append(data[last:])
    return b"".join(out)
