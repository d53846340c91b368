"""The errors of the mapping language.

``MappingError`` is the one public error: parse/compile errors and runtime failures of a mapping.
``EvalError`` is what function and method implementations raise (upstream wording, no position);
the compiler wraps it into upstream's messages (``failed assignment (line 1): ...``).
"""

from __future__ import annotations

from mapping_lang.value import JsonNumber, to_text, type_name


class MappingError(Exception):
    """A mapping failed to compile or to run. ``line``/``column`` are 1-based (None if unknown)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return self.message


class EvalError(Exception):
    """Raised by function/method implementations with upstream's wording (no position)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BareError(EvalError):
    """An error upstream's method returns as it is, without the annotation of its target (the
    comparators of ``sort``/``sort_by`` do this)."""


class TypeMismatch(EvalError):
    """A value of the wrong type reached an operator, method or function.

    ``expected`` lists the accepted type names; ``value`` is the offending value. The compiler adds
    the annotation of the expression that produced it (``from field `this.a```).
    """

    def __init__(self, expected: list[str] | tuple[str, ...] | str, value: object) -> None:
        if isinstance(expected, str):
            expected = [expected]
        self.expected = list(expected)
        self.value = value
        self.annotation: str | None = None
        super().__init__(f"expected {_join_or(self.expected)} value, got {type_name(value)}")

    def render(self, annotation: str | None) -> str:
        v = self.value
        msg = f"expected {_join_or(self.expected)} value, got {type_name(v)}"
        if annotation:
            msg += f" from {annotation}"
        if isinstance(v, str):
            msg += f' ("{v}")'
        elif isinstance(v, (bool, int, float, JsonNumber)):
            msg += f" ({to_text(v)})"
        return msg


def _join_or(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]
