"""Go ``fmt.Sprintf`` verbs and ``strconv.Quote``/``Unquote`` over Bloblang values.

Values are seen as upstream passes them to Go: int → ``int64``, float → ``float64``, a JSON lexeme
number → ``json.Number`` (a string kind), str → ``string``, bytes → ``[]uint8``, list →
``[]interface {}``, dict → ``map[string]interface {}``, timestamp → ``time.Time``, None → ``nil``.

Note: benthic decodes in-range JSON integers to plain ints, so ``"%d".format(this.n)`` prints the
number where upstream prints ``%!d(json.Number=5)``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from mapping_lang.golayout import compile_layout, format_layout
from mapping_lang.value import JsonNumber, format_float_g

_VERB_RE = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?(.)", re.S)

Directive = tuple[str, int | str | None, int | str | None, str]  # flags, width, precision, verb
Piece = str | Directive

_TIME_STRING = compile_layout("2006-01-02 15:04:05.999999999 -0700 MST")


@lru_cache(maxsize=256)
def compile_format(fmt: str) -> tuple[Piece, ...]:
    pieces: list[Piece] = []
    pos = 0
    text: list[str] = []
    while pos < len(fmt):
        i = fmt.find("%", pos)
        if i < 0:
            text.append(fmt[pos:])
            break
        text.append(fmt[pos:i])
        if i + 1 < len(fmt) and fmt[i + 1] == "%":
            text.append("%")
            pos = i + 2
            continue
        m = _VERB_RE.match(fmt, i)
        if m is None:
            text.append("%!(NOVERB)")
            break
        if text:
            pieces.append("".join(text))
            text = []
        flags, width, prec, verb = m.groups()
        w: int | str | None = width if width == "*" else (_go_num(width) if width else None)
        p: int | str | None
        if prec is None:
            p = None
        elif prec == "*":
            p = "*"
        else:
            p = _go_num(prec) if prec else 0
        if w == _TOO_LARGE or p == _TOO_LARGE:  # Go's parsenum gives up and ends the format
            text.append("%!(NOVERB)")
            break
        pieces.append((flags, w, p, verb))
        pos = m.end()
    if text:
        pieces.append("".join(text))
    return tuple(pieces)


_TOO_LARGE: Any = -1
_MAX_WIDTH = 1_000_000  # Go's fmt: widths and precisions beyond a million are refused (tooLarge)


def _go_num(digits: str) -> int:
    """A width or precision as Go's ``parsenum`` reads it (``_TOO_LARGE`` once it passes 1e6)."""
    num = 0
    for d in digits:
        if num > _MAX_WIDTH:
            return _TOO_LARGE
        num = num * 10 + ord(d) - 48
    return num


def go_type(v: Any) -> str:
    if v is None:
        return "<nil>"
    t = type(v)
    if t is bool:
        return "bool"
    if t is int:
        return "int64"
    if t is JsonNumber:
        return "json.Number"
    if t is float:
        return "float64"
    if t is str:
        return "string"
    if t is bytes or t is bytearray:
        return "[]uint8"
    if t is list:
        return "[]interface {}"
    if t is dict:
        return "map[string]interface {}"
    if isinstance(v, datetime):
        return "time.Time"
    return "interface {}"


def _bad(verb: str, v: Any) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(v)}={format_value(v, 'v')})"


def time_string(dt: datetime) -> str:
    """Go ``time.Time.String()``."""
    nsec = dt.microsecond * 1000 + (getattr(dt, "nanos", 0) or 0)
    return format_layout(_TIME_STRING, dt, nsec)


def _pad(s: str, width: int | None, flags: str, numeric: bool = False) -> str:
    if width is None or len(s) >= width:
        return s
    if "-" in flags:
        return s + " " * (width - len(s))
    if "0" in flags and numeric:
        sign = s[0] if s[:1] in "+- " else ""
        body = s[len(sign) :]
        return sign + "0" * (width - len(s)) + body
    return " " * (width - len(s)) + s


