"""Value operations the compiled closures run: path reads, arithmetic and comparison operators,
truthiness, and Go's type names for error texts.

Arithmetic follows upstream's ``query`` package: int64 with wrap-around where Go wraps, float64
otherwise, and the same "cannot add types" wording on a mismatch.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable
from typing import Any

from mapping_lang.compiled import (
    NOT_CONST,
    Compiled,
    Fn,
)
from mapping_lang.context import CallContext
from mapping_lang.errors import EvalError, MappingError, TypeMismatch
from mapping_lang.value import (
    INT64_MAX,
    INT64_MIN,
    JsonNumber,
    compare,
    is_number,
    normalise_number,
    to_float,
    to_int64,
    to_text,
    type_name,
    values_equal,
    wrap_int64,
)


def go_type(v: Any) -> str:
    t = type(v)
    if t is bool:
        return "bool"
    if t is int:
        return "int64"
    if t is float:
        return "float64"
    if t is JsonNumber:
        return "json.Number"
    if t is str:
        return "string"
    if v is None:
        return "<nil>"
    if t is dict:
        return "map[string]interface {}"
    if t is list:
        return "[]interface {}"
    if t is bytes:
        return "[]uint8"
    return type_name(v)


def literal_ann(v: Any) -> str:
    return f"{type_name(v)} literal"


def escaped_path(base: str, segments: list[str]) -> str:
    parts = [base] + [s.replace("~", "~0").replace(".", "~1") for s in segments]
    return ".".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------------
# path access


def get_seg(v: Any, seg: str) -> Any:
    t = type(v)
    if t is dict:
        return v.get(seg)
    if t is list:
        if seg.isdigit():
            i = int(seg)
            return v[i] if i < len(v) else None
        return None
    return None


def pending_read(ctx: CallContext, this: Any, v: Any, again: Fn) -> Any:
    """``v``, read from ``this`` while the input document is not yet proven exact: kept when it
    cannot differ from Go's value (a string, bool, null or non-zero int64) or when ``this`` is not
    the pending document; else the document is settled and the read done ``again``."""
    if this is not ctx.pending:
        return v
    t = type(v)
    if t is bool or v is None or t is str or (t is int and v and INT64_MIN <= v <= INT64_MAX):
        return v
    ctx.settle()
    return again(ctx, this)


def make_getter(segments: list[str]) -> Callable[[Any], Any]:
    n = len(segments)
    if n == 0:
        return lambda v: v
    if n == 1:
        (s0,) = segments

        def g1(v: Any) -> Any:
            if type(v) is dict:
                return v.get(s0)
            return get_seg(v, s0)

        return g1
    if n == 2:
        s0, s1 = segments

        def g2(v: Any) -> Any:
            v = v.get(s0) if type(v) is dict else get_seg(v, s0)
            if type(v) is dict:
                return v.get(s1)
            return get_seg(v, s1)

        return g2
    segs = tuple(segments)

    def gn(v: Any) -> Any:
        for s in segs:
            if type(v) is dict:
                v = v.get(s)
            else:
                v = get_seg(v, s)
                if v is None:
                    return None
        return v

    return gn


# ---------------------------------------------------------------------------------------------
# operators


def _num_pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    if not (is_number(a) and is_number(b)):
        return None
    a = normalise_number(a)
    b = normalise_number(b)
    if type(a) is float or type(b) is float:
        return float(a), float(b)
    return a, b


def _op_error(verb: str, a: Any, la: Compiled, b: Any, lb: Compiled) -> EvalError:
    return EvalError(
        f"cannot {verb} types {type_name(a)} (from {la.ann or 'expression'}) and "
        f"{type_name(b)} (from {lb.ann or 'expression'})"
    )


def arith_op(op: str, left: Compiled, right: Compiled) -> Callable[[Any, Any], Any]:
    if op == "+":

        def add(a: Any, b: Any) -> Any:
            ta, tb = type(a), type(b)
            if ta is int and tb is int:
                r = a + b
                return r if -9223372036854775808 <= r <= 9223372036854775807 else wrap_int64(r)
            if ta is str or ta is bytes:
                if tb is str or tb is bytes:
                    return (a.decode("utf-8", "replace") if ta is bytes else a) + (
                        b.decode("utf-8", "replace") if tb is bytes else b
                    )
                raise _op_error("add", a, left, b, right)
            p = _num_pair(a, b)
            if p is None:
                raise _op_error("add", a, left, b, right)
            x, y = p
            return x + y if type(x) is float else wrap_int64(x + y)

        return add
    if op in ("-", "*"):
        verb = "subtract" if op == "-" else "multiply"
        sub = op == "-"

        def arith(a: Any, b: Any) -> Any:
            ta, tb = type(a), type(b)
            if ta is int and tb is int:
                return wrap_int64(a - b if sub else a * b)
            p = _num_pair(a, b)
            if p is None:
                raise _op_error(verb, a, left, b, right)
            x, y = p
            r = x - y if sub else x * y
            return r if type(r) is float else wrap_int64(r)

        return arith
    if op == "/":

        def div(a: Any, b: Any) -> Any:
            if not (is_number(a) and is_number(b)):
                raise _op_error("divide", a, left, b, right)
            y = to_float(b)
            if y == 0:
                raise EvalError(f"{right.ann or 'expression'}: attempted to divide by zero")
            return to_float(a) / y

        return div
    if op == "%":

        def mod(a: Any, b: Any) -> Any:
            if not (is_number(a) and is_number(b)):
                raise _op_error("modulo", a, left, b, right)
            x = to_int64(a)
            y = to_int64(b)
            if y == 0:
                raise EvalError(f"{right.ann or 'expression'}: attempted to divide by zero")
            r = abs(x) % abs(y)
            return wrap_int64(-r if x < 0 else r)

        return mod
    if op == "==":
        return values_equal
    if op == "!=":
        return lambda a, b: not values_equal(a, b)
    if op in ("<", "<=", ">", ">="):
        check = {
            "<": lambda c: c < 0,
            "<=": lambda c: c <= 0,
            ">": lambda c: c > 0,
            ">=": lambda c: c >= 0,
        }[op]

        def cmp(a: Any, b: Any) -> bool:
            ta, tb = type(a), type(b)
            if (ta is int and tb is int) or (ta is float and tb is float):
                c = (a > b) - (a < b)
            else:
                try:
                    c = compare(a, b)
                except TypeError:
                    raise _op_error("compare", a, left, b, right) from None
            return check(c)

        return cmp
    raise MappingError(f"unknown operator {op}")


_PY_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def fast_arith(op: str, lf: Fn, rf: Fn, rconst: Any, impl: Callable[[Any, Any], Any]) -> Fn | None:
    """``+ - * /`` on plain ints and floats inline; anything else goes through ``impl``.

    Python's float arithmetic is IEEE binary64 like Go's, and int with float converts the int
    exactly as ``float64(int64)`` does; int results wrap to int64."""
    if op == "/":
        if rconst is not NOT_CONST:
            if type(rconst) not in (int, float) or not rconst:
                return None
            cf = float(rconst)

            def div_c(ctx: CallContext, this: Any) -> Any:
                a = lf(ctx, this)
                ta = type(a)
                if ta is float or ta is int:
                    return float(a) / cf
                return impl(a, rconst)

            return div_c

        def div(ctx: CallContext, this: Any) -> Any:
            a = lf(ctx, this)
            b = rf(ctx, this)
            ta = type(a)
            tb = type(b)
            if (ta is float or ta is int) and (tb is float or tb is int) and b:
                return float(a) / float(b)
            return impl(a, b)

        return div
    pyop = _PY_OPS.get(op)
    if pyop is None:
        return None
    if op == "+" and rconst is not NOT_CONST and type(rconst) is str:
        s = rconst

        def concat_c(ctx: CallContext, this: Any) -> Any:
            a = lf(ctx, this)
            if type(a) is str:
                return a + s
            return impl(a, s)

        return concat_c

    def arith(ctx: CallContext, this: Any) -> Any:
        a = lf(ctx, this)
        b = rf(ctx, this) if rconst is NOT_CONST else rconst
        ta = type(a)
        tb = type(b)
        if ta is float:
            if tb is float or tb is int:
                return pyop(a, b)
        elif ta is int:
            if tb is int:
                r = pyop(a, b)
                return r if -9223372036854775808 <= r <= 9223372036854775807 else wrap_int64(r)
            if tb is float:
                return pyop(a, b)
        elif ta is str and tb is str and op == "+":
            return a + b
        return impl(a, b)

    return arith


def truthy(v: Any, c: Compiled) -> bool:
    if v is True:
        return True
    if v is False:
        return False
    if is_number(v):
        return to_float(v) != 0
    raise EvalError(TypeMismatch("bool", v).render(c.ann))


def closest_name(name: str, options: list[str]) -> str | None:
    m = difflib.get_close_matches(name, options, n=1)
    return m[0] if m else None


def show_value(v: Any) -> str:
    return to_text(v)
