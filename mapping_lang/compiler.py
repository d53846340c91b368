"""AST → nested Python closures.

Every expression becomes ``fn(ctx, this) -> value`` (``ctx`` is the per-execution
``CallContext``; ``this`` the current query context) and every statement ``fn(ctx, this) -> None``.
Nothing is re-parsed or walked per message: paths are pre-split, literals pre-built, pure method
calls on literals folded, and function/method arguments bound once at compile time.
"""

from __future__ import annotations

import operator
import os
import sys
from collections.abc import Callable
from typing import Any

from mapping_lang import library
from mapping_lang.context import CallContext
from mapping_lang.errors import EvalError, MappingError, TypeMismatch
from mapping_lang.functions.core import _meta_text as _core_meta_text
from mapping_lang.functions.core import meta as _core_meta
from mapping_lang.parser import (
    ArrayLit,
    Assign,
    BinOp,
    Call,
    Capture,
    IfExpr,
    IfStmt,
    Lambda,
    Literal,
    MapDef,
    Match,
    MetaRef,
    ObjectLit,
    Path,
    Program,
    Unary,
    VarRef,
    _From,
    _Import,
    _RawIf,
    parse,
)
from mapping_lang.parser import (
    _expr as _as_expr,
)
from mapping_lang.value import (
    DELETED,
    INT64_MAX,
    INT64_MIN,
    NOTHING,
    JsonNumber,
    compare,
    is_number,
    normalise_number,
    to_float,
    to_int64,
    type_name,
    values_equal,
    wrap_int64,
)

# Upstream allows 5000 nested map calls. A level costs about five Python frames, so the limit here
# follows the interpreter's recursion limit (200 with Python's default of 1000) to fail with this
# clean error rather than a RecursionError; raise sys.setrecursionlimit to allow deeper maps.
MAX_MAP_DEPTH = 5000
_FRAMES_PER_MAP_LEVEL = 5


