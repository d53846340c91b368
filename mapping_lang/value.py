"""Bloblang values with Go semantics.

Runtime value kinds and their Python representation:

* string → ``str``; bytes → ``bytes``; bool → ``bool``; null → ``None``
* int64 → ``int`` (kept in int64 range with ``wrap_int64``); float64 → ``float``
* a number parsed from JSON whose lexeme is not a plain in-range int64 → ``JsonNumber``, a ``float``
  subclass carrying the original ``.lexeme`` (written back verbatim when serialised)
* timestamp → timezone-aware ``datetime.datetime`` (``Timestamp`` adds nanoseconds when needed)
* array → ``list``; object → ``dict`` (string keys)
* the markers ``DELETED`` (from ``deleted()``) and ``NOTHING`` (no value: unmatched ``if``/``match``,
  ``nothing()``, an unassigned root)

``parse_json``/``format_json`` are the engine's single JSON codec (Go ``encoding/json`` with
``UseNumber`` and HTML escaping off); they sit on every message's hot path.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json as _stdjson
import math
import re
from typing import Any

import orjson

from mapping_lang.gojson import message_error

__all__ = [
    "DELETED",
    "NOTHING",
    "JsonNumber",
    "Timestamp",
    "parse_json",
    "parse_json_pending",
    "settle_document",
    "format_json",
    "format_json_marshal",
    "to_text",
    "type_name",
    "is_number",
    "to_int64",
    "to_float",
    "wrap_int64",
    "format_float_g",
    "format_float_json",
    "format_timestamp",
    "values_equal",
    "compare",
    "INT64_MIN",
    "INT64_MAX",
    "UINT64_MAX",
]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return self._name


DELETED: Any = _Marker("DELETED")
NOTHING: Any = _Marker("NOTHING")


class JsonNumber(float):
    """A JSON number that keeps its lexeme (``1.0``, ``1e3``, ``12345678901234567890``)."""

    __slots__ = ("lexeme",)
    lexeme: str

    def __new__(cls, lexeme: str) -> JsonNumber:
        self = float.__new__(cls, lexeme)
        self.lexeme = lexeme
        return self

    def __repr__(self) -> str:
        return f"JsonNumber({self.lexeme!r})"

    def __reduce__(self) -> Any:
        return (JsonNumber, (self.lexeme,))

    def __copy__(self) -> JsonNumber:
        return self

    def __deepcopy__(self, memo: Any) -> JsonNumber:
        return self


class Timestamp(_dt.datetime):
    """A ``datetime`` with an extra nanosecond remainder (0-999) below its microseconds."""

    __slots__ = ("nanos",)
    nanos: int

    def __new__(cls, *args: Any, nanos: int = 0, **kwargs: Any) -> Timestamp:
        self = super().__new__(cls, *args, **kwargs)
        self.nanos = nanos
        return self

    @classmethod
    def from_datetime(cls, d: _dt.datetime, nanos: int = 0) -> Timestamp:
        return cls(d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, d.tzinfo, nanos=nanos)


# ---------------------------------------------------------------------------------------------
# numbers


def is_number(v: Any) -> bool:
    """True for int and float values (``bool`` is not a number)."""
    t = type(v)
    return t is int or t is float or t is JsonNumber or (isinstance(v, (int, float)) and t is not bool)


def wrap_int64(n: int) -> int:
    if INT64_MIN <= n <= INT64_MAX:
        return n
    return ((n + (1 << 63)) & UINT64_MAX) - (1 << 63)


def to_int64(v: Any) -> int:
    """A number as int64 (floats truncate toward zero, JSON lexemes parse as int first)."""
    t = type(v)
    if t is int:
        result: int = v  # narrowed by the type test above
        return result
    if t is JsonNumber:
        lex = v.lexeme
        try:
            return wrap_int64(int(lex))
        except ValueError:
            pass
    if t is float or t is JsonNumber:
        if v != v or v in (math.inf, -math.inf):
            return INT64_MIN
        return wrap_int64(int(v))
    if t is bool or not isinstance(v, (int, float)):
        raise TypeError(f"expected number value, got {type_name(v)}")
    return wrap_int64(int(v))


def to_float(v: Any) -> float:
    t = type(v)
    if t is float:
        result: float = v  # narrowed by the type test above
        return result
    if t is int or t is JsonNumber:
        return float(v)
    if t is bool or not isinstance(v, (int, float)):
        raise TypeError(f"expected number value, got {type_name(v)}")
    return float(v)


def normalise_number(v: Any) -> Any:
    """A JsonNumber as the int or float Go arithmetic would see."""
    if type(v) is JsonNumber:
        try:
            n = int(v.lexeme)
        except ValueError:
            return float(v)
        if INT64_MIN <= n <= INT64_MAX:
            return n
        return float(v)
    return v


_REPR_E = re.compile(r"^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$")


def _digits(x: float) -> tuple[str, str, int]:
    """Shortest round-trip decimal digits of a finite non-zero float: (sign, digits, exp) with
    value = 0.d1d2d3... × 10^exp (``exp`` is Go's ``dp``)."""
    r = repr(x)
    sign = ""
    if r[0] == "-":
        sign = "-"
        r = r[1:]
    if "e" in r:
        m, e = r.split("e")
        exp = int(e)
        if "." in m:
            a, b = m.split(".")
        else:
            a, b = m, ""
        digits = (a + b).rstrip("0")
        return sign, digits or "0", exp + len(a)
    a, _, b = r.partition(".")
    if b == "0":
        b = ""
    if a == "0":
        stripped = b.lstrip("0")
        return sign, stripped.rstrip("0"), -(len(b) - len(stripped))
    digits = (a + b).rstrip("0")
    return sign, digits, len(a)


def _fmt_e(sign: str, digits: str, dp: int, two_digit_exp: bool) -> str:
    e = dp - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    if e < 0:
        es = f"-{-e:02d}" if two_digit_exp else f"-{-e}"
    else:
        es = f"+{e:02d}"
    return f"{sign}{mant}e{es}"


def _fmt_f(sign: str, digits: str, dp: int) -> str:
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def format_float_g(x: float) -> str:
    """Go ``strconv.FormatFloat(x, 'g', -1, 64)`` (``%v`` of a float64)."""
    if x != x:
        return "NaN"
    if x == math.inf:
        return "+Inf"
    if x == -math.inf:
        return "-Inf"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign, digits, dp = _digits(float(x))
    e = dp - 1
    if e < -4 or e >= 6:
        return _fmt_e(sign, digits, dp, True)
    return _fmt_f(sign, digits, dp)


def format_float_json(x: float) -> str:
    """Go ``encoding/json`` float64 text; raises ``ValueError`` for NaN/Inf."""
    if x != x or x in (math.inf, -math.inf):
        raise ValueError(f"json: unsupported value: {format_float_g(x)}")
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    ax = abs(x)
    if 1e-6 <= ax < 1e16:
        # repr is plain decimal in [1e-4, 1e16); integral values print without the fraction.
        if ax >= 1e-4:
            r = float.__repr__(x)
            if r.endswith(".0"):
                return r[:-2]
            return r
    sign, digits, dp = _digits(float(x))
    if ax < 1e-6 or ax >= 1e21:
        return _fmt_e(sign, digits, dp, False)
    return _fmt_f(sign, digits, dp)


# ---------------------------------------------------------------------------------------------
# timestamps


def format_timestamp(t: _dt.datetime) -> str:
    """RFC 3339 with nanoseconds, trailing zeros trimmed, ``Z`` for UTC."""
    nanos = t.microsecond * 1000 + (getattr(t, "nanos", 0) or 0)
    s = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if nanos:
        s += "." + f"{nanos:09d}".rstrip("0")
    off = t.utcoffset()
    if off is None or not off:
        return s + "Z"
    total = int(off.total_seconds())
    sg = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{s}{sg}{total // 3600:02d}:{total % 3600 // 60:02d}"


# ---------------------------------------------------------------------------------------------
# JSON decoding

# Numbers orjson cannot give back exactly, and which therefore need the slow (exact) path: a float
# whose lexeme is not Go's canonical text for its value (``1.0``, ``1e3``, ``0.10``; Go keeps the
# lexeme), an integer outside int64, and the integer ``-0``. The fast path parses with orjson, walks
# the result once for its floats and out-of-range integers, and proves each float's lexeme canonical
# by finding its canonical text as a number token outside strings in the raw bytes.


def _parse_int(lexeme: str) -> Any:
    n = int(lexeme)
    if INT64_MIN <= n <= INT64_MAX and lexeme != "-0":
        return n
    return JsonNumber(lexeme)


def _parse_float(lexeme: str) -> Any:
    return JsonNumber(lexeme)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON; the error's text comes from gojson


_slow_decoder = _stdjson.JSONDecoder(
    parse_float=_parse_float, parse_int=_parse_int, parse_constant=_reject_constant, strict=True
)


def _scan(v: Any, specials: list[Any]) -> None:
    """Collect what orjson may have got wrong: floats, int zeros (``-0``?) and ints outside int64."""
    for x in v.values() if type(v) is dict else v:
        tx = type(x)
        if tx is str:
            continue
        if tx is int:
            if not 0 < x <= 9223372036854775807 and (x == 0 or x < -9223372036854775808 or x > 0):
                specials.append(x)
        elif tx is dict or tx is list:
            _scan(x, specials)
        elif tx is float:
            specials.append(x)


_DELIMS_BEFORE = frozenset(b":,[ \n\t\r")
_DELIMS_AFTER = frozenset(b",}] \n\t\r")
_NUMBER_TAIL = frozenset(b"0123456789.eE")

# float value -> its canonical lexeme, or b"" when no lexeme of it can be dropped safely
_canonical_cache: dict[float, bytes] = {}


def _canonical(f: float) -> bytes:
    c = _canonical_cache.get(f)
    if c is None:
        c = b""
        if f == f and f not in (math.inf, -math.inf) and f != int(f):
            text = format_float_json(f)
            # the float must also print as its lexeme in text contexts (`.string()`, `%v`)
            if text == format_float_g(f):
                c = text.encode()
        if len(_canonical_cache) > 4096:
            _canonical_cache.clear()
        _canonical_cache[f] = c
    return c


def _has_tokens(raw: bytes, text: bytes, k: int) -> bool:
    """Whether ``text`` appears at least ``k`` times in ``raw`` as a whole number token outside
    strings.

    ``raw`` has no backslash, so every quote delimits a string and a position is inside one iff an
    odd number of quotes precede it (equivalently follow it: valid JSON has an even number)."""
    size = len(text)
    end_all = len(raw)
    half = end_all >> 1
    rfind = raw.rfind
    count = raw.count
    end = end_all
    while True:
        i = rfind(text, 0, end)
        if i <= 0:
            return False
        j = i + size
        if (
            raw[i - 1] in _DELIMS_BEFORE
            and (j == end_all or raw[j] in _DELIMS_AFTER)
            and not (count(b'"', j) if i > half else count(b'"', 0, i)) & 1
        ):
            k -= 1
            if not k:
                return True
        end = i + size - 1


def _specials_exact(raw: bytes, specials: list[Any]) -> bool:
    """True when orjson's floats and ints in ``specials`` are what Go's decoder would keep."""
    wanted: dict[bytes, int] = {}
    zero = False
    for x in specials:
        if type(x) is int:
            if x:
                return False  # outside int64
            zero = True
            continue
        c = _canonical(x)
        if not c:
            return False
        wanted[c] = wanted.get(c, 0) + 1
    if zero and _has_negative_zero(raw):
        return False
    if wanted:
        if b"\\" in raw:
            return False  # quote parity cannot tell strings apart; rare enough for the slow path
        for c, k in wanted.items():
            if not _has_tokens(raw, c, k):
                return False
    return True


def _has_negative_zero(raw: bytes) -> bool:
    """Whether ``raw`` may hold the integer token ``-0`` (conservative: strings count too)."""
    start = 0
    end_all = len(raw)
    while True:
        i = raw.find(b"-0", start)
        if i < 0:
            return False
        j = i + 2
        if (j == end_all or raw[j] not in _NUMBER_TAIL) and i > 0 and raw[i - 1] in _DELIMS_BEFORE:
            return True
        start = j


def parse_json(data: bytes | str) -> Any:
    """Decode one JSON document like Go's decoder with ``UseNumber``."""
    if type(data) is bytes:
        raw = data
    elif isinstance(data, str):
        raw = data.encode()
    else:
        raw = bytes(data)
    if not raw:
        raise ValueError("message is empty")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _slow_parse(raw)
    t = type(value)
    if t is dict or t is list:
        specials: list[Any] = []
        _scan(value, specials)
        if specials and not _specials_exact(raw, specials):
            return _slow_parse(raw)
    elif t is float or t is int:
        return _slow_parse(raw)
    return value


# Lazy proof. A mapping usually reads a handful of scalars from a large document, and a string,
# bool, null or non-zero int64 that orjson returns is exactly what Go's decoder gives (only floats,
# integer zeros (``-0``?) and integers outside int64 can differ). ``parse_json_pending`` returns
# orjson's document unproven; the engine proves it (``settle_document``) the first time anything
# else is read from it: a float, a zero, a big int, a container or the document itself.

# Bound on containers (brackets, counted in strings too) for a pending document, so that settling
# it deep inside a mapping never meets the recursion limit in ``_scan`` or the stdlib decoder.
_PENDING_MAX_CONTAINERS = 200


def parse_json_pending(raw: bytes) -> tuple[Any, bool]:
    """``(document, proven)``: orjson's unproven document for an object or array with few
    containers, else ``parse_json(raw)`` (proven). Raises like ``parse_json``."""
    if type(raw) is bytes and raw:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _slow_parse(raw), True
        t = type(value)
        if (t is dict or t is list) and raw.count(b"{") + raw.count(b"[") <= _PENDING_MAX_CONTAINERS:
            return value, False
    return parse_json(raw), True


def settle_document(doc: Any, raw: bytes) -> None:
    """Make a ``parse_json_pending`` document exactly what ``parse_json(raw)`` gives, in place (its
    identity is kept: callers may hold it)."""
    specials: list[Any] = []
    _scan(doc, specials)
    if not specials or _specials_exact(raw, specials):
        return
    exact = _slow_parse(raw)
    if type(doc) is dict:
        doc.clear()
        doc.update(exact)
    else:
        doc[:] = exact


def _slow_parse(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    stripped = text.lstrip(" \t\r\n")
    try:
        value, end = _slow_decoder.raw_decode(stripped)
    except RecursionError:
        raise _syntax_error(raw, "exceeded max depth") from None
    except ValueError as e:
        raise _syntax_error(raw, str(e)) from None
    if stripped[end:].strip(" \t\r\n"):
        raise _syntax_error(raw, "message contains multiple valid documents")
    return value


def _syntax_error(raw: bytes, fallback: str) -> ValueError:
    """What upstream's message parse says about ``raw`` (Go's scanner, ``gojson``); ``fallback``
    where Go would accept what Python refused (nesting deeper than Python's recursion allows)."""
    return ValueError(message_error(raw) or fallback)


# ---------------------------------------------------------------------------------------------
# JSON encoding

_SORT = orjson.OPT_SORT_KEYS
_Fragment = orjson.Fragment


def _prep_float(x: float) -> Any:
    # orjson writes a non-integral float as Go does except in [1e-6, 1e-5) (it picks exponent form);
    # Go writes an integral float as its shortest digits without a fraction (`2`, not orjson's
    # `2.0`), which below 2**53 is the integer itself
    ax = x if x >= 0 else -x
    if 1e-5 <= ax < 9007199254740992.0:
        i = int(x)
        return i if i == x else x
    return _Fragment(format_float_json(x))


def _prep(v: Any) -> Any:
    """Turn a value into something orjson writes exactly as Go would (copying only what changes)."""
    t = type(v)
    if t is dict:
        out = None
        y: Any
        for k, x in v.items():
            tx = type(x)
            if tx is str or tx is int or tx is bool or x is None:
                continue
            if tx is float:  # _prep_float inlined (the common float results of arithmetic)
                if 1e-5 <= x < 9007199254740992.0 or -9007199254740992.0 < x <= -1e-5:
                    y = int(x)
                    if y != x:
                        continue
                else:
                    y = _Fragment(format_float_json(x))
            else:
                y = _prep(x)
            if y is not x:
                if out is None:
                    out = dict(v)
                out[k] = y
        if out is None:
            for k in v:
                if type(k) is not str:
                    return {str(k): _prep(x) for k, x in v.items()}
            return v
        return out
    if t is list:
        out_l = None
        for i, x in enumerate(v):
            tx = type(x)
            if tx is str or tx is int or tx is bool or x is None:
                continue
            y = _prep_float(x) if tx is float else _prep(x)
            if y is not x:
                if out_l is None:
                    out_l = list(v)
                out_l[i] = y
        return v if out_l is None else out_l
    if t is str or t is int or t is bool or v is None:
        return v
    if t is float:
        return _prep_float(v)
    if t is JsonNumber:
        return _Fragment(v.lexeme)
    if t is bytes or t is bytearray:
        return base64.b64encode(v).decode()
    if isinstance(v, _dt.datetime):
        return format_timestamp(v)
    if v is DELETED or v is NOTHING:
        return None
    if isinstance(v, int):  # subclasses
        return int(v)
    if isinstance(v, float):
        return _Fragment(format_float_json(float(v)))
    if isinstance(v, str):
        return str(v)
    if isinstance(v, dict):
        return {str(k): _prep(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_prep(x) for x in v]
    raise ValueError(f"json: unsupported type: {type(v).__name__}")


def _fix_specials(b: bytes) -> bytes:
    if b"\xe2\x80\xa8" in b:
        b = b.replace(b"\xe2\x80\xa8", b"\\u2028")
    if b"\xe2\x80\xa9" in b:
        b = b.replace(b"\xe2\x80\xa9", b"\\u2029")
    return b


def format_json(value: Any, *, pretty: bool = False) -> bytes:
    """Go ``encoding/json`` output with HTML escaping off (sorted keys, Go number text)."""
    if pretty:
        return _encode_pretty(value, 0, False).encode()
    t = type(value)
    if t is str:
        try:
            out = orjson.dumps(value)
        except TypeError:
            out = orjson.dumps(value.encode("utf-8", "replace").decode("utf-8", "replace"))
    else:
        try:
            out = orjson.dumps(_prep(value), option=_SORT)
        except TypeError as e:
            # lone surrogates, out-of-range ints or nesting deeper than orjson's limit
            why = str(e)
            if "str" in why or "int" in why or "ecursion" in why:
                try:
                    out = _encode_pretty(value, None, False).encode()
                except RecursionError:
                    raise ValueError("json: value is too deeply nested") from None
            else:
                raise ValueError(why) from None
    if b"\xe2" in out and b"\xe2\x80" in out:  # (memchr first: much faster)
        out = _fix_specials(out)
    return out


_ESC = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_ESC_HTML = dict(_ESC, **{"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
_NEEDS_ESC = re.compile(r'["\\\x00-\x1f\u2028\u2029\ud800-\udfff]')
_NEEDS_ESC_HTML = re.compile(r'["\\\x00-\x1f\u2028\u2029<>&\ud800-\udfff]')


def _esc_char(m: re.Match[str], table: dict[str, str]) -> str:
    c = m.group()
    r = table.get(c)
    if r is not None:
        return r
    if "\ud800" <= c <= "\udfff":
        return "\ufffd"
    return f"\\u{ord(c):04x}"


def _quote(s: str, html: bool) -> str:
    pat = _NEEDS_ESC_HTML if html else _NEEDS_ESC
    table = _ESC_HTML if html else _ESC
    return '"' + pat.sub(lambda m: _esc_char(m, table), s) + '"'


def _encode_pretty(v: Any, indent: int | None, html: bool) -> str:
    """Slow generic encoder: ``indent`` None → compact; else 4-space MarshalIndent style."""
    t = type(v)
    if v is None or v is DELETED or v is NOTHING:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is str or isinstance(v, str):
        return _quote(str(v), html)
    if t is JsonNumber:
        result: str = v.lexeme  # narrowed by the type test above
        return result
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return format_float_json(float(v))
    if isinstance(v, (bytes, bytearray)):
        return '"' + base64.b64encode(v).decode() + '"'
    if isinstance(v, _dt.datetime):
        return '"' + format_timestamp(v) + '"'
    if isinstance(v, dict):
        if not v:
            return "{}"
        keys = sorted(v, key=lambda k: str(k).encode("utf-8", "surrogatepass"))
        if indent is None:
            return (
                "{"
                + ",".join(_quote(str(k), html) + ":" + _encode_pretty(v[k], None, html) for k in keys)
                + "}"
            )
        pad = "    " * (indent + 1)
        items = [pad + _quote(str(k), html) + ": " + _encode_pretty(v[k], indent + 1, html) for k in keys]
        return "{\n" + ",\n".join(items) + "\n" + "    " * indent + "}"
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        if indent is None:
            return "[" + ",".join(_encode_pretty(x, None, html) for x in v) + "]"
        pad = "    " * (indent + 1)
        return (
            "[\n"
            + ",\n".join(pad + _encode_pretty(x, indent + 1, html) for x in v)
            + "\n"
            + "    " * indent
            + "]"
        )
    raise ValueError(f"json: unsupported type: {type(v).__name__}")


def format_json_marshal(value: Any) -> str:
    """Go ``json.Marshal`` (HTML escaping on), used when containers become text."""
    t = type(value)
    if t is dict or t is list:
        try:
            out = orjson.dumps(_prep(value), option=_SORT).decode()
        except TypeError:
            return _encode_pretty(value, None, True)
        if "<" in out or ">" in out or "&" in out or "\u2028" in out or "\u2029" in out:
            # only strings can hold these characters, so a text replace is exact
            out = (
                out.replace("<", "\\u003c")
                .replace(">", "\\u003e")
                .replace("&", "\\u0026")
                .replace("\u2028", "\\u2028")
                .replace("\u2029", "\\u2029")
            )
        return out
    return _encode_pretty(value, None, True)


# ---------------------------------------------------------------------------------------------
# text, types, comparison


def to_text(value: Any) -> str:
    """Go ``IToString``: the text of a value as ``.string()`` and interpolations see it."""
    result: str  # the value narrowed by a type test mypy cannot follow
    t = type(value)
    if t is str:
        result = value
        return result
    if t is int:
        return str(value)
    if t is float:
        return format_float_g(value)
    if t is JsonNumber:
        result = value.lexeme
        return result
    if t is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if t is bytes or t is bytearray:
        return bytes(value).decode("utf-8", errors="replace")
    if t is dict or t is list:
        return format_json_marshal(value)
    if isinstance(value, _dt.datetime):
        return format_timestamp(value)
    if value is DELETED:
        return "delete"
    if value is NOTHING:
        return "null"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return format_float_g(float(value))
    return format_json_marshal(value)


def type_name(value: Any) -> str:
    t = type(value)
    if t is str:
        return "string"
    if t is int or t is float or t is JsonNumber:
        return "number"
    if t is bool:
        return "bool"
    if value is None:
        return "null"
    if t is dict:
        return "object"
    if t is list:
        return "array"
    if t is bytes or t is bytearray:
        return "bytes"
    if isinstance(value, _dt.datetime):
        return "timestamp"
    if value is DELETED:
        return "delete"
    if value is NOTHING:
        return "nothing"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return "unknown"


def values_equal(a: Any, b: Any) -> bool:
    """Bloblang ``==`` (never fails)."""
    result: bool  # the value narrowed by a type test mypy cannot follow
    ta = type(a)
    tb = type(b)
    if ta is tb and (ta is str or ta is int or ta is bool):
        result = a == b
        return result
    if a is None or b is None:
        return a is None and b is None
    if ta is bool:
        if tb is bool:
            result = a == b
            return result
        if is_number(b):  # quirk: bool on the left coerces a number on the right
            result = a == (to_float(b) != 0)
            return result
        return False
    if tb is bool:
        return False
    if is_number(a):
        return is_number(b) and to_float(a) == to_float(b)
    if ta is str or ta is bytes or ta is bytearray:
        if tb is str:
            result = (a.decode("utf-8", "replace") if ta is not str else a) == b
            return result
        if tb is bytes or tb is bytearray:
            return (a.encode() if ta is str else bytes(a)) == bytes(b)
        if isinstance(b, _dt.datetime):
            return to_text(a) == format_timestamp(b)
        return False
    if isinstance(a, _dt.datetime):
        if isinstance(b, _dt.datetime):
            return a == b and getattr(a, "nanos", 0) == getattr(b, "nanos", 0)
        if tb is str:
            result = format_timestamp(a) == b
            return result
        return False
    if ta is list:
        if tb is not list or len(a) != len(b):
            return False
        return all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict:
        if tb is not dict or len(a) != len(b):
            return False
        for k, x in a.items():
            if k not in b or not values_equal(x, b[k]):
                return False
        return True
    return a is b


def compare(a: Any, b: Any) -> int:
    """Ordering for ``< <= > >=``: -1, 0 or 1; raises ``TypeError`` for incomparable kinds."""
    if is_number(a) and is_number(b):
        x = normalise_number(a)
        y = normalise_number(b)
        if type(x) is int and type(y) is int:
            return (x > y) - (x < y)
        fx, fy = float(x), float(y)
        return (fx > fy) - (fx < fy)
    ta, tb = type(a), type(b)
    if (ta is str or ta is bytes) and (tb is str or tb is bytes):
        x = a.encode() if ta is str else a
        y = b.encode() if tb is str else b
        result: int = (x > y) - (x < y)  # narrowed by the type test above
        return result
    if isinstance(a, _dt.datetime) and isinstance(b, _dt.datetime):
        return (a > b) - (a < b)
    raise TypeError("cannot compare")
