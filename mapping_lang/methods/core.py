"""Language-level methods: error recovery, type coercion, and the core object/array toolkit.

``catch``, ``or``, ``from``, ``from_all`` and ``apply`` need the unevaluated target, so the compiler
implements them itself; they are registered here for argument binding and the catalogue.
"""

from __future__ import annotations

import functools
import math
import re
import struct
from typing import Any

from mapping_lang.compiled import clone
from mapping_lang.errors import BareError, EvalError, TypeMismatch
from mapping_lang.gostrconv import num_error, parse_float, parse_int, parse_uint
from mapping_lang.library import Param, method
from mapping_lang.value import (
    DELETED,
    INT64_MAX,
    INT64_MIN,
    NOTHING,
    UINT64_MAX,
    JsonNumber,
    is_number,
    normalise_number,
    to_float,
    to_text,
    type_name,
    values_equal,
)

GENERAL = "General"
COERCION = "Type Coercion"
NUMBERS = "Number Manipulation"
OBJECTS = "Object & Array Manipulation"


def _compiler_only(ctx: Any, target: Any, *args: Any) -> Any:
    raise EvalError("this method is implemented by the compiler")


for _name, _params in (
    ("catch", [Param("fallback", "query")]),
    ("or", [Param("fallback", "query")]),
    ("from", [Param("index", "int")]),
    ("from_all", []),
    ("apply", [Param("mapping", "string")]),
):
    method(_name, category=GENERAL, params=_params, impure=True)(_compiler_only)


@method("map", category=GENERAL, params=[Param("query", "query")])
def map_(ctx: Any, target: Any, query: Any) -> Any:
    return query(target)


@method("not", category=GENERAL)
def not_(ctx: Any, target: Any) -> Any:
    if type(target) is not bool:
        raise TypeMismatch("bool", target)
    return not target


# ---------------------------------------------------------------------------------------------
# type coercion


@method("type", category=COERCION)
def type_(ctx: Any, target: Any) -> Any:
    return type_name(target)


@method("string", category=COERCION)
def string(ctx: Any, target: Any) -> Any:
    return to_text(target)


@method("bytes", category=COERCION)
def bytes_(ctx: Any, target: Any) -> Any:
    if type(target) is bytes:
        return target
    if type(target) is str:
        return target.encode("utf-8", "surrogatepass")
    return to_text(target).encode("utf-8", "surrogatepass")


@method("not_null", category=COERCION)
def not_null(ctx: Any, target: Any) -> Any:
    if target is None:
        raise EvalError("value is null")
    return target


def _text_of(target: Any) -> str:
    return target.decode("utf-8", "replace") if type(target) is bytes else target


@method("number", category=COERCION, params=[Param("default", "float", optional=True)])
def number(ctx: Any, target: Any, default: Any = None) -> Any:
    # Go: value.IToNumber, which is IToFloat64 (strconv.ParseFloat on strings and bytes).
    if is_number(target):
        return to_float(target)
    if type(target) is str or type(target) is bytes:
        try:
            return parse_float(_text_of(target))
        except EvalError:
            if default is not None:
                return default
            raise
    if default is not None:
        return default
    raise TypeMismatch("number", target)


_FRACTION = (
    "float value contains decimals and therefore cannot be cast as {}, if you intend to round the "
    "value then call `.round()` explicitly before this cast"
)
_WIDTH = {32: "a 32-bit", 16: "a 16-bit", 8: "an 8-bit"}


def _to_int64(target: Any) -> int:
    """Go's value.IToInt."""
    t = type(target)
    if t is int:
        if target > INT64_MAX:
            raise EvalError("unsigned integer value is too large to be cast as a signed integer")
        return target
    if t is JsonNumber:  # json.Number.Int64: a base-10 strconv.ParseInt of the lexeme
        return parse_int_base10(target.lexeme)
    if t is float:
        if math.isinf(target):
            raise EvalError("cannot convert +/-INF to an integer")
        if math.isnan(target):
            raise EvalError("cannot convert NAN to an integer")
        if target > 9.223372036854775807e18:
            raise EvalError("float value is too large to be cast as a signed integer")
        if target < -9.223372036854775808e18:
            raise EvalError("float value is too small to be cast as a signed integer")
        if target != math.floor(target) or target == 9.223372036854775807e18:
            raise EvalError(_FRACTION.format("a signed integer"))
        return int(target)
    if t is str or t is bytes:
        return parse_int(_text_of(target))
    raise TypeMismatch("number", target)


