"""Number manipulation methods not in the core set: logarithms, trigonometry, powers and bitwise
operations. Results of the float functions are float64; bitwise results are int64."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mapping_lang.errors import TypeMismatch
from mapping_lang.library import Param, method
from mapping_lang.value import JsonNumber, to_int64, wrap_int64

CATEGORY = "Number Manipulation"


def _as_float(target: Any) -> float:
    t = type(target)
    if t is float:
        return target
    if t is int or t is JsonNumber:
        return float(target)
    raise TypeMismatch("number", target)


def _as_int(target: Any) -> int:
    t = type(target)
    if t is int:
        return target
    if t is float or t is JsonNumber:
        return to_int64(target)
    raise TypeMismatch("number", target)


_LN2_OVER_LN10 = 0.30102999566398119521373889472449302677
_INV_LN2 = 1.44269504088896340735992468100189214


def go_log10(x: float) -> float:
    """Go's ``math.Log10`` (``Log2(x) * Ln2/Ln10``), which differs from C's log10 in the last ulp."""
    if x <= 0 or math.isinf(x) or math.isnan(x):
        return math.log10(x) if x > 0 or math.isnan(x) else (-math.inf if x == 0 else math.nan)
    frac, exp = math.frexp(x)
    if frac == 0.5:
        return (exp - 1) * _LN2_OVER_LN10
    return (math.log(frac) * _INV_LN2 + exp) * _LN2_OVER_LN10


def _go_float(fn: Callable[[float], float], x: float) -> float:
    """Apply a math function the way Go's math package answers outside the domain."""
    try:
        return fn(x)
    except ValueError:
        if fn is math.log:
            return -math.inf if x == 0 else math.nan
        return math.nan
    except OverflowError:
        return math.inf


def _float_method(name: str, fn: Callable[[float], float], description: str) -> None:
    def impl(ctx: Any, target: Any) -> Any:
        return _go_float(fn, _as_float(target))

    method(name, category=CATEGORY, description=description)(impl)


_float_method("log", math.log, "Logarithm to base e.")
_float_method("log10", go_log10, "Logarithm to base 10.")
_float_method("sin", math.sin, "The sine of a number of radians.")
_float_method("cos", math.cos, "The cosine of a number of radians.")
_float_method("tan", math.tan, "The tangent of a number of radians.")


@method("pow", category=CATEGORY, params=[Param("exponent", "float", description="The exponent.")],
        description="Raises a number to the given exponent.")  # fmt: skip
def pow_method(ctx: Any, target: Any, exponent: float) -> Any:
    base = _as_float(target)
    try:
        return math.pow(base, float(exponent))
    except OverflowError:
        return math.inf if base > 0 or float(exponent) % 2 == 0 else -math.inf
    except ValueError:
        if base == 0:
            return math.inf
        return math.nan


def _bitwise_method(name: str, op: Callable[[int, int], int], description: str) -> None:
    def impl(ctx: Any, target: Any, value: int) -> Any:
        return wrap_int64(op(_as_int(target), int(value)))

    method(name, category=CATEGORY, params=[Param("value", "int", description="The operand.")],
           description=description)(impl)  # fmt: skip


_bitwise_method("bitwise_and", lambda a, b: a & b, "Bitwise AND of an integer with the argument.")
_bitwise_method("bitwise_or", lambda a, b: a | b, "Bitwise OR of an integer with the argument.")
_bitwise_method("bitwise_xor", lambda a, b: a ^ b, "Bitwise XOR of an integer with the argument.")
