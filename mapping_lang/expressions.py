"""Compiling expressions: literals, paths, ``meta``/variable references, operators, ``if`` and
``match`` expressions, captures and lambdas.

Constant sub-expressions are folded at compile time; object literals with constant keys become
generated straight-line functions (``codegen.object_builder``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mapping_lang.codegen import object_builder
from mapping_lang.compile_state import CompileState
from mapping_lang.compiled import (
    MISSING,
    NOT_CONST,
    Compiled,
    Fn,
    Unparsed,
    clone,
    leaf_identity,
    memoised,
)
from mapping_lang.context import CallContext
from mapping_lang.errors import EvalError, MappingError, TypeMismatch
from mapping_lang.operations import (
    arith_op,
    escaped_path,
    fast_arith,
    get_seg,
    go_type,
    literal_ann,
    make_getter,
    pending_read,
    show_value,
    truthy,
)
from mapping_lang.parser import (
    ArrayLit,
    BinOp,
    Call,
    Capture,
    IfExpr,
    Lambda,
    Literal,
    Match,
    MetaRef,
    ObjectLit,
    Path,
    Unary,
    VarRef,
    _RawIf,
)
from mapping_lang.parser import (
    _expr as _as_expr,
)
from mapping_lang.value import (
    DELETED,
    NOTHING,
    values_equal,
)


class ExpressionCompiler(CompileState):
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
        return Compiled(lambda ctx, this: v, literal_ann(v), v, True)

    def x_ArrayLit(self, node: ArrayLit) -> Compiled:
        items = [self.expr(x) for x in node.items]
        if all(c.const is not NOT_CONST for c in items):
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

        return Compiled(arr, "array literal", NOT_CONST, True)

    def x_ObjectLit(self, node: ObjectLit) -> Compiled:
        pairs = []
        all_const = True
        for k, v in node.pairs:
            kc = self.expr(k)
            vc = self.expr(v)
            if kc.const is not NOT_CONST and type(kc.const) is not str:
                raise self.error(f"object keys must be strings, received: {go_type(kc.const)}", k)
            if kc.const is NOT_CONST or vc.const is NOT_CONST:
                all_const = False
            pairs.append((kc, vc))
        if all_const:
            value = {
                kc.const: vc.const for kc, vc in pairs if vc.const is not DELETED and vc.const is not NOTHING
            }
            return Compiled(lambda ctx, this: clone(value), "object literal", value, True)
        if all(kc.const is not NOT_CONST for kc, _ in pairs):
            return Compiled(object_builder(pairs), "object literal", NOT_CONST, True, gen=("obj", pairs))
        dyn = [(kc.fn, vc.fn, not vc.fresh) for kc, vc in pairs]

        def dobj(ctx: CallContext, this: Any) -> dict[str, Any]:
            out = {}
            for kfn, fn, copy in dyn:
                key = kfn(ctx, this)
                if type(key) is bytes:
                    key = key.decode("utf-8", "replace")
                elif type(key) is not str:
                    raise EvalError(f"mapping returned invalid key type: {go_type(key)}")
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

        return Compiled(dobj, "object literal", NOT_CONST, True)

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
        getter = make_getter(segments)
        if base == "this":
            self.uses_this = True
            text = escaped_path("this", segments)
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
                        v = get_seg(this, s0)
                    if ctx.pending is None or type(v) is str:
                        return v
                    return pending_read(ctx, this, v, this_1)

                return Compiled(this_1, ann, shape=("this", s0), gen=("this", (s0,)))

            if len(segments) == 2:
                s0, s1 = segments

                def this_2(ctx: CallContext, this: Any) -> Any:
                    if type(this) is dict:
                        v = this.get(s0)
                        v = v.get(s1) if type(v) is dict else get_seg(v, s1)
                    elif this.__class__ is Unparsed:
                        raise this.fail(text)
                    else:
                        v = getter(this)
                    if ctx.pending is None or type(v) is str:
                        return v
                    return pending_read(ctx, this, v, this_2)

                return Compiled(this_2, ann, gen=("this", (s0, s1)))

            def this_n(ctx: CallContext, this: Any) -> Any:
                if this.__class__ is Unparsed:
                    raise this.fail(text)
                v = getter(this)
                if ctx.pending is None or type(v) is str:
                    return v
                return pending_read(ctx, this, v, this_n)

            return Compiled(this_n, ann, gen=("this", tuple(segments)))
        if base == "root":
            ann = f"field `{escaped_path('root', segments)}`"
            if not segments:
                return Compiled(lambda ctx, this: ctx.root, ann)

            def root_fn(ctx: CallContext, this: Any) -> Any:
                r = ctx.root
                if r is NOTHING:
                    return None
                return getter(r)

            return Compiled(root_fn, ann)
        if base == "label":
            ann = f"field `{escaped_path(label, segments)}`"
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

        if target.const is not NOT_CONST:
            v = getter(target.const)
            return Compiled(lambda ctx, this: v, target.ann, v)
        return Compiled(expr_path, target.ann)

    def x_MetaRef(self, node: MetaRef) -> Compiled:
        key = node.key
        if key is None:
            return Compiled(lambda ctx, this: dict(ctx.metadata_out), "metadata object", NOT_CONST, True)

        def meta_field(ctx: CallContext, this: Any) -> Any:
            return ctx.metadata_out.get(key)

        return Compiled(meta_field, f"meta field {key}", leaf=(meta_field, leaf_identity))

    def x_VarRef(self, node: VarRef) -> Compiled:
        name = node.name
        msg = f"variable '{name}' undefined"

        def var(ctx: CallContext, this: Any) -> Any:
            v = ctx.vars.get(name, MISSING)
            if v is MISSING:
                raise EvalError(msg)
            return v

        return Compiled(var, f"variable {name}", shape=("var", name), gen=("var", name, msg))

    def x_Unary(self, node: Unary) -> Compiled:
        x = self.expr(node.operand)
        fn = x.fn
        if node.op == "-":
            zero = Compiled(lambda ctx, this: 0, "number literal", 0)
            sub = arith_op("-", zero, x)
            if x.const is not NOT_CONST:
                try:
                    v = sub(0, x.const)
                except EvalError as e:
                    raise self.error(str(e), node) from None
                return Compiled(lambda ctx, this: v, literal_ann(v), v, True)
            return Compiled(lambda ctx, this: sub(0, fn(ctx, this)), x.ann, NOT_CONST, True)

        def not_fn(ctx: CallContext, this: Any) -> Any:
            v = fn(ctx, this)
            if v is True:
                return False
            if v is False:
                return True
            raise EvalError(TypeMismatch("bool", v).render(x.ann))

        return Compiled(not_fn, x.ann, NOT_CONST, True)

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
                coalesce, left.ann, NOT_CONST, left.fresh and right.fresh, gen=("coalesce", left, right)
            )
        if op == "&&":

            def and_fn(ctx: CallContext, this: Any) -> Any:
                if not truthy(lf(ctx, this), left):
                    return False
                return truthy(rf(ctx, this), right)

            return Compiled(and_fn, None, NOT_CONST, True)
        if op == "||":

            def or_fn(ctx: CallContext, this: Any) -> Any:
                if truthy(lf(ctx, this), left):
                    return True
                return truthy(rf(ctx, this), right)

            return Compiled(or_fn, None, NOT_CONST, True)
        impl = arith_op(op, left, right)
        if left.const is not NOT_CONST and right.const is not NOT_CONST:
            try:
                v = impl(left.const, right.const)
            except EvalError as e:
                raise self.error(str(e), node) from None
            return Compiled(lambda ctx, this: v, literal_ann(v), v, True)
        if op == "==":

            def eq(ctx: CallContext, this: Any) -> bool:
                a = lf(ctx, this)
                b = rf(ctx, this)
                if type(a) is str and type(b) is str:
                    return a == b
                return values_equal(a, b)

            return Compiled(eq, None, NOT_CONST, True, gen=("eq", left, right))
        if left.leaf is not None and right.const is not NOT_CONST:
            read, derive_left = left.leaf
            rc = right.const

            def derive_l(ctx: CallContext, this: Any, v: Any) -> Any:
                return impl(derive_left(ctx, this, v), rc)

            return Compiled(memoised(read, derive_l), None, NOT_CONST, True, leaf=(read, derive_l))
        if right.leaf is not None and left.const is not NOT_CONST:
            read, derive_right = right.leaf
            lc = left.const

            def derive_r(ctx: CallContext, this: Any, v: Any) -> Any:
                return impl(lc, derive_right(ctx, this, v))

            return Compiled(memoised(read, derive_r), None, NOT_CONST, True, leaf=(read, derive_r))
        fast = fast_arith(op, lf, rf, right.const, impl)
        if fast is not None:
            return Compiled(fast, None, NOT_CONST, True, gen=("arith", op, left, right, impl))
        if right.const is not NOT_CONST:
            c = right.const
            return Compiled(lambda ctx, this: impl(lf(ctx, this), c), None, NOT_CONST, True)
        return Compiled(lambda ctx, this: impl(lf(ctx, this), rf(ctx, this)), None, NOT_CONST, True)

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
                    f"{c.ann or 'if expression'} resolved to a non-boolean value {show_value(v)} ({go_type(v)})"
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
            if isinstance(pattern, (Literal, ArrayLit, ObjectLit)) and p.const is not NOT_CONST:
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
                old = labels.get(name, MISSING)
                labels[name] = v
                try:
                    return bfn(ctx, this)
                finally:
                    if old is MISSING:
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
            old = labels.get(name, MISSING)
            labels[name] = this
            try:
                return bfn(ctx, this)
            finally:
                if old is MISSING:
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
                    old = labels.get(name, MISSING)
                    labels[name] = v
                    try:
                        return bfn(ctx, this)
                    finally:
                        if old is MISSING:
                            labels.pop(name, None)
                        else:
                            labels[name] = old

                return q

            return make_named
        c = self.expr(node)
        if c.const is not NOT_CONST:
            k = c.const
            return lambda ctx, this: lambda v: clone(k)
        fn = c.fn
        return lambda ctx, this: lambda v: fn(ctx, v)

    # --- calls -----------------------------------------------------------------------------

    def x_Call(self, node: Call) -> Compiled:
        if node.target is None:
            return self.function_call(node)
        return self.method_call(node)
