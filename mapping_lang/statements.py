"""Compiling statements: the program and its maps and imports, assignments to ``root``, ``this``
paths, ``meta`` and variables, ``if`` statements, and the ``failed assignment (line N):`` guard.

Upstream assigns through a ``mapping.Executor``; here each statement is one closure, and plain
top-level assignments are also recorded for ``codegen.fuse``.
"""

from __future__ import annotations

import os
from typing import Any

from mapping_lang.assign_path import assign as assign_path
from mapping_lang.compile_state import CompileState
from mapping_lang.compiled import (
    Fn,
    StatementError,
    clone,
)
from mapping_lang.context import CallContext
from mapping_lang.errors import EvalError, MappingError
from mapping_lang.operations import (
    go_type,
    show_value,
)
from mapping_lang.parser import (
    Assign,
    IfStmt,
    MapDef,
    Program,
    _From,
    _Import,
    parse,
)
from mapping_lang.value import (
    DELETED,
    NOTHING,
)


class StatementCompiler(CompileState):
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
        sub = type(self)(base_dir=os.path.dirname(full) or None, mapping_state=self.mapping_state)
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
                        f"{c.ann or 'if statement'} resolved to a non-boolean value {show_value(v)} ({go_type(v)})"
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
                            f"setting root meta object requires object value, received: {go_type(v)}"
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

        def set_path_store(ctx: CallContext, v: Any) -> None:
            if copy and type(v) in (dict, list):
                v = clone(v)
            ctx.root = assign_path(ctx.root, v, segments)

        def set_path(ctx: CallContext, this: Any) -> None:
            v = vfn(ctx, this)
            if v is NOTHING:
                return
            set_path_store(ctx, v)

        self._last = (value, set_path_store)
        return set_path
