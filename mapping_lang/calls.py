"""Compiling function and method calls: binding arguments to parameters (by position or name,
with upstream's coercions and error texts), preparing literal arguments once, folding pure calls
on constants, and the calls the language itself defines (``catch``, ``or``, ``from``,
``from_all``, ``apply``, ``meta``, ``var``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mapping_lang import library
from mapping_lang.compile_state import CompileState
from mapping_lang.compiled import (
    MISSING,
    NOT_CONST,
    Compiled,
    StatementError,
    fold_ctx,
    leaf_identity,
    map_depth_limit,
    memoised,
    structured_or_unparsed,
)
from mapping_lang.context import CallContext
from mapping_lang.cost import bounded_call
from mapping_lang.errors import BareError, EvalError, TypeMismatch
from mapping_lang.functions.core import _meta_text as _core_meta_text
from mapping_lang.functions.core import meta as _core_meta
from mapping_lang.operations import (
    closest_name,
)
from mapping_lang.parser import (
    Call,
    Literal,
)
from mapping_lang.value import (
    DELETED,
    NOTHING,
    JsonNumber,
    is_number,
    normalise_number,
    to_float,
    to_int64,
    type_name,
)

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
# calls


class CallCompiler(CompileState):
    def bind(self, spec: library.Spec, node: Call) -> list[tuple[library.Param, Any]]:
        """Match the call's arguments to the spec's parameters: [(param, ast node or MISSING)]."""
        params = spec.params
        variadic = bool(params) and params[-1].name.startswith("*")
        kind = "function" if spec.kind == "function" else "method"
        if node.named is not None:
            if variadic:
                raise self.error(f"{kind} {spec.name} does not support named arguments", node)
            names = {p.name for p in params}
            for n in node.named:
                if n not in names:
                    close = closest_name(n, sorted(names))
                    hint = f", did you mean {close}?" if close else ""
                    raise self.error(f"unknown parameter {n}{hint}", node)
            bound = [(p, node.named.get(p.name, MISSING)) for p in params]
        else:
            args = node.args
            fixed = params[:-1] if variadic else params
            if len(args) > len(fixed) and not variadic:
                raise self.error(f"wrong number of arguments, expected {len(params)}, got {len(args)}", node)
            bound = [(p, args[i] if i < len(args) else MISSING) for i, p in enumerate(fixed)]
            if variadic:
                bound += [(params[-1], a) for a in args[len(fixed) :]]
        missing = [
            p.name
            for p, a in bound
            if a is MISSING
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
            if a is MISSING:
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
            if c.const is not NOT_CONST:
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
        library.load_builtins()
        spec = library.FUNCTIONS.get(name)
        if spec is None:
            raise self.error(f"unrecognised function '{name}'", node)
        if not bounded_call("function", name):
            self.unbounded_calls.add(f"{name}()")
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
        library.load_builtins()
        spec = library.METHODS.get(name)
        if spec is None:
            raise self.error(f"unrecognised method '{name}'", node)
        if not bounded_call("method", name):
            self.unbounded_calls.add(f".{name}()")
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
            if isinstance(e, (StatementError, BareError)):
                return e
            return EvalError(f"{tann}: {e.message}")

        if build is None:
            args = tuple(items)
            if target.const is not NOT_CONST and not spec.impure:
                # fold pure calls on literals; failures stay runtime errors
                try:
                    folded = impl(fold_ctx(), target.const, *args)
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

                return Compiled(memoised(read, derive), ann, leaf=(read, derive))

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
            return tfn(sub, structured_or_unparsed(sub))

        return Compiled(from_, target.ann)

    def m_from_all(self, node: Call, spec: library.Spec) -> Compiled:
        target = self.expr(node.target)
        tfn = target.fn

        def from_all(ctx: CallContext, this: Any) -> Any:
            out = []
            for i in range(len(ctx.batch)):
                sub = ctx.for_index(i)
                out.append(tfn(sub, structured_or_unparsed(sub)))
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
                limit = map_depth_limit()
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

        return Compiled(meta_key, "function meta", leaf=(meta_key, leaf_identity), gen=("meta_key", key))

    def fn_var(self, node: Call, spec: library.Spec) -> Compiled:
        items, dyn, _, params = self.compile_args(spec, node)
        build = self._arg_builder(spec, items, dyn, params)

        def var(ctx: CallContext, this: Any) -> Any:
            name = (build(ctx, this) if build else items)[0]
            v = ctx.vars.get(name, MISSING)
            if v is MISSING:
                raise EvalError(f"variable '{name}' undefined")
            return v

        return Compiled(var, "function var")
