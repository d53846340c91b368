"""What the compiler produces: compiled expressions and the objects they run with.

Every Bloblang expression compiles to a ``Compiled``: a closure ``fn(ctx, this) -> value`` plus
what callers need to know about it (its annotation for error texts, its value when constant, and a
recipe for ``codegen``). A statement compiles to ``fn(ctx, this) -> None``. Upstream walks a tree
of query functions per message; nothing here is walked or re-parsed per message.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from mapping_lang.context import CallContext
from mapping_lang.errors import EvalError
from mapping_lang.value import (
    JsonNumber,
)

# Upstream allows 5000 nested map calls. A level costs about five Python frames, so the limit here
# follows the interpreter's recursion limit (200 with Python's default of 1000) to fail with this
# clean error rather than a RecursionError; raise sys.setrecursionlimit to allow deeper maps.
MAX_MAP_DEPTH = 5000
_FRAMES_PER_MAP_LEVEL = 5


def map_depth_limit() -> int:
    return min(MAX_MAP_DEPTH, sys.getrecursionlimit() // _FRAMES_PER_MAP_LEVEL)


MISSING: Any = object()
NOT_CONST: Any = object()  # "not constant"

Fn = Callable[[CallContext, Any], Any]


class Unparsed:
    """Stands in for ``this`` when the payload is not JSON; any use raises the parse error."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error

    def fail(self, path: str) -> EvalError:
        return EvalError(f"unable to reference message as structured (with '{path}'): {self.error}")


class StatementError(EvalError):
    """A failed statement: the message carries the ``failed assignment (line N):`` prefix."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class Compiled:
    """A compiled expression: its closure, its annotation for error messages, its value when it is
    constant, whether each evaluation yields a new container (``fresh``: no copy needed before
    storing it) and, for the shapes that callers inline, ``shape`` (``("this", field)`` or
    ``("var", name)``).

    ``leaf`` is set when the value is a pure function of one metadata value: ``(read, derive)``
    with ``read(ctx, this)`` the metadata read and ``derive(ctx, this, v)`` the rest of the
    expression; such expressions are memoised per call site (see ``memoised``).

    ``gen`` is a recipe for ``mapping_lang.codegen``: the expression's parts, so that a whole
    mapping body can be written as one straight-line function that computes exactly what ``fn``
    computes (same values, same errors)."""

    __slots__ = ("fn", "ann", "const", "fresh", "shape", "leaf", "gen")

    def __init__(
        self,
        fn: Fn,
        ann: str | None = None,
        const: Any = NOT_CONST,
        fresh: bool = False,
        shape: tuple[str, str] | None = None,
        leaf: tuple[Fn, Callable[[CallContext, Any, Any], Any]] | None = None,
        gen: tuple[Any, ...] | None = None,
    ) -> None:
        self.fn = fn
        self.ann = ann
        self.const = const
        self.fresh = fresh
        self.shape = shape
        self.leaf = leaf
        # how ``codegen`` writes the expression inline (None: it calls ``fn``)
        self.gen = gen


def leaf_identity(ctx: CallContext, this: Any, v: Any) -> Any:
    return v


_MEMO_SIZE = 64
_MEMO_TYPES = frozenset({str, int, float, bool, type(None), JsonNumber})


def memoised(read: Fn, derive: Callable[[CallContext, Any, Any], Any]) -> Fn:
    """``derive(read())`` remembered per metadata text.

    Metadata such as a scrape interval or a resource type is usually the same for every message of
    a stream, and pure methods (never folded when impure) give the same result for the same input,
    so a chain like ``meta("interval").parse_duration() / 1e9`` runs once per distinct value.
    Only immutable results are kept, failures are never kept, and at most ``_MEMO_SIZE`` values."""
    cache: dict[str, Any] = {}

    def memo(ctx: CallContext, this: Any) -> Any:
        v = read(ctx, this)
        if type(v) is not str:
            return derive(ctx, this, v)
        r = cache.get(v, MISSING)
        if r is MISSING:
            r = derive(ctx, this, v)
            if type(r) in _MEMO_TYPES and len(cache) < _MEMO_SIZE:
                cache[v] = r
        return r

    return memo


def clone(v: Any) -> Any:
    """Deep copy of arrays/objects (scalars are immutable)."""
    t = type(v)
    if t is dict:
        return {k: (clone(x) if type(x) in (dict, list) else x) for k, x in v.items()}
    if t is list:
        return [clone(x) if type(x) in (dict, list) else x for x in v]
    return v


_FOLD_CTX: CallContext | None = None


def fold_ctx() -> CallContext:
    global _FOLD_CTX
    if _FOLD_CTX is None:
        _FOLD_CTX = CallContext()
    return _FOLD_CTX


def structured_or_unparsed(ctx: CallContext) -> Any:
    m = ctx.message
    if m is None:
        return Unparsed("message is empty")
    try:
        return m.structured()
    except ValueError as e:
        msg = str(e)
        return Unparsed(msg if msg == "message is empty" else f"parse as json: {msg}")
