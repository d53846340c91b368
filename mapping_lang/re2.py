"""Go RE2 regular expressions on Python's ``re``: pattern translation, ``$1``/``${name}``
replacement templates and Go's "All" iteration rule.

Translation covers the differences that matter in practice: ``\\z`` (end of text), ``$`` without
``(?m)`` (end of text only, Python also matches before a final newline), ASCII-only ``\\d \\w \\s
\\b``, POSIX classes (``[[:alpha:]]``), ``\\Q...\\E`` literals, ``(?<name>...)`` groups and inline
flag groups in the middle of a pattern (scoped to the rest of their group). Unicode classes
(``\\pL``) are approximated for letters and digits; other ``\\p`` classes are rejected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}  # fmt: skip
_CLASS_ESCAPES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_NEG_CLASS = {"D": "0-9", "W": "0-9A-Za-z_", "S": "\\t\\n\\f\\r "}
_UNICODE = {"L": (r"[^\W\d_]", r"[\W\d_]"), "N": (r"\d", r"\D"), "Nd": (r"\d", r"\D")}
_WORD = "[0-9A-Za-z_]"
_BOUNDARY = f"(?:(?<!{_WORD})(?={_WORD})|(?<={_WORD})(?!{_WORD}))"
_NOT_BOUNDARY = f"(?:(?<={_WORD})(?={_WORD})|(?<!{_WORD})(?!{_WORD}))"


class Re2Error(ValueError):
    pass


def _unicode_class(pattern: str, i: int) -> tuple[tuple[str, str], bool, int]:
    """Parse ``\\pX``/``\\p{Name}``/``\\PX`` at ``pattern[i]`` == 'p'/'P': (set body, negated, next)."""
    negated = pattern[i] == "P"
    if i + 1 < len(pattern) and pattern[i + 1] == "{":
        end = pattern.find("}", i)
        if end < 0:
            raise Re2Error("invalid character class range")
        name = pattern[i + 2 : end]
        nxt = end + 1
    else:
        name = pattern[i + 1 : i + 2]
        nxt = i + 2
    if name.startswith("^"):
        negated = not negated
        name = name[1:]
    body = _UNICODE.get(name)
    if body is None:
        raise Re2Error(f"invalid character class range: \\p{{{name}}}")
    return body, negated, nxt


def translate(pattern: str) -> tuple[str, int]:
    """A Go RE2 pattern as an equivalent Python pattern and flags."""
    out: list[str] = []
    flags = 0
    multiline = False
    i = 0
    n = len(pattern)
    # Leading global flags become Python flags.
    m = re.match(r"\(\?([imsU]+)\)", pattern)
    if m:
        for f in m.group(1):
            if f == "i":
                flags |= re.IGNORECASE
            elif f == "m":
                flags |= re.MULTILINE
                multiline = True
            elif f == "s":
                flags |= re.DOTALL
            else:
                raise Re2Error("ungreedy flag (?U) is not supported")
        i = m.end()
    depth_closers: list[int] = []  # per open group: how many extra ")" to emit on close
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise Re2Error("trailing backslash at end of expression")
            e = pattern[i + 1]
            if e == "z":
                out.append(r"\Z")
            elif e == "Z":
                raise Re2Error("invalid escape sequence: \\Z")
            elif e == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            elif e == "b":
                out.append(_BOUNDARY)
            elif e == "B":
                out.append(_NOT_BOUNDARY)
            elif e in _CLASS_ESCAPES:
                out.append(f"[{_CLASS_ESCAPES[e]}]")
            elif e in _NEG_CLASS:
                out.append(f"[^{_NEG_CLASS[e]}]")
            elif e in "pP":
                class_forms, negated, nxt = _unicode_class(pattern, i + 1)
                out.append(class_forms[1] if negated else class_forms[0])
                i = nxt
                continue
            elif e == "C":
                raise Re2Error("invalid escape sequence: \\C")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if c == "[":
            j, body = _translate_class(pattern, i)
            out.append(body)
            i = j
            continue
        if c == "$" and not multiline:
            out.append(r"\Z")
            i += 1
            continue
        if c == "(":
            if pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
                out.append("(?P<")
                i += 3
                depth_closers.append(0)
                continue
            fm = re.compile(r"\(\?([imsU-]+)\)").match(pattern, i)
            if fm:  # a flag group mid-pattern: scope it to the rest of the enclosing group
                spec = fm.group(1)
                if "U" in spec:
                    raise Re2Error("ungreedy flag (?U) is not supported")
                out.append(f"(?{spec}:")
                if depth_closers:
                    depth_closers[-1] += 1
                else:
                    depth_closers.append(-1)  # top level: closed at the end
                i = fm.end()
                continue
            if pattern.startswith("(?", i) and not pattern.startswith(("(?:", "(?P<"), i):
                fm2 = re.compile(r"\(\?([imsU-]+):").match(pattern, i)
                if fm2 is None:
                    raise Re2Error(f"invalid or unsupported Perl syntax: `{pattern[i : i + 3]}`")
                if "U" in fm2.group(1):
                    raise Re2Error("ungreedy flag (?U) is not supported")
            depth_closers.append(0)
            out.append(c)
            i += 1
            continue
        if c == ")":
            extra = 0
            while depth_closers and depth_closers[-1] == -1:
                depth_closers.pop()
            if depth_closers:
                extra = depth_closers.pop()
            out.append(")" * (extra + 1))
            i += 1
            continue
        out.append(c)
        i += 1
    out.append(")" * sum(1 for d in depth_closers if d == -1))
    return "".join(out), flags


def _translate_class(pattern: str, i: int) -> tuple[int, str]:
    """Translate a bracket expression starting at ``pattern[i] == '['``."""
    j = i + 1
    parts = ["["]
    if j < len(pattern) and pattern[j] == "^":
        parts.append("^")
        j += 1
    first = True
    while j < len(pattern):
        c = pattern[j]
        if c == "]" and not first:
            parts.append("]")
            return j + 1, "".join(parts)
        first = False
        if c == "[" and pattern.startswith("[:", j):
            end = pattern.find(":]", j + 2)
            if end > 0:
                name = pattern[j + 2 : end]
                neg = name.startswith("^")
                body = _POSIX.get(name.lstrip("^"))
                if body is None:
                    raise Re2Error(f"invalid character class range: `{pattern[j : end + 2]}`")
                if neg:
                    raise Re2Error("negated POSIX classes inside brackets are not supported")
                parts.append(body)
                j = end + 2
                continue
        if c == "[":
            parts.append("\\[")
            j += 1
            continue
        if c == "\\" and j + 1 < len(pattern):
            e = pattern[j + 1]
            if e in _CLASS_ESCAPES:
                parts.append(_CLASS_ESCAPES[e])
            elif e in "pP":
                raise Re2Error("unicode classes inside brackets are not supported")
            else:
                parts.append(pattern[j : j + 2])
            j += 2
            continue
        parts.append(c)
        j += 1
    raise Re2Error(f"missing closing ]: `{pattern[i:]}`")


@lru_cache(maxsize=512)
def compile_re2(pattern: str) -> re.Pattern[str]:
    try:
        translated, flags = translate(pattern)
        return re.compile(translated, flags)
    except (re.error, Re2Error) as e:
        msg = e.msg if isinstance(e, re.error) else str(e)
        raise Re2Error(f"error parsing regexp: {msg}: `{pattern}`") from None


def find_all(regex: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Go's "All" iteration: empty matches abutting a preceding match are skipped."""
    prev_end = -1
    for m in regex.finditer(text):
        if m.start() == m.end() and m.start() == prev_end:
            continue
        prev_end = m.end()
        yield m