def _to_uint64(target: Any) -> int:
    """Go's value.IToUint."""
    t = type(target)
    if t is int:
        if target < 0:
            raise EvalError("signed integer value is negative and cannot be cast as an unsigned integer")
        return target
    if t is JsonNumber:
        i = parse_int_base10(target.lexeme)
        if i < 0:
            raise EvalError("signed integer value is negative and cannot be cast as an unsigned integer")
        return i
    if t is float:
        if target < 0:
            raise EvalError("float value is negative and cannot be cast as an unsigned integer")
        if math.isinf(target):
            raise EvalError("cannot convert +/-INF to an unsigned integer")
        if math.isnan(target):
            raise EvalError("cannot convert NAN to an unsigned integer")
        if target > 1.8446744073709552e19:
            raise EvalError("float value is too large to be cast as an unsigned integer")
        if target != math.floor(target) or target == 1.8446744073709552e19:
            raise EvalError(_FRACTION.format("an unsigned integer"))
        return int(target)
    if t is str or t is bytes:
        return parse_uint(_text_of(target))
    raise TypeMismatch("number", target)


def parse_int_base10(lexeme: str) -> int:
    """strconv.ParseInt(s, 10, 64), as json.Number.Int64 calls it (no prefixes, no underscores)."""
    body = lexeme[1:] if lexeme[:1] in ("+", "-") else lexeme
    if not body or not body.isascii() or not body.isdigit():
        raise num_error("ParseInt", lexeme, "invalid syntax")
    v = int(lexeme)
    if not INT64_MIN <= v <= INT64_MAX:
        raise num_error("ParseInt", lexeme, "value out of range")
    return v


def _int_cast(bits: int, signed: bool) -> Any:
    width = _WIDTH.get(bits, "")
    kind = "signed" if signed else "unsigned"
    hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    lo = -(1 << (bits - 1)) if signed else 0

    def cast(ctx: Any, target: Any) -> Any:
        v = _to_int64(target) if signed else _to_uint64(target)
        if bits < 64:
            if v > hi:
                raise EvalError(f"value is too large to be cast as {width} {kind} integer")
            if v < lo:
                raise EvalError(f"value is too small to be cast as {width} {kind} integer")
        return v

    return cast


for _bits in (64, 32, 16, 8):
    method(f"int{_bits}", category=NUMBERS)(_int_cast(_bits, True))
    method(f"uint{_bits}", category=NUMBERS)(_int_cast(_bits, False))


def _float_cast(bits: int) -> Any:
    def cast(ctx: Any, target: Any) -> Any:
        if is_number(target):
            f = to_float(target)
        elif type(target) in (str, bytes):
            f = parse_float(_text_of(target), bits)
        else:
            raise TypeMismatch("number", target)
        if bits == 32:
            f = struct.unpack("f", struct.pack("f", f))[0]
            # float32 values print with float32 shortest digits
            return float(repr_float32(f))
        return f

    return cast


def repr_float32(f: float) -> str:
    if f == 0 or math.isinf(f) or math.isnan(f):
        return repr(f)
    for p in range(1, 18):
        s = f"{f:.{p}g}"
        if struct.unpack("f", struct.pack("f", float(s)))[0] == f:
            return s
    return repr(f)


method("float64", category=NUMBERS)(_float_cast(64))
method("float32", category=NUMBERS)(_float_cast(32))


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@method("bool", category=COERCION, params=[Param("default", "bool", optional=True)])
def bool_(ctx: Any, target: Any, default: Any = None) -> Any:
    t = type(target)
    if t is bool:
        return target
    if is_number(target):
        return to_float(target) != 0
    if t is str or t is bytes:
        s = target.decode("utf-8", "replace") if t is bytes else target
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        if default is not None:
            return default
        raise EvalError(f'strconv.ParseBool: parsing "{s}": invalid syntax')
    if default is not None:
        return default
    raise TypeMismatch(["bool", "number", "string"], target)


@method("array", category=COERCION)
def array(ctx: Any, target: Any) -> Any:
    return target if type(target) is list else [target]


# ---------------------------------------------------------------------------------------------
# numbers


def _num(target: Any) -> Any:
    if not is_number(target):
        raise TypeMismatch("number", target)
    return normalise_number(target)


def _int_or_float(f: float) -> Any:
    if math.isnan(f) or math.isinf(f):
        return f
    if -9.223372036854776e18 <= f < 9.223372036854776e18:
        return int(f)
    return f


