"""Go's ``strconv`` number parsing, which upstream's number conversions call on strings.

``ParseInt``/``ParseUint`` with base 0 take ``0x``/``0o``/``0b`` prefixes, a bare leading ``0``
for octal, and underscores between digits; ``ParseFloat`` takes decimal and hexadecimal
(``0x1p-2``, exponent required) floats, underscores between digits, and ``inf``/``infinity``/
``nan`` in any case. Python's ``int()``/``float()`` accept other things (surrounding space,
non-ASCII digits, ``-nan``, hex floats without exponent) and reject some of these, so the syntax is
checked here the way Go's scanner does, and Python only computes the value.

Errors are ``*strconv.NumError`` texts: ``strconv.ParseInt: parsing "x": invalid syntax`` or
``...: value out of range``.
"""

from __future__ import annotations

import math
import struct

from mapping_lang.errors import EvalError
from mapping_lang.gofmt import go_quote


def num_error(fn: str, s: str, what: str) -> EvalError:
    return EvalError(f"strconv.{fn}: parsing {go_quote(s)}: {what}")


def underscore_ok(s: str) -> bool:
    """Underscores only between digits, or between a base prefix and a digit."""
    saw = "^"
    i = 0
    if s[:1] in ("-", "+") and s:
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1] in "bBoOxX":
        i = 2
        saw = "0"
        hexa = s[1] in "xX"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hexa and c in "abcdefABCDEF"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def parse_uint(s: str, bits: int = 64, fn: str = "ParseUint", s0: str | None = None) -> int:
    """strconv.ParseUint(s, 0, bits)."""
    if s0 is None:
        s0 = s
    if not s:
        raise num_error(fn, s0, "invalid syntax")
    base = 10
    if s[0] == "0":
        if len(s) >= 3 and s[1] in "bB":
            base, s = 2, s[2:]
        elif len(s) >= 3 and s[1] in "oO":
            base, s = 8, s[2:]
        elif len(s) >= 3 and s[1] in "xX":
            base, s = 16, s[2:]
        else:
            base, s = 8, s[1:]
    limit = (1 << bits) - 1
    n = 0
    underscores = False
    for c in s:
        if c == "_":
            underscores = True
            continue
        if "0" <= c <= "9":
            d = ord(c) - 48
        elif "a" <= c.lower() <= "z" and c.isascii():
            d = ord(c.lower()) - 87
        else:
            raise num_error(fn, s0, "invalid syntax")
        if d >= base:
            raise num_error(fn, s0, "invalid syntax")
        n = n * base + d
        if n > limit:
            raise num_error(fn, s0, "value out of range")
    if underscores and not underscore_ok(s0):
        raise num_error(fn, s0, "invalid syntax")
    return n


def parse_int(s: str, bits: int = 64) -> int:
    """strconv.ParseInt(s, 0, bits)."""
    if not s:
        raise num_error("ParseInt", s, "invalid syntax")
    neg = s[0] == "-"
    body = s[1:] if s[0] in "+-" else s
    try:
        u = parse_uint(body, 64, "ParseInt", s)
    except EvalError as e:
        if "out of range" in str(e):
            raise num_error("ParseInt", s, "value out of range") from None
        raise
    cutoff = 1 << (bits - 1)
    if not neg and u >= cutoff:
        raise num_error("ParseInt", s, "value out of range")
    if neg and u > cutoff:
        raise num_error("ParseInt", s, "value out of range")
    return -u if neg else u


def _special(s: str) -> tuple[float, int] | None:
    """inf, infinity (signed) and nan, case-insensitive; returns (value, length consumed)."""
    if not s:
        return None
    low = s.lower()
    if low[0] in "+-":
        sign, body = low[0], low[1:]
    elif low[0] in "in":
        sign, body = "", low
    else:
        return None
    if body.startswith("infinity"):
        return float(f"{sign}inf"), len(sign) + 8
    if body.startswith("inf"):
        return float(f"{sign}inf"), len(sign) + 3
    if not sign and body.startswith("nan"):
        return float("nan"), 3
    return None


def _read_float(s: str) -> tuple[bool, int, bool]:
    """Go's readFloat: (well-formed, characters consumed, hexadecimal)."""
    i = 0
    n = len(s)
    if i < n and s[i] in "+-":
        i += 1
    hexa = False
    exp_char = "e"
    if i + 2 < n and s[i] == "0" and s[i + 1] in "xX":
        hexa, exp_char = True, "p"
        i += 2
    underscores = sawdot = sawdigits = False
    while i < n:
        c = s[i]
        if c == "_":
            underscores = True
        elif c == ".":
            if sawdot:
                break
            sawdot = True
        elif "0" <= c <= "9" or (hexa and c in "abcdefABCDEF"):
            sawdigits = True
        else:
            break
        i += 1
    if not sawdigits:
        return False, i, hexa
    if i < n and s[i].lower() == exp_char:
        i += 1
        if i >= n:
            return False, i, hexa
        if s[i] in "+-":
            i += 1
        if i >= n or not "0" <= s[i] <= "9":
            return False, i, hexa
        while i < n and ("0" <= s[i] <= "9" or s[i] == "_"):
            if s[i] == "_":
                underscores = True
            i += 1
    elif hexa:
        return False, i, hexa
    if underscores and not underscore_ok(s[:i]):
        return False, i, hexa
    return True, i, hexa


def parse_float(s: str, bits: int = 64) -> float:
    """strconv.ParseFloat(s, bits) (the float64 value; float32 rounding is the caller's)."""
    sp = _special(s)
    if sp is not None:
        if sp[1] != len(s):
            raise num_error("ParseFloat", s, "invalid syntax")
        return sp[0]
    ok, n, hexa = _read_float(s)
    if not ok or n != len(s):
        raise num_error("ParseFloat", s, "invalid syntax")
    text = s.replace("_", "")
    try:
        f = float.fromhex(text) if hexa else float(text)
    except OverflowError:
        raise num_error("ParseFloat", s, "value out of range") from None
    if math.isinf(f):
        raise num_error("ParseFloat", s, "value out of range")
    if bits == 32:
        try:
            struct.pack("<f", f)
        except OverflowError:
            raise num_error("ParseFloat", s, "value out of range") from None
    return f