Template = tuple[tuple[bool, str | int], ...]  # (is_group, literal or group ref)


@lru_cache(maxsize=512)
def compile_template(template: str) -> Template:
    """Go ``Regexp.Expand`` templates: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""
    parts: list[tuple[bool, str | int]] = []
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
            end = template.find("}", i + 2)
            name = template[i + 2 : end] if end > 0 else ""
            if end < 0 or not name or not re.fullmatch(r"\w+", name):
                lit.append(c)
                i += 1
                continue
            i = end + 1
        else:
            m = re.compile(r"\w+").match(template, i + 1)
            if m is None:
                lit.append(c)
                i += 1
                continue
            name = m.group()
            i = m.end()
        if lit:
            parts.append((False, "".join(lit)))
            lit = []
        parts.append((True, int(name) if name.isdigit() else name))
    if lit:
        parts.append((False, "".join(lit)))
    return tuple(parts)


def expander(template: Template) -> Callable[[re.Match[str]], str]:
    if all(not is_group for is_group, _ in template):
        literal = "".join(str(v) for _, v in template)
        return lambda m: literal

    def expand(m: re.Match[str]) -> str:
        out: list[str] = []
        for is_group, ref in template:
            if not is_group:
                out.append(ref)  # type: ignore[arg-type]
                continue
            try:
                out.append(m.group(ref) or "")
            except (IndexError, error_type):
                pass
        return "".join(out)

    return expand


error_type = re.error


def replace_all(regex: re.Pattern[str], text: str, template: Template) -> str:
    expand = expander(template)
    out: list[str] = []
    last = 0
    for m in find_all(regex, text):
        out.append(text[last : m.start()])
        out.append(expand(m))
        last = m.end()
    out.append(text[last:])
    return "".join(out)
