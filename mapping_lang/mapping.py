"""A compiled mapping and how it runs: ``Mapping.apply`` on bytes and metadata, and the
message-level entry points the runtime's processors use (``map_message``, ``mutate_message``,
``query``, ``check``) on any ``MessageLike``.

Upstream's ``mapping.Executor`` runs a mapping against a ``message.Part``; here the message is
whatever satisfies ``document.MessageLike`` (the runtime's ``Message``, or ``Document``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mapping_lang.codegen import fuse
from mapping_lang.compiled import StatementError, Unparsed, clone, structured_or_unparsed
from mapping_lang.compiler import Compiler
from mapping_lang.context import CallContext
from mapping_lang.document import Document, MessageLike
from mapping_lang.errors import EvalError, MappingError
from mapping_lang.parser import _From, parse
from mapping_lang.value import DELETED, NOTHING, parse_json_pending, type_name

M = TypeVar("M", bound=MessageLike)


@dataclass
class MappingResult:
    content: bytes | None
    metadata: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False


class Mapping:
    """A compiled mapping. Thread-safe to run; per-mapping state (``counter()``) is shared."""

    def __init__(self, source: str, *, path: str | None = None) -> None:
        self.source = source
        self.path = path
        base_dir = os.path.dirname(os.path.abspath(path)) if path else None
        try:
            prog = parse(source)
            if len(prog.statements) == 1 and isinstance(prog.statements[0], _From):
                st = prog.statements[0]
                full = st.path if os.path.isabs(st.path) or not base_dir else os.path.join(base_dir, st.path)
                try:
                    with open(full, encoding="utf-8") as f:
                        text = f.read()
                except OSError as e:
                    raise Compiler.error(f"failed to read '{st.path}': {e.strerror or e}", st) from None
                try:
                    prog = parse(text)
                except MappingError as e:
                    raise Compiler.error(f"failed to parse '{st.path}': {e}", st) from None
                base_dir = os.path.dirname(os.path.abspath(full))
            self.mapping_state: dict[Any, Any] = {}
            comp = Compiler(base_dir=base_dir, mapping_state=self.mapping_state)
            self._statements = comp.program(prog)
            # the statements as one generated function (mutation runs the statement list)
            self._body = fuse(self._statements, comp.assignments)
        except RecursionError:
            raise MappingError("line 1 char 1: mapping is too deeply nested", 1, 1) from None
        self._maps = comp.maps
        self._uses_this = comp.uses_this
        # the calls that can run for long (``mapping_lang.cost``), for ``bounded``
        self.unbounded_calls = frozenset(comp.unbounded_calls)
        self._base_dir = base_dir

    @property
    def bounded(self) -> bool:
        """Whether the mapping's running time is bounded by the size of the message it reads and
        of the mapping itself: it calls nothing that loops, recurses or waits (``cost``)."""
        return not self.unbounded_calls

    # --- execution core --------------------------------------------------------------------

    def _context(
        self, msg: MessageLike | None, batch: list[Any] | None, index: int, meta_out: dict[str, Any]
    ) -> CallContext:
        ctx = CallContext(
            msg,
            batch if batch is not None else [msg],
            index,
            meta_out,
            None,
            self.mapping_state,
            self._maps,
            self._base_dir,
        )
        return ctx

    def _run(self, ctx: CallContext, this: Any) -> None:
        try:
            self._body(ctx, this)
        except StatementError as e:
            raise MappingError(e.message, e.line, e.column) from None
        except EvalError as e:
            raise MappingError(e.message) from None
        except RecursionError:
            raise MappingError("failed assignment: maximum recursion depth exceeded") from None

    def _this(self, ctx: CallContext) -> Any:
        if not self._uses_this:
            return None
        m = ctx.message
        if m is not None and not m.has_structured():
            # parse without proving the numbers exact: the engine proves them on first need
            try:
                doc, proven = parse_json_pending(m.content)
            except ValueError:
                pass  # the usual path below reports it
            else:
                if proven:
                    m.cache_structured(doc)
                else:
                    ctx.pending = doc
                    ctx.pending_raw = m.content
                ctx.input_this = doc
                return doc
        this = structured_or_unparsed(ctx)
        if this.__class__ is not Unparsed:
            ctx.input_this = this
        return this

    # --- message-level entry points ----------------------------------------------------------

    def map_message(self, msg: M, batch: list[M] | None = None, index: int = 0) -> M | None:
        """Mapping-processor semantics: a new message, or None when the mapping deleted it."""
        meta_out = dict(msg.metadata)
        ctx = CallContext(
            msg,
            batch if batch is not None else [msg],
            index,
            meta_out,
            None,
            self.mapping_state,
            self._maps,
            self._base_dir,
        )
        self._run(ctx, self._this(ctx))
        root = ctx.root
        if ctx.pending_raw and ctx.pending is None:
            msg.cache_structured(ctx.input_this)  # proven while mapping
        if root is DELETED:
            return None
        new = msg.copy(meta_out)
        if root is not NOTHING:
            _set_payload(new, root)
        return new

    def mutate_message(self, msg: M, batch: list[M] | None = None, index: int = 0) -> M | None:
        """Mutation semantics: ``root`` starts as (a copy of) the input document and ``this`` aliases
        it, also after ``root`` is replaced as a whole."""
        ctx = self._context(msg, batch, index, dict(msg.metadata))
        this = initial = structured_or_unparsed(ctx)
        if this.__class__ is not Unparsed:
            this = initial = clone(this)
            ctx.root = this
            ctx.input_this = this
        try:
            for st in self._statements:
                st(ctx, this)
                root = ctx.root
                if root is not this and root is not NOTHING and root is not DELETED:
                    this = ctx.input_this = root
        except StatementError as e:
            raise MappingError(e.message, e.line, e.column) from None
        except EvalError as e:
            raise MappingError(e.message) from None
        except RecursionError:
            raise MappingError("failed assignment: maximum recursion depth exceeded") from None
        root = ctx.root
        if root is DELETED:
            return None
        new = msg.copy(ctx.metadata_out)
        if root is initial:
            new.set_structured(root)  # the input document, edited in place
        elif root is not NOTHING:
            _set_payload(new, root)
        return new

    def map_onto(self, onto: M, batch: list[Any], index: int) -> M | None:
        """Upstream's ``MapOnto`` (``branch``): ``this`` and ``metadata()`` read ``batch[index]``,
        while ``root`` starts as ``onto``'s document (when it parses) and ``@`` as its metadata.
        Returns the new message, or None when the mapping deleted it."""
        meta_out = dict(onto.metadata)
        ctx = self._context(batch[index], batch, index, meta_out)
        try:
            ctx.root = clone(onto.structured())
        except ValueError:
            pass  # not a document: root starts as nothing
        self._run(ctx, self._this(ctx))
        root = ctx.root
        if root is DELETED:
            return None
        new = onto.copy(meta_out)
        if root is not NOTHING:
            _set_payload(new, root)
        return new

    def query(self, msg: MessageLike | None, batch: list[Any] | None = None, index: int = 0) -> Any:
        """The value the mapping assigns to ``root`` (NOTHING if none, DELETED if deleted)."""
        ctx = self._context(msg, batch, index, dict(msg.metadata) if msg is not None else {})
        self._run(ctx, self._this(ctx))
        return ctx.root

    def check(self, msg: MessageLike | None, batch: list[Any] | None = None, index: int = 0) -> bool:
        v = self.query(msg, batch, index)
        if v is DELETED:
            raise MappingError("query mapping resulted in deleted message, expected a boolean value")
        if type(v) is not bool:
            raise MappingError(f"expected bool value, got {type_name(v)} from mapping")
        return v

    def map_value(
        self, value: Any, metadata: dict[str, Any], variables: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Run on a bare value (``this``) with metadata and preset variables (``$name``), as
        upstream's metrics mapping runs on a metric name and its labels: returns what ``root``
        became (``NOTHING`` when unassigned, ``DELETED``) and the metadata the mapping left."""
        doc = Document(b"", dict(metadata))
        doc.set_structured(value)
        meta_out = dict(metadata)
        ctx = self._context(doc, None, 0, meta_out)
        if variables:
            ctx.vars.update(variables)
        self._run(ctx, self._this(ctx))
        return ctx.root, meta_out

    # --- bytes in, bytes out -----------------------------------------------------------------

    def apply(self, content: bytes, metadata: dict[str, Any] | None = None) -> MappingResult:
        msg = Document(content, dict(metadata or {}))
        out = self.map_message(msg)
        if out is None:
            return MappingResult(None, dict(msg.metadata), True)
        try:
            content = out.content
        except ValueError as err:  # a NaN or infinity has no JSON form, as in Go's encoder
            raise MappingError(str(err)) from None
        return MappingResult(content, out.metadata, False)


def _set_payload(msg: MessageLike, root: Any) -> None:
    if root is NOTHING:
        return
    t = type(root)
    if t is str:
        msg.content = root.encode("utf-8", "surrogatepass")
    elif t is bytes:
        msg.content = root
    else:
        msg.set_structured(root)


def compile(source: str, *, path: str | None = None) -> Mapping:  # noqa: A001 - the public name
    """Compile a Bloblang mapping (raises ``MappingError`` with line/column)."""
    return Mapping(source, path=path)


def compile_query(expr_source: str) -> Mapping:
    """Compile a single expression; ``Mapping.query`` returns its value."""
    return Mapping(expr_source)