@method("round", category=NUMBERS)
def round_(ctx: Any, target: Any) -> Any:
    n = _num(target)
    if type(n) is int:
        return n
    r = math.floor(abs(n) + 0.5)
    return _int_or_float(math.copysign(r, n))


@method("floor", category=NUMBERS)
def floor(ctx: Any, target: Any) -> Any:
    n = _num(target)
    if type(n) is int:
        return n
    return _int_or_float(float(math.floor(n)) if not (math.isinf(n) or math.isnan(n)) else n)


@method("ceil", category=NUMBERS)
def ceil(ctx: Any, target: Any) -> Any:
    n = _num(target)
    if type(n) is int:
        return n
    return _int_or_float(float(math.ceil(n)) if not (math.isinf(n) or math.isnan(n)) else n)


@method("abs", category=NUMBERS)
def abs_(ctx: Any, target: Any) -> Any:
    n = _num(target)
    if type(n) is int:
        if n == INT64_MIN:  # Go returns the largest int64 for the one value without a negation
            return INT64_MAX
        return -n if n < 0 else n
    return abs(n)


def _numbers_of(target: Any) -> list[float]:
    if type(target) is not list:
        raise TypeMismatch("array", target)
    out = []
    for i, v in enumerate(target):
        if not is_number(v):
            raise EvalError(f"index {i}: {TypeMismatch('number', v).render(None)}")
        out.append(to_float(v))
    return out


@method("min", category=NUMBERS)
def min_(ctx: Any, target: Any) -> Any:
    vals = _numbers_of(target)
    if not vals:
        raise EvalError("the array was empty")
    return min(vals)


@method("max", category=NUMBERS)
def max_(ctx: Any, target: Any) -> Any:
    vals = _numbers_of(target)
    if not vals:
        raise EvalError("the array was empty")
    return max(vals)


@method("sum", category=OBJECTS)
def sum_(ctx: Any, target: Any) -> Any:
    if is_number(target):
        return normalise_number(target)
    if type(target) is not list:
        raise TypeMismatch(["number", "array"], target)
    total = 0.0
    for i, v in enumerate(target):
        if not is_number(v):
            raise EvalError(f"index {i}: {TypeMismatch('number', v).render(None)}")
        total += to_float(v)
    return total


# ---------------------------------------------------------------------------------------------
# objects and arrays


def _split_path(path: str) -> list[str]:
    """gabs.DotPathToSlice: an empty path is one empty key, not the value itself."""
    return [s.replace("~1", ".").replace("~0", "~") for s in path.split(".")]


_GO_ATOI = re.compile(r"[+-]?[0-9]+\Z")


def _get_path(v: Any, segs: list[str]) -> tuple[bool, Any]:
    for s in segs:
        if type(v) is dict:
            if s not in v:
                return False, None
            v = v[s]
        elif type(v) is list:
            if s == "*":
                # wildcard: map the rest of the path over the elements
                rest = segs[segs.index(s) + 1 :]
                out = []
                for el in v:
                    ok, x = _get_path(el, rest)
                    if ok:
                        out.append(x)
                return True, out
            if not _GO_ATOI.match(s) or not 0 <= int(s) < len(v):  # strconv.Atoi, in range
                return False, None
            v = v[int(s)]
        else:
            return False, None
    return True, v


@method("exists", category=OBJECTS, params=[Param("path", "string")])
def exists(ctx: Any, target: Any, path: str) -> Any:
    return _get_path(target, _split_path(path))[0]


@method("get", category=OBJECTS, params=[Param("path", "string")])
def get(ctx: Any, target: Any, path: str) -> Any:
    return _get_path(target, _split_path(path))[1]


@method("keys", category=OBJECTS)
def keys(ctx: Any, target: Any) -> Any:
    if type(target) is not dict:
        raise TypeMismatch("object", target)
    return sorted(target)


@method("values", category=OBJECTS)
def values(ctx: Any, target: Any) -> Any:
    if type(target) is not dict:
        raise TypeMismatch("object", target)
    return list(target.values())


@method("length", category="String Manipulation")
def length(ctx: Any, target: Any) -> Any:
    t = type(target)
    if t is str:
        return len(target.encode("utf-8", "surrogatepass"))
    if t is bytes or t is list or t is dict:
        return len(target)
    raise TypeMismatch(["string", "bytes", "array", "object"], target)