def _fmt_int(n: int, verb: str, flags: str, prec: int | None) -> str | None:
    neg = n < 0
    a = -n if neg else n
    if verb in "dv":
        body = str(a)
    elif verb == "x":
        body = format(a, "x")
        if "#" in flags:
            body = "0x" + body
    elif verb == "X":
        body = format(a, "X")
        if "#" in flags:
            body = "0X" + body
    elif verb == "o":
        body = format(a, "o")
        if "#" in flags:
            body = "0" + body
    elif verb == "O":
        body = "0o" + format(a, "o")
    elif verb == "b":
        body = format(a, "b")
    elif verb == "c":
        try:
            return chr(n)
        except (ValueError, OverflowError):
            return "\ufffd"
    elif verb == "q":
        try:
            return "'" + _quote_rune(chr(n)) + "'"
        except (ValueError, OverflowError):
            return "'\\ufffd'"
    elif verb == "U":
        body = f"U+{a:04X}"
    elif verb in "eEfFgG":
        return None
    else:
        return None
    if prec is not None and verb in "dxXob":
        body = body.rjust(prec, "0") if prec else ("" if a == 0 else body)
    sign = "-" if neg else ("+" if "+" in flags else (" " if " " in flags else ""))
    return sign + body


def _hex_float(x: float, upper: bool) -> str:
    """strconv.FormatFloat(x, 'x', -1, 64): shortest hexadecimal mantissa, normalised, with an
    exponent of at least two digits (``0x1.8p+00``)."""
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    x = abs(x)
    if x == 0:
        mant, exp = "0", 0
    else:
        m, e = math.frexp(x)  # x = m * 2**e, 0.5 <= m < 1
        frac = int((m * 2 - 1) * (1 << 52))
        exp = e - 1
        digits = f"{frac:013x}".rstrip("0")
        mant = "1." + digits if digits else "1"
    out = f"{sign}0x{mant}p{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return out.upper() if upper else out


def _fmt_float(x: float, verb: str, flags: str, prec: int | None) -> str | None:
    if verb not in "vfFeEgGbxX":
        return None
    if math.isinf(x) or math.isnan(x):
        return "NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf")
    if verb in "xX":
        s = _hex_float(x, verb == "X")
    elif verb in "vgG" and prec is None:
        s = format_float_g(x)
        if verb == "G":
            s = s.upper()
    elif verb in "fF":
        s = f"%.{6 if prec is None else prec}f" % x
    elif verb in "eE":
        s = f"%.{6 if prec is None else prec}{verb}" % x
    elif verb in "gG":
        s = f"%.{prec or 1}{verb}" % x
    else:
        return None
    if "+" in flags and not s.startswith("-"):
        s = "+" + s
    elif " " in flags and not s.startswith("-"):
        s = " " + s
    return s


def _fmt_str(s: str, verb: str, flags: str, prec: int | None) -> str | None:
    if prec is not None and verb in "sqv":
        s = s[:prec]
    if verb in "sv":
        return s
    if verb == "q":
        return go_quote(s)
    if verb in "xX":
        data = s.encode("utf-8", "surrogatepass")
        out = data.hex() if verb == "x" else data.hex().upper()
        if " " in flags:
            out = " ".join(out[i : i + 2] for i in range(0, len(out), 2))
        return out
    return None