def _map_depth_limit() -> int:
    return min(MAX_MAP_DEPTH, sys.getrecursionlimit() // _FRAMES_PER_MAP_LEVEL)


_MISSING: Any = object()
_NC: Any = object()  # "not constant"

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
    expression; such expressions are memoised per call site (see ``_memoised``).

    ``gen`` is a recipe for ``mapping_lang.codegen``: the expression's parts, so that a whole
    mapping body can be written as one straight-line function that computes exactly what ``fn``
    computes (same values, same errors)."""

    __slots__ = ("fn", "ann", "const", "fresh", "shape", "leaf", "gen")

    def __init__(
        self,
        fn: Fn,
        ann: str | None = None,
        const: Any = _NC,
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


def _leaf_identity(ctx: CallContext, this: Any, v: Any) -> Any:
    return v


_MEMO_SIZE = 64
_MEMO_TYPES = frozenset({str, int, float, bool, type(None), JsonNumber})


def _memoised(read: Fn, derive: Callable[[CallContext, Any, Any], Any]) -> Fn:
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
        r = cache.get(v, _MISSING)
        if r is _MISSING:
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


def _go_type(v: Any) -> str:
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


def _literal_ann(v: Any) -> str:
    return f"{type_name(v)} literal"


def _path_text(base: str, segments: list[str]) -> str:
    parts = [base] + [s.replace("~", "~0").replace(".", "~1") for s in segments]
    return ".".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------------
# path access


def _get_seg(v: Any, seg: str) -> Any:
    t = type(v)
    if t is dict:
        return v.get(seg)
    if t is list:
        if seg.isdigit():
            i = int(seg)
            return v[i] if i < len(v) else None
        return None
    return None


def _pending_read(ctx: CallContext, this: Any, v: Any, again: Fn) -> Any:
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


def _make_getter(segments: list[str]) -> Callable[[Any], Any]:
    n = len(segments)
    if n == 0:
        return lambda v: v
    if n == 1:
        (s0,) = segments

        def g1(v: Any) -> Any:
            if type(v) is dict:
                return v.get(s0)
            return _get_seg(v, s0)

        return g1
    if n == 2:
        s0, s1 = segments

        def g2(v: Any) -> Any:
            v = v.get(s0) if type(v) is dict else _get_seg(v, s0)
            if type(v) is dict:
                return v.get(s1)
            return _get_seg(v, s1)

        return g2
    segs = tuple(segments)

    def gn(v: Any) -> Any:
        for s in segs:
            if type(v) is dict:
                v = v.get(s)
            else:
                v = _get_seg(v, s)
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


def _arith(op: str, left: Compiled, right: Compiled) -> Callable[[Any, Any], Any]:
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


def _fast_arith(op: str, lf: Fn, rf: Fn, rconst: Any, impl: Callable[[Any, Any], Any]) -> Fn | None:
    """``+ - * /`` on plain ints and floats inline; anything else goes through ``impl``.

    Python's float arithmetic is IEEE binary64 like Go's, and int with float converts the int
    exactly as ``float64(int64)`` does; int results wrap to int64."""
    if op == "/":
        if rconst is not _NC:
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
    if op == "+" and rconst is not _NC and type(rconst) is str:
        s = rconst

        def concat_c(ctx: CallContext, this: Any) -> Any:
            a = lf(ctx, this)
            if type(a) is str:
                return a + s
            return impl(a, s)

        return concat_c

    def arith(ctx: CallContext, this: Any) -> Any:
        a = lf(ctx, this)
        b = rf(ctx, this) if rconst is _NC else rconst
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


def _truthy(v: Any, c: Compiled) -> bool:
    if v is True:
        return True
    if v is False:
        return False
    if is_number(v):
        return to_float(v) != 0
    raise EvalError(TypeMismatch("bool", v).render(c.ann))


# ---------------------------------------------------------------------------------------------
# object literals with constant keys: one straight-line function per literal

_OBJ_CALL = """
    try:
        v = {f}(ctx, this)
    except EvalError as e:
        raise EvalError({msg} + e.message) from None"""
_OBJ_THIS = """
    if is_dict:
        v = this.get({field})
        if pending is not None and type(v) is not str:
            v = pending_read(ctx, this, v, {f})
    else:
        try:
            v = {f}(ctx, this)
        except EvalError as e:
            raise EvalError({msg} + e.message) from None"""
_OBJ_VAR = """
    v = vars_get({name}, _MISSING)
    if v is _MISSING:
        raise EvalError({msg} + {undefined})"""
_OBJ_STORE = """
    if v is not DELETED and v is not NOTHING:
        out[{key}] = v"""
_OBJ_STORE_COPY = """
    if v is not DELETED and v is not NOTHING:
        if type(v) is dict or type(v) is list:
            v = clone(v)
        out[{key}] = v"""


def _object_builder(pairs: list[tuple[Compiled, Compiled]]) -> Fn:
    """Generate ``obj(ctx, this)`` for an object literal whose keys are all constant strings.

    Constant values are stored directly, ``this.field`` and ``$var`` reads are inlined and other
    values are called; errors keep the ``failed to resolve 'key' value:`` prefix."""
    env: dict[str, Any] = {
        "EvalError": EvalError,
        "DELETED": DELETED,
        "NOTHING": NOTHING,
        "clone": clone,
        "_MISSING": _MISSING,
        "pending_read": _pending_read,
    }
    lines = ["def obj(ctx, this):", "    out = {}"]
    if any(vc.shape and vc.shape[0] == "this" for _, vc in pairs):
        lines.append("    is_dict = type(this) is dict")
        lines.append("    pending = ctx.pending")
    if any(vc.shape and vc.shape[0] == "var" for _, vc in pairs):
        lines.append("    vars_get = ctx.vars.get")
    for i, (kc, vc) in enumerate(pairs):
        key = kc.const
        msg = repr(f"failed to resolve '{key}' value: ")
        const = vc.const
        if const is not _NC:
            if const is DELETED or const is NOTHING:
                continue
            env[f"c{i}"] = const
            if type(const) in (dict, list):
                lines.append(f"    out[{key!r}] = clone(c{i})")
            else:
                lines.append(f"    out[{key!r}] = c{i}")
            continue
        env[f"f{i}"] = vc.fn
        shape = vc.shape
        if shape is not None and shape[0] == "this":
            lines.append(_OBJ_THIS.format(f=f"f{i}", msg=msg, field=repr(shape[1])))
        elif shape is not None and shape[0] == "var":
            undefined = repr(f"variable '{shape[1]}' undefined")
            lines.append(_OBJ_VAR.format(name=repr(shape[1]), msg=msg, undefined=undefined))
        else:
            lines.append(_OBJ_CALL.format(f=f"f{i}", msg=msg))
        lines.append((_OBJ_STORE if vc.fresh else _OBJ_STORE_COPY).format(key=repr(key)))
    lines.append("    return out")
    exec("\n".join(lines), env)  # noqa: S102 - generated from constant keys (repr-quoted) only
    fn: Fn = env["obj"]
    return fn


# ---------------------------------------------------------------------------------------------
# argument binding


def _coerce_arg(p: library.Param, v: Any) -> Any:
    t = p.type
    if t == "any" or t == "query":
        return v
    if v is None and (p.optional or p.default is not library.REQUIRED) and p.default is None:
        return None
    if t == "string":
        if type(v) is str:
            return v
        if type(v) is bytes:
            return v.decode("utf-8", "replace")
        raise TypeMismatch("string", v)
    if t == "int":
        if type(v) is int:
            return v
        if is_number(v):
            f = float(v)
            n = to_int64(v)
            if f != n and type(v) is not JsonNumber:
                raise EvalError(f"expected int value, got float ({v})")
            return n
        raise TypeMismatch("number", v)
    if t == "float":
        if is_number(v):
            return to_float(v)
        raise TypeMismatch("number", v)
    if t == "number":
        if is_number(v):
            return normalise_number(v)
        raise TypeMismatch("number", v)
    if t == "bool":
        if type(v) is bool:
            return v
        raise TypeMismatch("bool", v)
    if t == "object":
        if type(v) is dict:
            return v
        raise TypeMismatch("object", v)
    if t == "array":
        if type(v) is list:
            return v
        raise TypeMismatch("array", v)
    return v  # timestamp: implementations coerce strings/numbers themselves


def _wrong_type_msg(p: library.Param, v: Any) -> str:
    expected = {"int": "int", "float": "number", "number": "number"}.get(p.type, p.type)
    return f"field {p.name}: wrong argument type, expected {expected}, got {type_name(v)}"


# ---------------------------------------------------------------------------------------------
# the compiler


class Compiler:
    def __init__(self, *, base_dir: str | None = None, mapping_state: dict[Any, Any] | None = None) -> None:
        self.labels: list[str] = []
        self.uses_this = False
        self.base_dir = base_dir
        self.mapping_state = mapping_state if mapping_state is not None else {}
        self.maps: dict[str, Any] = {}  # name -> list of statement fns (filled after compile)
        self.in_map = False
        # top-level assignments, for ``codegen.fuse``: statement fn -> (statement, value, store)
        # where ``store(ctx, v)`` does what the statement does with a value other than NOTHING
        # (None for ``let`` and ``root =``, which codegen writes inline)
        self.assignments: dict[Fn, tuple[Assign, Compiled, Callable[[CallContext, Any], None] | None]] = {}
        self._last: tuple[Compiled, Callable[[CallContext, Any], None] | None] | None = None

    # --- errors ----------------------------------------------------------------------------

    @staticmethod
    def error(msg: str, node: Any) -> MappingError:
        line = getattr(node, "line", 0) or 1
        col = getattr(node, "column", 0) or 1
        return MappingError(f"line {line} char {col}: {msg}", line, col)

    # --- program ---------------------------------------------------------------------------

    def program(self, prog: Program, imported: set[str] | None = None) -> list[Fn]:
        imported = imported or set()
        for st in prog.statements:
            if isinstance(st, _Import):
                self._import(st, imported)
        for name, mdef in prog.maps.items():
            if name in self.maps:
                raise self.error(f"map name collision: {name}", mdef)
            self.maps[name] = None
        for name, mdef in prog.maps.items():
            self.maps[name] = self.map_body(mdef)
        out = []
        for st in prog.statements:
            if isinstance(st, _Import):
                continue
            if isinstance(st, _From):
                raise self.error("from statement must be compiled by compile_mapping", st)
            out.append(self.statement(st, top=True))
        return out

    def _resolve(self, path: str) -> str:
        if os.path.isabs(path):
            return path
        return os.path.join(self.base_dir, path) if self.base_dir else path

    def _import(self, st: _Import, imported: set[str]) -> None:
        full = self._resolve(st.path)
        try:
            with open(full, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise self.error(f"failed to read import '{st.path}': {e.strerror or e}", st) from None
        try:
            prog = parse(text)
        except MappingError as e:
            raise self.error(f"failed to parse import '{st.path}': {e}", st) from None
        if not prog.maps:
            raise self.error(f"no maps to import from '{st.path}'", st)
        sub = Compiler(base_dir=os.path.dirname(full) or None, mapping_state=self.mapping_state)
        sub.maps = self.maps
        for s in prog.statements:
            if isinstance(s, _Import):
                sub._import(s, imported)
        for name in prog.maps:
            if name in self.maps:
                raise self.error(f"map name collision: {name}", st)
            self.maps[name] = None
        for name, mdef in prog.maps.items():
            self.maps[name] = sub.map_body(mdef)

    def map_body(self, mdef: MapDef) -> list[Fn]:
        saved = self.in_map
        self.in_map = True
        try:
            return [self.statement(s, top=True) for s in mdef.body]
        finally:
            self.in_map = saved

    # --- statements ------------------------------------------------------------------------

    def statement(self, st: Any, *, top: bool) -> Fn:
        if isinstance(st, IfStmt):
            return self.if_statement(st, top)
        if isinstance(st, Assign):
            self._last = None
            if top:
                fast = self.guarded_assignment(st)
                if fast is not None:
                    self._record(fast, st)
                    return fast
            fn = self.assignment(st)
        else:
            raise self.error("expected import, map, or assignment", st)
        if not top:
            return fn
        prefix = f"failed assignment (line {st.line}): "
        line, col = st.line, st.column

        def guarded(ctx: CallContext, this: Any) -> None:
            try:
                fn(ctx, this)
            except StatementError:
                raise
            except EvalError as e:
                raise StatementError(prefix + e.message, line, col) from None
            except RecursionError:
                raise StatementError(prefix + "maximum recursion depth exceeded", line, col) from None

        self._record(guarded, st)
        return guarded

    def _record(self, fn: Fn, st: Assign) -> None:
        last = self._last
        self._last = None
        if last is not None and not self.in_map:
            self.assignments[fn] = (st, last[0], last[1])

    def guarded_assignment(self, st: Assign) -> Fn | None:
        """``let x = v`` and ``root = v`` at the top level with the statement guard built in (one call
        less per statement on the hot path); None for the other forms."""
        if st.kind != "let" and (st.kind != "root" or st.path):
            return None
        value = self.expr(st.value)
        self._last = (value, None)
        vfn = value.fn
        copy = not value.fresh
        prefix = f"failed assignment (line {st.line}): "
        line, col = st.line, st.column
        if st.kind == "let":
            name = str(st.path)

            def let(ctx: CallContext, this: Any) -> None:
                try:
                    v = vfn(ctx, this)
                except StatementError:
                    raise
                except EvalError as e:
                    raise StatementError(prefix + e.message, line, col) from None
                except RecursionError:
                    raise StatementError(prefix + "maximum recursion depth exceeded", line, col) from None
                if v is NOTHING:
                    return
                if v is DELETED:
                    ctx.vars.pop(name, None)
                    return
                ctx.vars[name] = v

            return let

        def set_root(ctx: CallContext, this: Any) -> None:
            try:
                v = vfn(ctx, this)
            except StatementError:
                raise
            except EvalError as e:
                raise StatementError(prefix + e.message, line, col) from None
            except RecursionError:
                raise StatementError(prefix + "maximum recursion depth exceeded", line, col) from None
            if v is NOTHING:
                return
            if copy and type(v) in (dict, list):
                v = clone(v)
            ctx.root = v

        return set_root

    def if_statement(self, st: IfStmt, top: bool) -> Fn:
        branches = []
        for i, (cond, body) in enumerate(st.branches):
            c = self.expr(cond)
            branches.append((c.fn, c, [self.statement(s, top=False) for s in body], i))
        otherwise = [self.statement(s, top=False) for s in st.otherwise] if st.otherwise is not None else None
        prefix = f"failed assignment (line {st.line}): "
        line, col = st.line, st.column

        def run(ctx: CallContext, this: Any) -> None:
            for fn, c, body, i in branches:
                try:
                    v = fn(ctx, this)
                except EvalError as e:
                    label = "failed to check if condition" if i == 0 else f"failed to check if condition {i}"
                    raise EvalError(f"{label}: {e}") from None
                if v is True:
                    for s in body:
                        s(ctx, this)
                    return
                if v is not False:
                    raise EvalError(
                        f"{c.ann or 'if statement'} resolved to a non-boolean value {_show(v)} ({_go_type(v)})"
                    )
            if otherwise is not None:
                for s in otherwise:
                    s(ctx, this)

        if not top:
            return run

        def guarded(ctx: CallContext, this: Any) -> None:
            try:
                run(ctx, this)
            except StatementError as e:
                if e.message.startswith("failed assignment"):
                    raise
                raise StatementError(prefix + e.message, line, col) from None
            except EvalError as e:
                raise StatementError(prefix + e.message, line, col) from None

        return guarded

    def assignment(self, st: Assign) -> Fn:
        value = self.expr(st.value)
        vfn = value.fn
        copy = not value.fresh
        if st.kind == "let":
            name = st.path
            assert isinstance(name, str)  # a let's path is its variable name

            def let(ctx: CallContext, this: Any) -> None:
                v = vfn(ctx, this)
                if v is NOTHING:
                    return
                if v is DELETED:
                    ctx.vars.pop(name, None)
                    return
                ctx.vars[name] = v

            return let
        if st.kind == "meta":
            key = st.path
            assert not isinstance(key, list)  # a meta's path is its key, or None for the whole object
            if self.in_map:

                def meta_in_map(ctx: CallContext, this: Any) -> None:
                    raise EvalError("setting meta fields is not allowed within this block")

                return meta_in_map
            if key is None:

                def meta_all_store(ctx: CallContext, v: Any) -> None:
                    if ctx.in_map:
                        raise EvalError("unable to assign metadata in the current context")
                    meta = ctx.metadata_out
                    if v is DELETED:
                        meta.clear()
                        return
                    if type(v) is not dict:
                        raise EvalError(
                            f"setting root meta object requires object value, received: {_go_type(v)}"
                        )
                    meta.clear()
                    for k, x in v.items():
                        meta[k] = clone(x) if copy else x

                def meta_all(ctx: CallContext, this: Any) -> None:
                    v = vfn(ctx, this)
                    if v is NOTHING:
                        return
                    meta_all_store(ctx, v)

                self._last = (value, meta_all_store)
                return meta_all

            def meta_one_store(ctx: CallContext, v: Any) -> None:
                if ctx.in_map:
                    raise EvalError("unable to assign metadata in the current context")
                if v is DELETED:
                    ctx.metadata_out.pop(key, None)
                    return
                if copy and type(v) in (dict, list):
                    v = clone(v)
                ctx.metadata_out[key] = v

            def meta_one(ctx: CallContext, this: Any) -> None:
                v = vfn(ctx, this)
                if v is NOTHING:
                    return
                meta_one_store(ctx, v)

            self._last = (value, meta_one_store)
            return meta_one
        segments = list(st.path or [])
        if not segments:

            def set_root(ctx: CallContext, this: Any) -> None:
                v = vfn(ctx, this)
                if v is NOTHING:
                    return
                if copy and type(v) in (dict, list):
                    v = clone(v)
                ctx.root = v

            return set_root
        path_text = ".".join(segments)
        parents = segments[:-1]
        last = segments[-1]

        def set_path_store(ctx: CallContext, v: Any) -> None:
            if copy and type(v) in (dict, list):
                v = clone(v)
            root = ctx.root
            if type(root) is not dict:
                if root is NOTHING or root is None or root is DELETED:
                    if v is DELETED:
                        return
                    root = ctx.root = {}
                elif (
                    type(root) is list
                    and segments[0] in ("-",)
                    or type(root) is list
                    and segments[0].isdigit()
                ):
                    pass
                else:
                    raise EvalError(
                        f"unable to set target path {path_text} as the value of the root was a "
                        f"non-object type ({type_name(root)})"
                    )
            cur = root
            for i, seg in enumerate(parents):
                t = type(cur)
                if t is dict:
                    nxt = cur.get(seg)
                    if nxt is None:
                        if v is DELETED:
                            return
                        nxt = cur[seg] = {}
                    cur = nxt
                elif t is list and seg.isdigit() and int(seg) < len(cur):
                    nxt = cur[int(seg)]
                    if nxt is None:
                        nxt = cur[int(seg)] = {}
                    cur = nxt
                else:
                    raise EvalError(
                        f"unable to set target path {path_text} as the value of "
                        f"{'.'.join(segments[:i]) or 'the root'} was a non-object type ({type_name(cur)})"
                    )
            t = type(cur)
            if t is dict:
                if v is DELETED:
                    cur.pop(last, None)
                else:
                    cur[last] = v
            elif t is list and (last.isdigit() or last == "-"):
                if last == "-":
                    if v is not DELETED:
                        cur.append(v)
                    return
                i = int(last)
                if i >= len(cur):
                    raise EvalError(f"unable to set target path {path_text}: index {i} out of range")
                if v is DELETED:
                    del cur[i]
                else:
                    cur[i] = v
            else:
                raise EvalError(
                    f"unable to set target path {path_text} as the value of "
                    f"{'.'.join(parents) or 'the root'} was a non-object type ({type_name(cur)})"
                )

        def set_path(ctx: CallContext, this: Any) -> None:
            v = vfn(ctx, this)
            if v is NOTHING:
                return
            set_path_store(ctx, v)

        self._last = (value, set_path_store)
        return set_path

    # --- expressions -----------------------------------------------------------------------

    def expr(self, node: Any) -> Compiled:
        if isinstance(node, _RawIf):
            try:
                node = _as_expr(node)
            except MappingError as e:
                raise e from None
        method = getattr(self, "x_" + type(node).__name__, None)
        if method is None:
            raise self.error(f"unexpected {type(node).__name__}", node)
        return method(node)

    def x_Literal(self, node: Literal) -> Compiled:
        v = node.value
        return Compiled(lambda ctx, this: v, _literal_ann(v), v, True)

    def x_ArrayLit(self, node: ArrayLit) -> Compiled:
        items = [self.expr(x) for x in node.items]
        if all(c.const is not _NC for c in items):
            value = [c.const for c in items if c.const is not DELETED and c.const is not NOTHING]
            return Compiled(lambda ctx, this: clone(value), "array literal", value, True)
        fns = [(c.fn, not c.fresh) for c in items]

        def arr(ctx: CallContext, this: Any) -> list[Any]:
            out = []
            for fn, copy in fns:
                v = fn(ctx, this)
                if v is DELETED or v is NOTHING:
                    continue
                if copy and type(v) in (dict, list):
                    v = clone(v)
                out.append(v)
            return out

        return Compiled(arr, "array literal", _NC, True)

    def x_ObjectLit(self, node: ObjectLit) -> Compiled:
        pairs = []
        all_const = True
        for k, v in node.pairs:
            kc = self.expr(k)
            vc = self.expr(v)
            if kc.const is not _NC and type(kc.const) is not str:
                raise self.error(f"object keys must be strings, received: {_go_type(kc.const)}", k)
            if kc.const is _NC or vc.const is _NC:
                all_const = False
            pairs.append((kc, vc))
        if all_const:
            value = {
                kc.const: vc.const for kc, vc in pairs if vc.const is not DELETED and vc.const is not NOTHING
            }
            return Compiled(lambda ctx, this: clone(value), "object literal", value, True)
        if all(kc.const is not _NC for kc, _ in pairs):
            return Compiled(_object_builder(pairs), "object literal", _NC, True, gen=("obj", pairs))
        dyn = [(kc.fn, vc.fn, not vc.fresh) for kc, vc in pairs]

        def dobj(ctx: CallContext, this: Any) -> dict[str, Any]:
            out = {}
            for kfn, fn, copy in dyn:
                key = kfn(ctx, this)
                if type(key) is bytes:
                    key = key.decode("utf-8", "replace")
                elif type(key) is not str:
                    raise EvalError(f"mapping returned invalid key type: {_go_type(key)}")
                try:
                    v = fn(ctx, this)
                except EvalError as e:
                    raise EvalError(f"failed to resolve '{key}' value: {e}") from None
                if v is DELETED or v is NOTHING:
                    continue
                if copy and type(v) in (dict, list):
                    v = clone(v)
                out[key] = v
            return out

        return Compiled(dobj, "object literal", _NC, True)

    def x_Path(self, node: Path) -> Compiled:
        base = node.base
        segments = list(node.segments)
        label = node.label or ""
        if base == "bare":
            if segments[0] in self.labels:
                base = "label"
                label = segments.pop(0)
            else:
                base = "this"
        getter = _make_getter(segments)
        if base == "this":
            self.uses_this = True
            text = _path_text("this", segments)
            ann = f"field `{text}`"
            if not segments:

                def this_fn(ctx: CallContext, this: Any) -> Any:
                    if this.__class__ is Unparsed:
                        raise this.fail(text)
                    if this is ctx.pending:
                        ctx.settle()
                    return this

                return Compiled(this_fn, ann)
            if len(segments) == 1:
                s0 = segments[0]

                def this_1(ctx: CallContext, this: Any) -> Any:
                    if type(this) is dict:
                        v = this.get(s0)
                    elif this.__class__ is Unparsed:
                        raise this.fail(text)
                    else:
                        v = _get_seg(this, s0)
                    if ctx.pending is None or type(v) is str:
                        return v
                    return _pending_read(ctx, this, v, this_1)

                return Compiled(this_1, ann, shape=("this", s0), gen=("this", (s0,)))

            if len(segments) == 2:
                s0, s1 = segments

                def this_2(ctx: CallContext, this: Any) -> Any:
                    if type(this) is dict:
                        v = this.get(s0)
                        v = v.get(s1) if type(v) is dict else _get_seg(v, s1)
                    elif this.__class__ is Unparsed:
                        raise this.fail(text)
                    else:
                        v = getter(this)
                    if ctx.pending is None or type(v) is str:
                        return v
                    return _pending_read(ctx, this, v, this_2)

                return Compiled(this_2, ann, gen=("this", (s0, s1)))

            def this_n(ctx: CallContext, this: Any) -> Any:
                if this.__class__ is Unparsed:
                    raise this.fail(text)
                v = getter(this)
                if ctx.pending is None or type(v) is str:
                    return v
                return _pending_read(ctx, this, v, this_n)

            return Compiled(this_n, ann, gen=("this", tuple(segments)))
        if base == "root":
            ann = f"field `{_path_text('root', segments)}`"
            if not segments:
                return Compiled(lambda ctx, this: ctx.root, ann)

            def root_fn(ctx: CallContext, this: Any) -> Any:
                r = ctx.root
                if r is NOTHING:
                    return None
                return getter(r)

            return Compiled(root_fn, ann)
        if base == "label":
            ann = f"field `{_path_text(label, segments)}`"
            name = label

            def label_fn(ctx: CallContext, this: Any) -> Any:
                return getter(ctx.labels.get(name))

            return Compiled(label_fn, ann)
        # expression base: (expr).a.b
        target = self.expr(node.target)
        tfn = target.fn

        def expr_path(ctx: CallContext, this: Any) -> Any:
            v = tfn(ctx, this)
            return getter(v)

        if target.const is not _NC:
            v = getter(target.const)
            return Compiled(lambda ctx, this: v, target.ann, v)
        return Compiled(expr_path, target.ann)

    def x_MetaRef(self, node: MetaRef) -> Compiled:
        key = node.key
        if key is None:
            return Compiled(lambda ctx, this: dict(ctx.metadata_out), "metadata object", _NC, True)

        def meta_field(ctx: CallContext, this: Any) -> Any:
            return ctx.metadata_out.get(key)

        return Compiled(meta_field, f"meta field {key}", leaf=(meta_field, _leaf_identity))

    def x_VarRef(self, node: VarRef) -> Compiled:
        name = node.name
        msg = f"variable '{name}' undefined"

        def var(ctx: CallContext, this: Any) -> Any:
            v = ctx.vars.get(name, _MISSING)
            if v is _MISSING:
                raise EvalError(msg)
            return v

        return Compiled(var, f"variable {name}", shape=("var", name), gen=("var", name, msg))

    def x_Unary(self, node: Unary) -> Compiled:
        x = self.expr(node.operand)
        fn = x.fn
        if node.op == "-":
            zero = Compiled(lambda ctx, this: 0, "number literal", 0)
            sub = _arith("-", zero, x)
            if x.const is not _NC:
                try:
                    v = sub(0, x.const)
                except EvalError as e:
                    raise self.error(str(e), node) from None
                return Compiled(lambda ctx, this: v, _literal_ann(v), v, True)
            return Compiled(lambda ctx, this: sub(0, fn(ctx, this)), x.ann, _NC, True)

        def not_fn(ctx: CallContext, this: Any) -> Any:
            v = fn(ctx, this)
            if v is True:
                return False
            if v is False:
                return True
            raise EvalError(TypeMismatch("bool", v).render(x.ann))

        return Compiled(not_fn, x.ann, _NC, True)

    def x_BinOp(self, node: BinOp) -> Compiled:
        op = node.op
        left = self.expr(node.left)
        right = self.expr(node.right)
        lf, rf = left.fn, right.fn
        if op == "|":

            def coalesce(ctx: CallContext, this: Any) -> Any:
                try:
                    v = lf(ctx, this)
                except EvalError:
                    return rf(ctx, this)
                if v is None or v is DELETED or v is NOTHING:
                    return rf(ctx, this)
                return v

            return Compiled(
                coalesce, left.ann, _NC, left.fresh and right.fresh, gen=("coalesce", left, right)
            )
        if op == "&&":

            def and_fn(ctx: CallContext, this: Any) -> Any:
                if not _truthy(lf(ctx, this), left):
                    return False
                return _truthy(rf(ctx, this), right)

            return Compiled(and_fn, None, _NC, True)
        if op == "||":

            def or_fn(ctx: CallContext, this: Any) -> Any:
                if _truthy(lf(ctx, this), left):
                    return True
                return _truthy(rf(ctx, this), right)

            return Compiled(or_fn, None, _NC, True)
        impl = _arith(op, left, right)
        if left.const is not _NC and right.const is not _NC:
            try:
                v = impl(left.const, right.const)
            except EvalError as e:
                raise self.error(str(e), node) from None
            return Compiled(lambda ctx, this: v, _literal_ann(v), v, True)
        if op == "==":

            def eq(ctx: CallContext, this: Any) -> bool:
                a = lf(ctx, this)
                b = rf(ctx, this)
                if type(a) is str and type(b) is str:
                    return a == b
                return values_equal(a, b)

            return Compiled(eq, None, _NC, True, gen=("eq", left, right))
        if left.leaf is not None and right.const is not _NC:
            read, derive_left = left.leaf
            rc = right.const

            def derive_l(ctx: CallContext, this: Any, v: Any) -> Any:
                return impl(derive_left(ctx, this, v), rc)

            return Compiled(_memoised(read, derive_l), None, _NC, True, leaf=(read, derive_l))
        if right.leaf is not None and left.const is not _NC:
            read, derive_right = right.leaf
            lc = left.const

            def derive_r(ctx: CallContext, this: Any, v: Any) -> Any:
                return impl(lc, derive_right(ctx, this, v))

            return Compiled(_memoised(read, derive_r), None, _NC, True, leaf=(read, derive_r))
        fast = _fast_arith(op, lf, rf, right.const, impl)
        if fast is not None:
            return Compiled(fast, None, _NC, True, gen=("arith", op, left, right, impl))
        if right.const is not _NC:
            c = right.const
            return Compiled(lambda ctx, this: impl(lf(ctx, this), c), None, _NC, True)
        return Compiled(lambda ctx, this: impl(lf(ctx, this), rf(ctx, this)), None, _NC, True)

    def x_IfExpr(self, node: IfExpr) -> Compiled:
        branches = []
        for cond, body in node.branches:
            c = self.expr(cond)
            b = self.expr(body)
            branches.append((c.fn, c, b.fn))
        otherwise = self.expr(node.otherwise).fn if node.otherwise is not None else None

        def if_fn(ctx: CallContext, this: Any) -> Any:
            for i, (cfn, c, bfn) in enumerate(branches):
                try:
                    v = cfn(ctx, this)
                except EvalError as e:
                    label = "failed to check if condition" if i == 0 else f"failed to check if condition {i}"
                    raise EvalError(f"{label}: {e}") from None
                if v is True:
                    return bfn(ctx, this)
                if v is False or v is None:
                    continue
                raise EvalError(
                    f"{c.ann or 'if expression'} resolved to a non-boolean value {_show(v)} ({_go_type(v)})"
                )
            if otherwise is not None:
                return otherwise(ctx, this)
            return NOTHING

        return Compiled(if_fn, "if expression")

    def x_Match(self, node: Match) -> Compiled:
        subject = self.expr(node.subject) if node.subject is not None else None
        cases: list[tuple[int, Any, Fn]] = []  # (0: default, 1: constant to compare, 2: predicate)
        for pattern, result in node.cases:
            r = self.expr(result)
            if pattern is None:
                cases.append((0, None, r.fn))
                continue
            p = self.expr(pattern)
            if isinstance(pattern, (Literal, ArrayLit, ObjectLit)) and p.const is not _NC:
                cases.append((1, p.const, r.fn))
            else:
                cases.append((2, p.fn, r.fn))
        sfn = subject.fn if subject is not None else None

        def match_fn(ctx: CallContext, this: Any) -> Any:
            if sfn is not None:
                this = sfn(ctx, this)
            for i, (kind, p, rfn) in enumerate(cases):
                if kind == 0:
                    return rfn(ctx, this)
                if kind == 1:
                    if this.__class__ is Unparsed:
                        raise EvalError(f"failed to check match case {i}: " + this.fail("this").message)
                    if this is ctx.pending:
                        ctx.settle()
                    if values_equal(this, p):
                        return rfn(ctx, this)
                    continue
                try:
                    v = p(ctx, this)
                except EvalError as e:
                    raise EvalError(f"failed to check match case {i}: {e}") from None
                if v is True:
                    return rfn(ctx, this)
            return NOTHING

        return Compiled(match_fn, "match expression")

    def x_Capture(self, node: Capture) -> Compiled:
        target = self.expr(node.target)
        tfn = target.fn
        q = node.query
        if isinstance(q, Lambda):
            name = q.name
            body = self.lambda_body(q)
            bfn = body.fn

            def cap_named(ctx: CallContext, this: Any) -> Any:
                v = tfn(ctx, this)
                labels = ctx.labels
                old = labels.get(name, _MISSING)
                labels[name] = v
                try:
                    return bfn(ctx, this)
                finally:
                    if old is _MISSING:
                        labels.pop(name, None)
                    else:
                        labels[name] = old

            return Compiled(cap_named, body.ann)
        body = self.expr(q)
        bfn = body.fn
        return Compiled(lambda ctx, this: bfn(ctx, tfn(ctx, this)), body.ann)

    def lambda_body(self, node: Lambda) -> Compiled:
        name = node.name
        if name in self.labels:
            raise self.error(f"context label '{name}' would shadow a parent context", node)
        if name == "_":
            return self.expr(node.body)
        self.labels.append(name)
        try:
            return self.expr(node.body)
        finally:
            self.labels.pop()

    def x_Lambda(self, node: Lambda) -> Compiled:
        # outside a context change the captured value is the current `this`
        body = self.lambda_body(node)
        bfn = body.fn
        name = node.name

        def lam(ctx: CallContext, this: Any) -> Any:
            if this is ctx.pending:
                ctx.settle()
            labels = ctx.labels
            old = labels.get(name, _MISSING)
            labels[name] = this
            try:
                return bfn(ctx, this)
            finally:
                if old is _MISSING:
                    labels.pop(name, None)
                else:
                    labels[name] = old

        return Compiled(lam, body.ann)

    def query_arg(self, node: Any) -> Callable[[CallContext, Any], Callable[[Any], Any]]:
        """A query argument: returns ``make(ctx, this) -> fn(value)``."""
        if isinstance(node, Lambda):
            name = node.name
            body = self.lambda_body(node)
            bfn = body.fn
            if name == "_":
                return lambda ctx, this: lambda v: bfn(ctx, this)

            def make_named(ctx: CallContext, this: Any) -> Callable[[Any], Any]:
                labels = ctx.labels

                def q(v: Any) -> Any:
                    if v is ctx.pending:
                        ctx.settle()
                    old = labels.get(name, _MISSING)
                    labels[name] = v
                    try:
                        return bfn(ctx, this)
                    finally:
                        if old is _MISSING:
                            labels.pop(name, None)
                        else:
                            labels[name] = old

                return q

            return make_named
        c = self.expr(node)
        if c.const is not _NC:
            k = c.const
            return lambda ctx, this: lambda v: clone(k)
        fn = c.fn
        return lambda ctx, this: lambda v: fn(ctx, v)

    # --- calls -----------------------------------------------------------------------------

    def x_Call(self, node: Call) -> Compiled:
        if node.target is None:
            return self.function_call(node)
        return self.method_call(node)

    def bind(self, spec: library.Spec, node: Call) -> list[tuple[library.Param, Any]]:
        """Match the call's arguments to the spec's parameters: [(param, ast node or _MISSING)]."""
        params = spec.params
        variadic = bool(params) and params[-1].name.startswith("*")
        kind = "function" if spec.kind == "function" else "method"
        if node.named is not None:
            if variadic:
                raise self.error(f"{kind} {spec.name} does not support named arguments", node)
            names = {p.name for p in params}
            for n in node.named:
                if n not in names:
                    close = _closest(n, sorted(names))
                    hint = f", did you mean {close}?" if close else ""
                    raise self.error(f"unknown parameter {n}{hint}", node)
            bound = [(p, node.named.get(p.name, _MISSING)) for p in params]
        else:
            args = node.args
            fixed = params[:-1] if variadic else params
            if len(args) > len(fixed) and not variadic:
                raise self.error(f"wrong number of arguments, expected {len(params)}, got {len(args)}", node)
            bound = [(p, args[i] if i < len(args) else _MISSING) for i, p in enumerate(fixed)]
            if variadic:
                bound += [(params[-1], a) for a in args[len(fixed) :]]
        missing = [
            p.name
            for p, a in bound
            if a is _MISSING
            and p.default is library.REQUIRED
            and not p.optional
            and not p.name.startswith("*")
        ]
        if missing:
            word = "parameter" if len(missing) == 1 else "parameters"
            raise self.error(f"missing {word}: {', '.join(missing)}", node)
        return bound

    def compile_args(
        self, spec: library.Spec, node: Call
    ) -> tuple[list[Any], list[int], bool, list[library.Param]]:
        """Compile bound args: (items, dynamic indexes, all_literal, params).

        Each item is a constant value, a ``Compiled`` (dynamic) or a query factory."""
        bound = self.bind(spec, node)
        items: list[Any] = []
        dyn: list[int] = []
        all_literal = True
        params: list[library.Param] = []
        for p, a in bound:
            if a is _MISSING:
                if p.name.startswith("*"):
                    continue
                val = None if p.default is library.REQUIRED else p.default
                items.append(val)
                params.append(p)
                continue
            params.append(p)
            if p.type == "query":
                items.append(("query", self.query_arg(a)))
                dyn.append(len(items) - 1)
                all_literal = False
                continue
            c = self.expr(a)
            if c.const is not _NC:
                try:
                    items.append(_coerce_arg(p, c.const))
                except EvalError:
                    raise self.error(_wrong_type_msg(p, c.const), a) from None
            else:
                items.append(("dyn", c))
                dyn.append(len(items) - 1)
                all_literal = False
        return items, dyn, all_literal, params

    def _prepared(self, spec: library.Spec, items: list[Any], all_literal: bool, node: Call) -> list[Any]:
        if spec.prepare is not None and all_literal:
            try:
                return list(spec.prepare(*items))
            except EvalError as e:
                raise self.error(str(e), node) from None
            except (ValueError, TypeError) as e:
                raise self.error(str(e), node) from None
        return items

    def _arg_builder(
        self, spec: library.Spec, items: list[Any], dyn: list[int], params: list[library.Param]
    ) -> Callable[[CallContext, Any], list[Any]] | None:
        if not dyn:
            return None
        kind = "function" if spec.kind == "function" else "method"
        name = spec.name
        plan = []
        for i in dyn:
            tag, obj = items[i]
            if tag == "query":
                plan.append((i, 0, obj, params[i]))
            else:
                plan.append((i, 1, obj.fn, params[i]))
        base = list(items)

        def build(ctx: CallContext, this: Any) -> list[Any]:
            args = base.copy()
            for i, kind_, f, p in plan:
                if kind_ == 0:
                    args[i] = f(ctx, this)
                else:
                    v = f(ctx, this)
                    try:
                        args[i] = _coerce_arg(p, v)
                    except EvalError as e:
                        msg = e.render(None) if isinstance(e, TypeMismatch) else e.message
                        raise EvalError(
                            f"{kind} '{name}': failed to extract input arg '{p.name}': {msg}"
                        ) from None
            return args

        return build

    def function_call(self, node: Call) -> Compiled:
        name = node.name
        special = getattr(self, "fn_" + name, None)
        spec = library.FUNCTIONS.get(name)
        if spec is None:
            raise self.error(f"unrecognised function '{name}'", node)
        if special is not None:
            compiled = special(node, spec)
            if compiled is not None:
                return compiled
        items, dyn, all_literal, params = self.compile_args(spec, node)
        items = self._prepared(spec, items, all_literal, node)
        build = self._arg_builder(spec, items, dyn, params)
        impl = spec.impl
        site: dict[Any, Any] = {}
        ann = f"function {name}"

        if build is None:
            args = tuple(items)
            if not args:

                def call_noargs(ctx: CallContext, this: Any) -> Any:
                    ctx.this = this
                    ctx.site_state = site
                    try:
                        return impl(ctx)
                    except TypeMismatch as e:
                        raise EvalError(e.render(ann)) from None

                return Compiled(call_noargs, ann, gen=("func", impl, args, site, ann))

            def call0(ctx: CallContext, this: Any) -> Any:
                ctx.this = this
                ctx.site_state = site
                try:
                    return impl(ctx, *args)
                except TypeMismatch as e:
                    raise EvalError(e.render(ann)) from None

            return Compiled(call0, ann, gen=("func", impl, args, site, ann))

        def calln(ctx: CallContext, this: Any) -> Any:
            a = build(ctx, this)
            ctx.this = this
            ctx.site_state = site
            try:
                return impl(ctx, *a)
            except TypeMismatch as e:
                raise EvalError(e.render(ann)) from None

        return Compiled(calln, ann)

    def method_call(self, node: Call) -> Compiled:
        name = node.name
        spec = library.METHODS.get(name)
        if spec is None:
            raise self.error(f"unrecognised method '{name}'", node)
        special = getattr(self, "m_" + name, None)
        if special is not None:
            return special(node, spec)
        target = self.expr(node.target)
        tfn = target.fn
        tann = target.ann or "expression"
        items, dyn, all_literal, params = self.compile_args(spec, node)
        items = self._prepared(spec, items, all_literal, node)
        build = self._arg_builder(spec, items, dyn, params)
        impl = spec.impl
        site: dict[Any, Any] = {}
        ann = f"method {name}"
        # a given `default` also covers failures of the target expression (.number(0), .bool(false))
        default_idx = next((i for i, p in enumerate(params) if p.name == "default"), -1)  # -1: no such param
        has_default = default_idx >= 0 and (
            (node.named is not None and "default" in node.named)
            or (node.named is None and len(node.args) > default_idx)
        )

        def fail(e: EvalError) -> EvalError:
            if isinstance(e, TypeMismatch):
                return EvalError(e.render(tann))
            if isinstance(e, StatementError):
                return e
            return EvalError(f"{tann}: {e.message}")

        if build is None:
            args = tuple(items)
            if target.const is not _NC and not spec.impure:
                # fold pure calls on literals; failures stay runtime errors
                try:
                    folded = impl(_fold_ctx(), target.const, *args)
                    if folded is not NOTHING and folded is not DELETED:
                        return Compiled(lambda ctx, this: folded, ann, folded)
                except Exception:  # noqa: BLE001 - a failing fold is evaluated (and fails) per message
                    pass

            if target.leaf is not None and not spec.impure:
                read, derive_target = target.leaf
                dflt = args[default_idx] if has_default else None

                def derive(ctx: CallContext, this: Any, v: Any) -> Any:
                    if has_default:
                        try:
                            t = derive_target(ctx, this, v)
                        except EvalError:
                            return dflt
                    else:
                        t = derive_target(ctx, this, v)
                    ctx.this = this
                    ctx.site_state = site
                    try:
                        return impl(ctx, t, *args)
                    except EvalError as e:
                        raise fail(e) from None

                return Compiled(_memoised(read, derive), ann, leaf=(read, derive))

            if has_default:
                dflt = args[default_idx]

                def call_d(ctx: CallContext, this: Any) -> Any:
                    try:
                        t = tfn(ctx, this)
                    except EvalError:
                        return dflt
                    ctx.this = this
                    ctx.site_state = site
                    try:
                        return impl(ctx, t, *args)
                    except EvalError as e:
                        raise fail(e) from None

                return Compiled(call_d, ann, gen=("method", target, impl, args, site, fail, True, dflt))

            if not args:

                def call_noargs(ctx: CallContext, this: Any) -> Any:
                    t = tfn(ctx, this)
                    ctx.this = this
                    ctx.site_state = site
                    try:
                        return impl(ctx, t)
                    except EvalError as e:
                        raise fail(e) from None

                return Compiled(call_noargs, ann, gen=("method", target, impl, args, site, fail, False, None))

            def call0(ctx: CallContext, this: Any) -> Any:
                t = tfn(ctx, this)
                ctx.this = this
                ctx.site_state = site
                try:
                    return impl(ctx, t, *args)
                except EvalError as e:
                    raise fail(e) from None

            return Compiled(call0, ann, gen=("method", target, impl, args, site, fail, False, None))

        def calln(ctx: CallContext, this: Any) -> Any:
            if has_default:
                try:
                    t = tfn(ctx, this)
                except EvalError:
                    return build(ctx, this)[default_idx]
            else:
                t = tfn(ctx, this)
            a = build(ctx, this)
            ctx.this = this
            ctx.site_state = site
            try:
                return impl(ctx, t, *a)
            except EvalError as e:
                raise fail(e) from None

        return Compiled(calln, ann)

    # --- language-level methods that need the unevaluated target -----------------------------

    def m_catch(self, node: Call, spec: library.Spec) -> Compiled:
        target = self.expr(node.target)
        tfn = target.fn
        bound = self.bind(spec, node)
        q = bound[0][1]
        make = self.query_arg(q)

        def catch(ctx: CallContext, this: Any) -> Any:
            try:
                return tfn(ctx, this)
            except StatementError as e:
                return make(ctx, this)(e.message)
            except EvalError as e:
                return make(ctx, this)(e.message)

        return Compiled(catch, target.ann)

    def m_or(self, node: Call, spec: library.Spec) -> Compiled:
        target = self.expr(node.target)
        tfn = target.fn
        bound = self.bind(spec, node)
        make = self.query_arg(bound[0][1])

        def or_(ctx: CallContext, this: Any) -> Any:
            try:
                v = tfn(ctx, this)
            except EvalError:
                return make(ctx, this)(this)
            if v is None or v is DELETED or v is NOTHING:
                return make(ctx, this)(this)
            return v

        return Compiled(or_, target.ann)

    def m_from(self, node: Call, spec: library.Spec) -> Compiled:
        target = self.expr(node.target)
        tfn = target.fn
        items, dyn, _, params = self.compile_args(spec, node)
        build = self._arg_builder(spec, items, dyn, params)

        def from_(ctx: CallContext, this: Any) -> Any:
            idx = (build(ctx, this) if build else items)[0]
            batch = ctx.batch
            if idx < 0:
                idx += len(batch)
            if not 0 <= idx < len(batch):
                raise EvalError(f"index {idx} was out of bounds for batch size {len(batch)}")
            sub = ctx.for_index(idx)
            return tfn(sub, _structured_or_unparsed(sub))

        return Compiled(from_, target.ann)

    def m_from_all(self, node: Call, spec: library.Spec) -> Compiled:
        target = self.expr(node.target)
        tfn = target.fn

        def from_all(ctx: CallContext, this: Any) -> Any:
            out = []
            for i in range(len(ctx.batch)):
                sub = ctx.for_index(i)
                out.append(tfn(sub, _structured_or_unparsed(sub)))
            return out

        return Compiled(from_all, target.ann)

    def m_apply(self, node: Call, spec: library.Spec) -> Compiled:
        target = self.expr(node.target)
        tfn = target.fn
        tann = target.ann or "expression"
        items, dyn, _, params = self.compile_args(spec, node)
        build = self._arg_builder(spec, items, dyn, params)
        maps = self.maps

        def apply(ctx: CallContext, this: Any) -> Any:
            v = tfn(ctx, this)
            name = (build(ctx, this) if build else items)[0]
            if not maps:
                raise EvalError(f"{tann}: no maps were found")
            body = maps.get(name)
            if body is None:
                raise EvalError(f"{tann}: map {name} was not found")
            if ctx.depth >= 100:
                limit = _map_depth_limit()
                if ctx.depth >= limit:
                    raise EvalError(
                        f"entering map {name} exceeded maximum allowed stacks of {limit}, "
                        "this could be due to unbounded recursion"
                    )
            saved = (ctx.root, ctx.vars, ctx.in_map, ctx.labels)
            ctx.root = NOTHING
            ctx.vars = {}
            ctx.labels = {}
            ctx.in_map = True
            ctx.depth += 1
            try:
                for st in body:
                    st(ctx, v)
                return ctx.root
            finally:
                ctx.depth -= 1
                ctx.root, ctx.vars, ctx.in_map, ctx.labels = saved

        return Compiled(apply, f"method {node.name}")

    # --- language-level functions ------------------------------------------------------------

    def fn_meta(self, node: Call, spec: library.Spec) -> Compiled | None:
        """``meta("key")`` with a literal key reads the input metadata inline (the common case)."""
        if spec.impl is not _core_meta or node.named is not None or len(node.args) != 1:
            return None
        arg = node.args[0]
        if not isinstance(arg, Literal) or type(arg.value) is not str or not arg.value:
            return None
        key = arg.value

        def meta_key(ctx: CallContext, this: Any) -> Any:
            m = ctx.message
            if m is None:
                return None
            v = m.metadata.get(key)
            if type(v) is str:
                return v or None
            if v is None and key not in m.metadata:
                return None
            return _core_meta_text(v)

        return Compiled(meta_key, "function meta", leaf=(meta_key, _leaf_identity), gen=("meta_key", key))

    def fn_var(self, node: Call, spec: library.Spec) -> Compiled:
        items, dyn, _, params = self.compile_args(spec, node)
        build = self._arg_builder(spec, items, dyn, params)

        def var(ctx: CallContext, this: Any) -> Any:
            name = (build(ctx, this) if build else items)[0]
            v = ctx.vars.get(name, _MISSING)
            if v is _MISSING:
                raise EvalError(f"variable '{name}' undefined")
            return v

        return Compiled(var, "function var")


def _closest(name: str, options: list[str]) -> str | None:
    import difflib

    m = difflib.get_close_matches(name, options, n=1)
    return m[0] if m else None


def _show(v: Any) -> str:
    from mapping_lang.value import to_text

    return to_text(v)


_FOLD_CTX: CallContext | None = None


def _fold_ctx() -> CallContext:
    global _FOLD_CTX
    if _FOLD_CTX is None:
        _FOLD_CTX = CallContext()
    return _FOLD_CTX


def _structured_or_unparsed(ctx: CallContext) -> Any:
    m = ctx.message
    if m is None:
        return Unparsed("message is empty")
    try:
        return m.structured()
    except ValueError as e:
        msg = str(e)
        return Unparsed(msg if msg == "message is empty" else f"parse as json: {msg}")