@method("map_each", category=OBJECTS, params=[Param("query", "query")])
def map_each(ctx: Any, target: Any, query: Any) -> Any:
    t = type(target)
    if t is list:
        out = []
        for i, el in enumerate(target):
            try:
                v = query(el)
            except EvalError as e:
                raise EvalError(f"failed to process element {i}: {e}") from None
            if v is DELETED:
                continue
            out.append(el if v is NOTHING else v)
        return out
    if t is dict:
        out_d = {}
        for k, el in target.items():
            try:
                v = query({"key": k, "value": el})
            except EvalError as e:
                raise EvalError(f"failed to process element {k}: {e}") from None
            if v is DELETED:
                continue
            out_d[k] = el if v is NOTHING else v
        return out_d
    raise TypeMismatch(["object", "array"], target)


@method("filter", category=OBJECTS, params=[Param("test", "query")])
def filter_(ctx: Any, target: Any, test: Any) -> Any:
    t = type(target)
    if t is list:
        return [el for el in target if test(el) is True]
    if t is dict:
        return {k: v for k, v in target.items() if test({"key": k, "value": v}) is True}
    raise TypeMismatch(["array", "object"], target)


@method("fold", category=OBJECTS, params=[Param("initial", "any"), Param("query", "query")])
def fold(ctx: Any, target: Any, initial: Any, query: Any) -> Any:
    if type(target) is not list:
        raise TypeMismatch("array", target)
    tally = initial
    for el in target:
        tally = query({"tally": tally, "value": el})
    return tally


@method("all", category=OBJECTS, params=[Param("test", "query")])
def all_(ctx: Any, target: Any, test: Any) -> Any:
    if type(target) is not list:
        raise TypeMismatch("array", target)
    if not target:
        return False
    for i, el in enumerate(target):
        v = test(el)
        if type(v) is not bool:
            raise EvalError(f"element {i}: {TypeMismatch('bool', v).render(None)}")
        if not v:
            return False
    return True


@method("any", category=OBJECTS, params=[Param("test", "query")])
def any_(ctx: Any, target: Any, test: Any) -> Any:
    if type(target) is not list:
        raise TypeMismatch("array", target)
    for i, el in enumerate(target):
        v = test(el)
        if type(v) is not bool:
            raise EvalError(f"element {i}: {TypeMismatch('bool', v).render(None)}")
        if v:
            return True
    return False


def _copy(v: Any) -> Any:
    return clone(v)


@method("with", category=OBJECTS, params=[Param("*paths", "string")])
def with_(ctx: Any, target: Any, *paths: str) -> Any:
    if type(target) is not dict:
        raise TypeMismatch("object", target)
    out: dict[str, Any] = {}
    for p in paths:
        segs = _split_path(p)
        ok, v = _get_path(target, segs)
        if not ok or not segs:
            continue
        cur = out
        for s in segs[:-1]:
            nxt = cur.get(s)
            if type(nxt) is not dict:
                nxt = cur[s] = {}
            cur = nxt
        cur[segs[-1]] = _copy(v)
    return out


def _without(v: Any, segs: list[str]) -> Any:
    if not segs or type(v) is not dict:
        return v
    head = segs[0]
    if head not in v:
        return v
    out = dict(v)
    if len(segs) == 1:
        del out[head]
    else:
        out[head] = _without(v[head], segs[1:])
    return out


@method("without", category=OBJECTS, params=[Param("*paths", "string")])
def without(ctx: Any, target: Any, *paths: str) -> Any:
    if type(target) is not dict:
        raise TypeMismatch("object", target)
    out = target
    for p in paths:
        out = _without(out, _split_path(p))
    return _copy(out)


def merge_values(a: Any, b: Any) -> Any:
    """Upstream ``merge``: objects merge recursively, arrays concatenate, clashes become arrays."""
    if type(a) is dict and type(b) is dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = merge_values(out[k], v) if k in out else v
        return out
    if type(a) is list:
        return a + (b if type(b) is list else [b])
    if type(b) is list:
        return [a] + b
    return [a, b]


def assign_values(a: Any, b: Any) -> Any:
    """gabs MergeFn with an overriding collision: objects merge key by key, anything else that
    collides (arrays too) is replaced."""
    if type(a) is dict and type(b) is dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = assign_values(out[k], v) if k in out else v
        return out
    return b


