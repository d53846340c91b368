"""A mapping's top-level statements as one straight-line Python function.

The compiler turns every expression into a closure (``compiler.Compiled.fn``); running a mapping
then costs a Python call per node. For the common shapes (``this`` paths, variables, constants,
arithmetic, ``==``, ``|``, calls with literal arguments, ``meta("k")``, object literals with
constant keys) the compiler also leaves a recipe (``Compiled.gen``), and ``fuse`` writes the whole
body as one function from those recipes: the same steps in the same order, raising the same
errors, with each statement behind the same ``failed assignment (line N):`` guard. A node without
a recipe is called through its closure, and a statement that is not a plain assignment (a
root-level ``if``) is called as it is, so any mapping can be fused.

Only identifiers generated here and ``repr()`` of strings (keys, field names, variable names)
appear in the generated text; every other value is passed in the function's globals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mapping_lang.compiled import MISSING, NOT_CONST, Compiled, StatementError, clone
from mapping_lang.context import CallContext
from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.functions.core import _meta_text
from mapping_lang.methods.core import number as _number_method
from mapping_lang.operations import get_seg, pending_read
from mapping_lang.value import DELETED, NOTHING, values_equal, wrap_int64

Fn = Callable[[CallContext, Any], Any]

_PY_OPS = {"+": "+", "-": "-", "*": "*"}


class _Writer:
    def __init__(self) -> None:
        self.env: dict[str, Any] = {
            "EvalError": EvalError,
            "TypeMismatch": TypeMismatch,
            "StatementError": StatementError,
            "DELETED": DELETED,
            "NOTHING": NOTHING,
            "MISSING": MISSING,
            "clone": clone,
            "get_seg": get_seg,
            "pending_read": pending_read,
            "values_equal": values_equal,
            "wrap_int64": wrap_int64,
            "meta_text": _meta_text,
        }
        self.lines: list[str] = []
        self.n = 0
        self.ids: dict[int, str] = {}
        self.temps: set[str] = set()

    def bind(self, obj: Any, prefix: str = "k") -> str:
        """A global name for ``obj`` (one per object)."""
        key = id(obj)
        name = self.ids.get(key)
        if name is None or self.env.get(name) is not obj:
            name = f"{prefix}{self.n}"
            self.n += 1
            self.env[name] = obj
            self.ids[key] = name
        return name

    def tmp(self) -> str:
        name = f"t{self.n}"
        self.n += 1
        self.temps.add(name)
        return name

    def emit(self, ind: int, line: str) -> None:
        self.lines.append("    " * ind + line)

    # --- expressions -------------------------------------------------------------------------

    def expr(self, c: Any, ind: int) -> str:
        """Write code computing ``c.fn(ctx, this)``; returns the name that holds the value."""
        const = c.const
        if const is not NOT_CONST and type(const) not in (dict, list):
            return self.bind(const, "c")
        g = c.gen
        if g is None or const is not NOT_CONST:
            return self.call(c.fn, ind)
        return getattr(self, "g_" + g[0])(c, g, ind)

    def local(self, name: str, ind: int) -> str:
        """``name`` if it is a local of the generated function, else a new local holding it
        (``expr`` may return a global, which the function must not assign)."""
        if name in self.temps:
            return name
        t = self.tmp()
        self.emit(ind, f"{t} = {name}")
        return t

    def call(self, fn: Fn, ind: int) -> str:
        t = self.tmp()
        self.emit(ind, f"{t} = {self.bind(fn, 'f')}(ctx, this)")
        return t

    def g_this(self, c: Any, g: tuple[Any, ...], ind: int) -> str:
        segs = g[1]
        t = self.tmp()
        self.emit(ind, "if type(this) is dict:")
        self.emit(ind + 1, f"{t} = this.get({segs[0]!r})")
        for s in segs[1:]:
            self.emit(ind + 1, f"{t} = {t}.get({s!r}) if type({t}) is dict else get_seg({t}, {s!r})")
        self.emit(ind + 1, f"if type({t}) is not str and ctx.pending is not None:")
        self.emit(ind + 2, f"{t} = pending_read(ctx, this, {t}, {self.bind(c.fn, 'f')})")
        self.emit(ind, "else:")
        self.emit(ind + 1, f"{t} = {self.bind(c.fn, 'f')}(ctx, this)")
        return t

    def g_var(self, c: Any, g: tuple[Any, ...], ind: int) -> str:
        t = self.tmp()
        self.emit(ind, f"{t} = vars_.get({g[1]!r}, MISSING)")
        self.emit(ind, f"if {t} is MISSING:")
        self.emit(ind + 1, f"raise EvalError({self.bind(g[2], 'm')})")
        return t

    def g_meta_key(self, c: Any, g: tuple[Any, ...], ind: int) -> str:
        key = g[1]
        t = self.tmp()
        m = self.tmp()
        self.emit(ind, f"{m} = ctx.message")
        self.emit(ind, f"if {m} is None:")
        self.emit(ind + 1, f"{t} = None")
        self.emit(ind, "else:")
        self.emit(ind + 1, f"{t} = {m}.metadata.get({key!r})")
        self.emit(ind + 1, f"if type({t}) is str:")
        self.emit(ind + 2, f"if not {t}:")
        self.emit(ind + 3, f"{t} = None")
        self.emit(ind + 1, f"elif {t} is not None or {key!r} in {m}.metadata:")
        self.emit(ind + 2, f"{t} = meta_text({t})")
        return t

    def g_func(self, c: Any, g: tuple[Any, ...], ind: int) -> str:
        _, impl, args, site, ann = g
        t = self.tmp()
        e = self.tmp()
        call_args = "".join(", " + self.bind(a, "c") for a in args)
        self.emit(ind, "ctx.this = this")
        self.emit(ind, f"ctx.site_state = {self.bind(site, 's')}")
        self.emit(ind, "try:")
        self.emit(ind + 1, f"{t} = {self.bind(impl, 'i')}(ctx{call_args})")
        self.emit(ind, f"except TypeMismatch as {e}:")
        self.emit(ind + 1, f"raise EvalError({e}.render({self.bind(ann, 'm')})) from None")
        return t

    def g_method(self, c: Any, g: tuple[Any, ...], ind: int) -> str:
        _, target, impl, args, site, fail, has_default, dflt = g
        t = self.tmp()
        e = self.tmp()
        call_args = "".join(", " + self.bind(a, "c") for a in args)
        if has_default:
            self.emit(ind, "try:")
            a = self.expr(target, ind + 1)
            self.emit(ind, "except EvalError:")
            self.emit(ind + 1, f"{t} = {self.bind(dflt, 'c')}")
            self.emit(ind, "else:")
            ind += 1
        else:
            a = self.expr(target, ind)
        if impl is _number_method:
            # numbers need no call: `to_float`
            self.emit(ind, f"if type({a}) is float:")
            self.emit(ind + 1, f"{t} = {a}")
            self.emit(ind, f"elif type({a}) is int:")
            self.emit(ind + 1, f"{t} = float({a})")
            self.emit(ind, "else:")
            ind += 1
        self.emit(ind, "ctx.this = this")
        self.emit(ind, f"ctx.site_state = {self.bind(site, 's')}")
        self.emit(ind, "try:")
        self.emit(ind + 1, f"{t} = {self.bind(impl, 'i')}(ctx, {a}{call_args})")
        self.emit(ind, f"except EvalError as {e}:")
        self.emit(ind + 1, f"raise {self.bind(fail, 'f')}({e}) from None")
        return t

    def g_eq(self, c: Any, g: tuple[Any, ...], ind: int) -> str:
        a = self.expr(g[1], ind)
        b = self.expr(g[2], ind)
        t = self.tmp()
        self.emit(ind, f"if type({a}) is str and type({b}) is str:")
        self.emit(ind + 1, f"{t} = {a} == {b}")
        self.emit(ind, "else:")
        self.emit(ind + 1, f"{t} = values_equal({a}, {b})")
        return t

    def g_coalesce(self, c: Any, g: tuple[Any, ...], ind: int) -> str:
        t = self.tmp()
        self.emit(ind, "try:")
        a = self.expr(g[1], ind + 1)
        self.emit(ind + 1, f"{t} = {a}")
        self.emit(ind, "except EvalError:")
        self.emit(ind + 1, f"{t} = MISSING")
        self.emit(ind, f"if {t} is MISSING or {t} is None or {t} is DELETED or {t} is NOTHING:")
        b = self.expr(g[2], ind + 1)
        self.emit(ind + 1, f"{t} = {b}")
        return t

    def g_arith(self, c: Any, g: tuple[Any, ...], ind: int) -> str:
        """What ``operations.fast_arith`` does, inline."""
        _, op, left, right, impl = g
        rconst = right.const
        impl_name = self.bind(impl, "i")
        a = self.expr(left, ind)
        t = self.tmp()
        if op == "/":
            if rconst is not NOT_CONST:
                cf = self.bind(float(rconst), "c")
                self.emit(ind, f"if type({a}) is float or type({a}) is int:")
                self.emit(ind + 1, f"{t} = float({a}) / {cf}")
                self.emit(ind, "else:")
                self.emit(ind + 1, f"{t} = {impl_name}({a}, {self.bind(rconst, 'c')})")
                return t
            b = self.expr(right, ind)
            self.emit(
                ind,
                f"if (type({a}) is float or type({a}) is int) and (type({b}) is float or type({b}) is int)"
                f" and {b}:",
            )
            self.emit(ind + 1, f"{t} = float({a}) / float({b})")
            self.emit(ind, "else:")
            self.emit(ind + 1, f"{t} = {impl_name}({a}, {b})")
            return t
        pyop = _PY_OPS[op]
        if rconst is not NOT_CONST:
            b = self.bind(rconst, "c")
            if op == "+" and type(rconst) is str:
                self.emit(ind, f"if type({a}) is str:")
                self.emit(ind + 1, f"{t} = {a} + {b}")
                self.emit(ind, "else:")
                self.emit(ind + 1, f"{t} = {impl_name}({a}, {b})")
                return t
        else:
            b = self.expr(right, ind)
        ta, tb = self.tmp(), self.tmp()
        self.emit(ind, f"{ta} = type({a})")
        self.emit(ind, f"{tb} = type({b})")
        self.emit(ind, f"if {ta} is float and ({tb} is float or {tb} is int):")
        self.emit(ind + 1, f"{t} = {a} {pyop} {b}")
        self.emit(ind, f"elif {ta} is int and {tb} is int:")
        self.emit(ind + 1, f"{t} = {a} {pyop} {b}")
        self.emit(ind + 1, f"if not -9223372036854775808 <= {t} <= 9223372036854775807:")
        self.emit(ind + 2, f"{t} = wrap_int64({t})")
        self.emit(ind, f"elif {ta} is int and {tb} is float:")
        self.emit(ind + 1, f"{t} = {a} {pyop} {b}")
        if op == "+":
            self.emit(ind, f"elif {ta} is str and {tb} is str:")
            self.emit(ind + 1, f"{t} = {a} + {b}")
        self.emit(ind, "else:")
        self.emit(ind + 1, f"{t} = {impl_name}({a}, {b})")
        return t

    def g_obj(self, c: Any, g: tuple[Any, ...], ind: int) -> str:
        """What ``object_builder`` generates, with the values written inline."""
        out = self.tmp()
        self.emit(ind, f"{out} = {{}}")
        for kc, vc in g[1]:
            key = kc.const
            const = vc.const
            if const is not NOT_CONST:
                if const is DELETED or const is NOTHING:
                    continue
                if type(const) in (dict, list):
                    self.emit(ind, f"{out}[{key!r}] = clone({self.bind(const, 'c')})")
                else:
                    self.emit(ind, f"{out}[{key!r}] = {self.bind(const, 'c')}")
                continue
            msg = self.bind(f"failed to resolve '{key}' value: ", "m")
            e = self.tmp()
            gen = vc.gen
            if gen is not None and gen[0] == "this" and len(gen[1]) == 1:
                # as `object_builder`: the dict read outside the value's error prefix
                v = self.tmp()
                f = self.bind(vc.fn, "f")
                self.emit(ind, "if type(this) is dict:")
                self.emit(ind + 1, f"{v} = this.get({gen[1][0]!r})")
                self.emit(ind + 1, f"if type({v}) is not str and ctx.pending is not None:")
                self.emit(ind + 2, f"{v} = pending_read(ctx, this, {v}, {f})")
                self.emit(ind, "else:")
                self.emit(ind + 1, "try:")
                self.emit(ind + 2, f"{v} = {f}(ctx, this)")
                self.emit(ind + 1, f"except EvalError as {e}:")
                self.emit(ind + 2, f"raise EvalError({msg} + {e}.message) from None")
            else:
                self.emit(ind, "try:")
                v = self.expr(vc, ind + 1)
                self.emit(ind, f"except EvalError as {e}:")
                self.emit(ind + 1, f"raise EvalError({msg} + {e}.message) from None")
            if not vc.fresh:
                v = self.local(v, ind)
            self.emit(ind, f"if {v} is not DELETED and {v} is not NOTHING:")
            if not vc.fresh:
                self.emit(ind + 1, f"if type({v}) is dict or type({v}) is list:")
                self.emit(ind + 2, f"{v} = clone({v})")
            self.emit(ind + 1, f"{out}[{key!r}] = {v}")
        return out

    # --- statements --------------------------------------------------------------------------

    def statement(self, st: Any, value: Any, store: Callable[[CallContext, Any], None] | None) -> None:
        prefix = self.bind(f"failed assignment (line {st.line}): ", "m")
        pos = f"{int(st.line)}, {int(st.column)}"
        e = self.tmp()
        self.emit(1, f"# line {int(st.line)}")
        self.emit(1, "try:")
        v = self.expr(value, 2)
        if store is not None:
            self.emit(2, f"if {v} is not NOTHING:")
            self.emit(3, f"{self.bind(store, 'f')}(ctx, {v})")
        elif st.kind == "let":
            name = str(st.path)
            self.emit(2, f"if {v} is DELETED:")
            self.emit(3, f"vars_.pop({name!r}, None)")
            self.emit(2, f"elif {v} is not NOTHING:")
            self.emit(3, f"vars_[{name!r}] = {v}")
        else:  # root = v
            if not value.fresh:
                v = self.local(v, 2)
            self.emit(2, f"if {v} is not NOTHING:")
            if not value.fresh:
                self.emit(3, f"if type({v}) is dict or type({v}) is list:")
                self.emit(4, f"{v} = clone({v})")
            self.emit(3, f"ctx.root = {v}")
        self.emit(1, "except StatementError:")
        self.emit(2, "raise")
        self.emit(1, f"except EvalError as {e}:")
        self.emit(2, f"raise StatementError({prefix} + {e}.message, {pos}) from None")
        self.emit(1, "except RecursionError:")
        self.emit(2, f"raise StatementError({prefix} + 'maximum recursion depth exceeded', {pos}) from None")


def fuse(
    statements: list[Fn],
    assignments: dict[Fn, tuple[Any, Any, Callable[[CallContext, Any], None] | None]],
) -> Fn:
    """One function running ``statements`` in order (see the module docstring)."""
    w = _Writer()
    w.emit(0, "def body(ctx, this):")
    w.emit(1, "vars_ = ctx.vars")
    for fn in statements:
        info = assignments.get(fn)
        if info is None:
            w.emit(1, f"{w.bind(fn, 'f')}(ctx, this)")
        else:
            w.statement(*info)
    w.emit(1, "return None")
    source = "\n".join(w.lines)
    exec(compile(source, "<mapping body>", "exec"), w.env)  # noqa: S102 - identifiers and repr()'d strings only
    body: Fn = w.env["body"]
    body.__doc__ = source  # what ran, for debugging
    return body


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
    v = vars_get({name}, MISSING)
    if v is MISSING:
        raise EvalError({msg} + {undefined})"""
_OBJ_STORE = """
    if v is not DELETED and v is not NOTHING:
        out[{key}] = v"""
_OBJ_STORE_COPY = """
    if v is not DELETED and v is not NOTHING:
        if type(v) is dict or type(v) is list:
            v = clone(v)
        out[{key}] = v"""


def object_builder(pairs: list[tuple[Compiled, Compiled]]) -> Fn:
    """Generate ``obj(ctx, this)`` for an object literal whose keys are all constant strings.

    Constant values are stored directly, ``this.field`` and ``$var`` reads are inlined and other
    values are called; errors keep the ``failed to resolve 'key' value:`` prefix."""
    env: dict[str, Any] = {
        "EvalError": EvalError,
        "DELETED": DELETED,
        "NOTHING": NOTHING,
        "clone": clone,
        "MISSING": MISSING,
        "pending_read": pending_read,
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
        if const is not NOT_CONST:
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