def format_value(v: Any, verb: str, flags: str = "", prec: int | None = None) -> str:
    """One value under one verb (width is applied by the caller)."""
    t = type(v)
    if v is None:
        return "<nil>" if verb == "v" else _bad(verb, v)
    if t is bool:
        if verb in "vt":
            return "true" if v else "false"
        return _bad(verb, v)
    if t is int:
        out = _fmt_int(v, verb, flags, prec)
        return _bad(verb, v) if out is None else out
    if t is JsonNumber:
        out = _fmt_str(v.lexeme, verb, flags, prec)
        return _bad(verb, v) if out is None else out
    if t is float:
        out = _fmt_float(v, verb, flags, prec)
        return _bad(verb, v) if out is None else out
    if t is str:
        out = _fmt_str(v, verb, flags, prec)
        return _bad(verb, v) if out is None else out
    if t is bytes or t is bytearray:
        if verb in "sq" or verb in "xX":
            text = bytes(v).decode("utf-8", "replace")
            if verb in "xX":
                out = bytes(v).hex() if verb == "x" else bytes(v).hex().upper()
                if " " in flags:
                    out = " ".join(out[i : i + 2] for i in range(0, len(out), 2))
                return out
            return _fmt_str(text, verb, flags, prec) or ""
        return "[" + " ".join(format_value(b, verb, flags, prec) for b in v) + "]"
    if t is list:
        return "[" + " ".join(format_value(x, verb, flags, prec) for x in v) + "]"
    if t is dict:
        items = (
            f"{format_value(k, verb, flags, prec)}:{format_value(v[k], verb, flags, prec)}" for k in sorted(v)
        )
        return "map[" + " ".join(items) + "]"
    if isinstance(v, datetime):
        if verb in "vs":
            return time_string(v)
        if verb == "q":
            return go_quote(time_string(v))
        return _bad(verb, v)
    return format_value(str(v), verb, flags, prec)


def sprintf(fmt: str, args: list[Any] | tuple[Any, ...]) -> str:
    out: list[str] = []
    argi = 0
    for piece in compile_format(fmt):
        if isinstance(piece, str):
            out.append(piece)
            continue
        flags, width, prec, verb = piece
        if width == "*":
            if argi < len(args) and type(args[argi]) is int and abs(args[argi]) <= _MAX_WIDTH:
                width = args[argi]
                if width < 0:
                    flags += "-"
                    width = -width
            else:
                out.append("%!(BADWIDTH)")
                width = None
            argi += 1
        if prec == "*":
            if argi < len(args) and type(args[argi]) is int and 0 <= args[argi] <= _MAX_WIDTH:
                prec = args[argi]
            else:
                out.append("%!(BADPREC)")
                prec = None
            argi += 1
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        v = args[argi]
        argi += 1
        assert width is None or isinstance(width, int)
        assert prec is None or isinstance(prec, int)
        if verb == "v" and "+" in flags:
            flags = flags.replace("+", "")  # Go turns %+v into plusV: no sign on numbers
        if verb == "T":
            text = go_type(v)
        elif verb == "v" and "#" in flags:
            text = go_syntax(v, top=True)
        else:
            text = format_value(v, verb, flags, prec)
        if width is not None and (type(v) is list or type(v) is dict) and verb != "T" and "#" not in flags:
            # Go keeps the width while printing each element, so it pads every leaf
            text = _padded_leaves(v, verb, flags, prec, width)
        else:
            numeric = is_numeric_value(v) and verb in "dxXobeEfFgGv"
            text = _pad(text, width, flags, numeric)
        out.append(text)
    if argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{go_type(a)}={format_value(a, 'v')}" for a in args[argi:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _padded_leaves(v: Any, verb: str, flags: str, prec: int | None, width: int) -> str:
    t = type(v)
    if t is list:
        return "[" + " ".join(_padded_leaves(x, verb, flags, prec, width) for x in v) + "]"
    if t is dict:
        items = (
            f"{_padded_leaves(k, verb, flags, prec, width)}:{_padded_leaves(v[k], verb, flags, prec, width)}"
            for k in sorted(v)
        )
        return "map[" + " ".join(items) + "]"
    numeric = is_numeric_value(v) and verb in "dxXobeEfFgGv"
    return _pad(format_value(v, verb, flags, prec), width, flags, numeric)