def _merge_like(name: str, combine: Any) -> Any:
    def impl(ctx: Any, target: Any, with_: Any) -> Any:
        # Upstream: an array target takes the argument appended (or concatenated); an object
        # target is merged with an object argument and unchanged by anything else; any other
        # target is a type error.
        if type(target) is list:
            return _copy([*target, *with_] if type(with_) is list else [*target, with_])
        if type(target) is not dict:
            raise TypeMismatch(["object", "array"], target)
        if type(with_) is not dict:
            return _copy(target)
        return _copy(combine(target, with_))

    impl.__name__ = name
    return impl


method("merge", category=OBJECTS, params=[Param("with", "any")])(_merge_like("merge", merge_values))
method("assign", category=OBJECTS, params=[Param("with", "any")])(_merge_like("assign", assign_values))


def _sort_key_check(values: list[Any]) -> None:
    if all(is_number(v) for v in values) or all(type(v) is str for v in values):
        return
    for i, v in enumerate(values):
        if not (is_number(v) or type(v) is str):
            raise EvalError(f"index {i}: {TypeMismatch(['number', 'string'], v).render(None)}")
    raise EvalError("cannot sort values of mixed types")


def _cmp_sort(values: list[Any], less: Any) -> list[Any]:
    def cmp(a: Any, b: Any) -> int:
        v = less({"left": a, "right": b})
        if type(v) is not bool:
            raise TypeMismatch("bool", v)
        if v:
            return -1
        w = less({"left": b, "right": a})
        return 1 if w is True else 0

    return sorted(values, key=functools.cmp_to_key(cmp))


def _sort_kind(v: Any) -> str | None:
    t = type(v)
    if t is int or t is float or t is JsonNumber:
        return "number"
    if t is str or t is bytes:
        return "string"
    return None


def _sort_key(v: Any, kind: str) -> Any:
    if kind == "number":
        return to_float(v)
    return v.encode("utf-8", "surrogatepass") if type(v) is str else bytes(v)


def _go_less(keys: list[Any], i: int, j: int, what: str) -> bool:
    """Upstream's comparator: the type of element i picks number (as float64) or string
    comparison, and element j must convert to it."""
    kind = _sort_kind(keys[i])
    if kind is None:
        raise BareError(f"{what} element {i}: {TypeMismatch(['number', 'string'], keys[i]).render(None)}")
    if _sort_kind(keys[j]) != kind:
        raise BareError(f"{what} element {j}: {TypeMismatch(kind, keys[j]).render(None)}")
    return bool(_sort_key(keys[i], kind) < _sort_key(keys[j], kind))


def _go_sort(values: list[Any], keys: list[Any], what: str) -> list[Any]:
    """Go's sort.Slice: up to 12 elements an insertion sort (so the first failing comparison and
    the order of equal keys are Go's); longer arrays are checked for one kind, then sorted by key
    (equal keys may be ordered differently from Go's unstable pdqsort)."""
    n = len(values)
    if n <= 12:
        vals, ks = list(values), list(keys)
        for i in range(1, n):
            j = i
            while j > 0 and _go_less(ks, j, j - 1, what):
                ks[j], ks[j - 1] = ks[j - 1], ks[j]
                vals[j], vals[j - 1] = vals[j - 1], vals[j]
                j -= 1
        return vals
    kinds = {_sort_kind(k) for k in keys}
    if len(kinds) != 1 or None in kinds:
        for i in range(1, n):
            _go_less(keys, i, 0, what)
            _go_less(keys, 0, i, what)
    kind = next(iter(kinds))
    order = sorted(range(n), key=lambda i: _sort_key(keys[i], kind))  # type: ignore[arg-type]
    return [values[i] for i in order]


@method("sort", category=OBJECTS, params=[Param("compare", "query", optional=True)])
def sort(ctx: Any, target: Any, compare_: Any = None) -> Any:
    if type(target) is not list:
        raise TypeMismatch("array", target)
    if compare_ is not None:
        return _cmp_sort(list(target), compare_)
    return _go_sort(target, target, "sort")


@method("sort_by", category=OBJECTS, params=[Param("query", "query")])
def sort_by(ctx: Any, target: Any, query: Any) -> Any:
    if type(target) is not list:
        raise TypeMismatch("array", target)
    return _go_sort(target, [query(v) for v in target], "sort_by")


@method("unique", category=OBJECTS, params=[Param("emit", "query", optional=True)])
def unique(ctx: Any, target: Any, emit: Any = None) -> Any:
    if type(target) is not list:
        raise TypeMismatch("array", target)
    seen: list[Any] = []
    out = []
    for v in target:
        k = emit(v) if emit is not None else v
        if type(k) not in (str, int, float, JsonNumber, bool) and not is_number(k):
            raise TypeMismatch(["string", "number"], k)
        key = (type_name(k), k if type(k) is str else to_float(k) if is_number(k) else k)
        if key in seen:
            continue
        seen.append(key)
        out.append(v)
    return out


@method("flatten", category=OBJECTS)
def flatten(ctx: Any, target: Any) -> Any:
    if type(target) is not list:
        raise TypeMismatch("array", target)
    out = []
    for v in target:
        if type(v) is list:
            out.extend(v)
        else:
            out.append(v)
    return out


def _collapse(v: Any, prefix: str, out: dict[str, Any], include_empty: bool) -> None:
    t = type(v)
    if t is dict:
        if not v:
            if include_empty and prefix:
                out[prefix] = {}
            return
        for k, x in v.items():
            _collapse(x, f"{prefix}.{k}" if prefix else k, out, include_empty)
    elif t is list:
        if not v:
            if include_empty and prefix:
                out[prefix] = []
            return
        for i, x in enumerate(v):
            _collapse(x, f"{prefix}.{i}" if prefix else str(i), out, include_empty)
    else:
        out[prefix] = v


@method("collapse", category=OBJECTS, params=[Param("include_empty", "bool", False)])
def collapse(ctx: Any, target: Any, include_empty: bool) -> Any:
    out: dict[str, Any] = {}
    _collapse(target, "", out, include_empty)
    return out


@method("explode", category=OBJECTS, params=[Param("path", "string")])
def explode(ctx: Any, target: Any, path: str) -> Any:
    segs = _split_path(path)
    _, v = _get_path(target, segs)

    def with_value(x: Any) -> Any:
        doc = _copy(target)
        if not segs:
            return x
        cur = doc
        for s in segs[:-1]:
            nxt = cur.get(s) if type(cur) is dict else None
            if type(nxt) is not dict:
                nxt = cur[s] = {}
            cur = nxt
        cur[segs[-1]] = x
        return doc

    if type(v) is list:
        return [with_value(x) for x in v]
    if type(v) is dict:
        return {k: with_value(x) for k, x in v.items()}
    raise TypeMismatch(["array", "object"], v)


@method("index", category=OBJECTS, params=[Param("index", "int")])
def index(ctx: Any, target: Any, index: int) -> Any:
    t = type(target)
    if t is not list and t is not bytes:
        raise TypeMismatch(["array", "bytes"], target)
    i = index + len(target) if index < 0 else index
    if not 0 <= i < len(target):
        raise EvalError(f"index '{index}' was out of bounds for array size: {len(target)}")
    return target[i]


def _check_slice(low: int, high: Any = None) -> tuple[Any, ...]:
    if high is not None and high > 0 and low >= high:
        raise EvalError(f"lower slice bound {low} must be lower than upper ({high})")
    return (low, high)


@method("slice", category=OBJECTS, params=[Param("low", "int"), Param("high", "int", optional=True)],
        prepare=_check_slice)  # fmt: skip
def slice_(ctx: Any, target: Any, low: int, high: Any = None) -> Any:
    _check_slice(low, high)
    t = type(target)
    if t is str:
        data: Any = target.encode("utf-8", "surrogatepass")
    elif t is list or t is bytes:
        data = target
    else:
        raise TypeMismatch(["array", "string", "bytes"], target)
    n = len(data)
    # Go's bounds: a negative high counts from the end, high is clamped to [0, n]; a negative low
    # counts from the end (floored at 0), a positive low is not clamped
    hi = n if high is None else (n + high if high < 0 else high)
    hi = min(max(hi, 0), n)
    lo = max(n + low, 0) if low < 0 else low
    if lo > hi:
        raise EvalError(
            f"lower slice bound {lo} must be lower than or equal to upper bound ({hi}) and target length ({n})"
        )
    out = data[lo:hi]
    if t is str:
        return out.decode("utf-8", "replace")
    return out


@method("contains", category=OBJECTS, params=[Param("value", "any")])
def contains(ctx: Any, target: Any, value: Any) -> Any:
    t = type(target)
    if t is str:
        return to_text(value) in target
    if t is bytes:
        needle = value if type(value) is bytes else to_text(value).encode()
        return needle in target
    if t is list:
        return any(values_equal(v, value) for v in target)
    if t is dict:
        return any(values_equal(v, value) for v in target.values())
    raise TypeMismatch(["array", "object", "string"], target)


_ = (INT64_MAX, UINT64_MAX)