def go_syntax(v: Any, top: bool = False) -> str:
    """``%#v``: the value as Go source (``map[string]interface {}{"a":1}``)."""
    t = type(v)
    if v is None:
        return "<nil>" if top else "interface {}(nil)"
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return _fmt_float(v, "v", "", None) or ""
    if t is str or t is JsonNumber:
        return go_quote(v.lexeme if t is JsonNumber else v)
    if t is bytes or t is bytearray:
        return "[]byte{" + ", ".join(f"0x{b:x}" for b in v) + "}"
    if t is list:
        return "[]interface {}{" + ", ".join(go_syntax(x) for x in v) + "}"
    if t is dict:
        return (
            "map[string]interface {}{"
            + ", ".join(f"{go_quote(k)}:{go_syntax(v[k])}" for k in sorted(v))
            + "}"
        )
    return format_value(v, "v")


def is_numeric_value(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


# ---------------------------------------------------------------------------------------------
# strconv.Quote / Unquote

_SIMPLE_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
    "\\": "\\\\",
}  # fmt: skip


def _quote_rune(c: str, quote: str = "'") -> str:
    if c == quote:
        return "\\" + c
    esc = _SIMPLE_ESCAPES.get(c)
    if esc is not None:
        return esc
    if c.isprintable():
        return c
    o = ord(c)
    if o < 0x20 or o == 0x7F:
        return f"\\x{o:02x}"
    if 0xD800 <= o <= 0xDFFF:
        return "\\ufffd"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


_NEEDS_QUOTE_ESC = re.compile(r'[^ -~]|["\\]')


def go_quote(s: str) -> str:
    """Go ``strconv.Quote``: a double-quoted literal with Go escapes for non-printable runes."""
    if _NEEDS_QUOTE_ESC.search(s) is None:
        return '"' + s + '"'
    return '"' + "".join(_quote_rune(c, '"') for c in s) + '"'


def go_quote_bytes(b: bytes) -> str:
    """``strconv.Quote`` of possibly invalid UTF-8: invalid bytes become ``\\xNN``."""
    out: list[str] = []
    text = b.decode("utf-8", "surrogateescape")
    for c in text:
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        else:
            out.append(_quote_rune(c, '"'))
    return '"' + "".join(out) + '"'


class UnquoteError(ValueError):
    pass


_UNESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def go_unquote(s: str) -> str:
    """Go ``strconv.Unquote``; raises ``UnquoteError("invalid syntax")``."""
    if len(s) < 2 or s[0] != s[-1] or s[0] not in "\"'`":
        raise UnquoteError("invalid syntax")
    q = s[0]
    body = s[1:-1]
    if q == "`":
        if "`" in body:
            raise UnquoteError("invalid syntax")
        return body.replace("\r", "")
    if "\n" in body:
        raise UnquoteError("invalid syntax")
    if "\\" not in body and q not in body:
        if q == "'" and len(body) != 1:
            raise UnquoteError("invalid syntax")
        return body
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c == q:
            raise UnquoteError("invalid syntax")
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            raise UnquoteError("invalid syntax")
        c = body[i]
        i += 1
        if c in _UNESCAPES:
            out.append(_UNESCAPES[c])
        elif c in "'\"":
            if c != q:
                raise UnquoteError("invalid syntax")
            out.append(c)
        elif c in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[c]
            digits = body[i : i + size]
            if len(digits) != size or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise UnquoteError("invalid syntax")
            i += size
            code = int(digits, 16)
            if c == "x":
                # a byte escape: keep it as a byte-valued code point (UTF-8 reassembled below)
                out.append(chr(0xDC00 + code) if code >= 0x80 else chr(code))
            else:
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise UnquoteError("invalid syntax")
                out.append(chr(code))
        elif c in "01234567":
            digits = body[i - 1 : i + 2]
            if len(digits) != 3 or not all(d in "01234567" for d in digits):
                raise UnquoteError("invalid syntax")
            i += 2
            code = int(digits, 8)
            if code > 255:
                raise UnquoteError("invalid syntax")
            out.append(chr(0xDC00 + code) if code >= 0x80 else chr(code))
        else:
            raise UnquoteError("invalid syntax")
    result = "".join(out)
    if q == "'" and len(result) != 1:
        raise UnquoteError("invalid syntax")
    if any(0xDC80 <= ord(ch) <= 0xDCFF for ch in result):
        return result.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return result
