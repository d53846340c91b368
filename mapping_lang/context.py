"""The per-execution state of a mapping, passed as ``ctx`` to every function and method.

One ``CallContext`` is created per mapping execution (per message). Implementations registered
with ``mapping_lang.library`` receive it as their first argument and may read:

``ctx.message``       the input message (``document.MessageLike``; None when evaluating without one).
``ctx.batch``         the batch (list of messages) the message belongs to (``[message]`` by default).
``ctx.index``         the message's index in ``batch``.
``ctx.metadata_in``   the input message's metadata (read-only view; ``{}`` without a message).
``ctx.metadata_out``  the output message's metadata (what ``@k`` reads and ``meta k = v`` writes).
``ctx.vars``          the variable table (``let``/``$x``) of the current map scope.
``ctx.this``          the current query context (``this``) at the point of the call.
``ctx.root``          the output document under construction (``NOTHING`` before assignment).
``ctx.env``           the environment mapping (``os.environ`` unless overridden).
``ctx.now()``         the current time, a timezone-aware ``datetime`` in the local zone. Tests may
                      replace the module-level ``clock`` function to freeze time.
``ctx.site_state``    a dict private to the call site (one per function/method call in the mapping
                      source) that lives as long as the compiled mapping: use it for per-call-site
                      state such as ``random_int``'s generator or ``counter()``'s value.
``ctx.mapping_state`` a dict shared by all call sites of the compiled mapping.
``ctx.structured()``  the input message parsed as JSON (raises ``EvalError`` like ``this`` does).
``ctx.content()``     the input message's raw bytes (``b""`` without a message).
``ctx.error``         the input message's error text or None.
``ctx.for_index(i)``  a new context for batch member ``i`` (used by ``.from(i)``).
``ctx.base_dir``      the directory of the mapping file (``None`` for inline mappings).

Implementations raise ``mapping_lang.errors.EvalError`` (or ``TypeMismatch``) to fail.
"""

from __future__ import annotations

import datetime as _dt
import os
import time as _time
from collections.abc import Mapping
from typing import Any

from mapping_lang.errors import EvalError
from mapping_lang.value import NOTHING, settle_document

_LOCAL_IS_UTC = _time.timezone == 0 and _time.altzone == 0 and not _time.daylight


def _default_clock() -> _dt.datetime:
    if _LOCAL_IS_UTC:
        # the `UTC` singleton itself, so that callers converting to local time have nothing to do
        return _dt.datetime.now(_dt.UTC)
    return _dt.datetime.now().astimezone()


clock = _default_clock


class CallContext:
    __slots__ = (
        "message",
        "batch",
        "index",
        "metadata_out",
        "vars",
        "this",
        "root",
        "env",
        "site_state",
        "mapping_state",
        "labels",
        "maps",
        "depth",
        "base_dir",
        "_structured",
        "in_map",
        "input_this",
        "pending",
        "pending_raw",
    )

    def __init__(
        self,
        message: Any = None,
        batch: list[Any] | None = None,
        index: int = 0,
        metadata_out: dict[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        mapping_state: dict[Any, Any] | None = None,
        maps: dict[str, Any] | None = None,
        base_dir: str | None = None,
    ) -> None:
        self.message = message
        self.batch = batch if batch is not None else ([message] if message is not None else [])
        self.index = index
        self.metadata_out = metadata_out if metadata_out is not None else {}
        self.vars: dict[str, Any] = {}
        self.this: Any = None
        self.root: Any = NOTHING
        self.env: Mapping[str, str] = env if env is not None else os.environ
        self.site_state: dict[Any, Any] = {}
        self.mapping_state: dict[Any, Any] = mapping_state if mapping_state is not None else {}
        self.labels: dict[str, Any] = {}
        self.maps: dict[str, Any] = maps if maps is not None else {}
        self.depth = 0
        self.base_dir = base_dir
        self._structured: Any = NOTHING
        self.in_map = False
        self.input_this: Any = NOTHING
        # the input document while it is not yet proven exact (see ``value.parse_json_pending``)
        self.pending: Any = None
        self.pending_raw: bytes = b""

    @property
    def metadata_in(self) -> dict[str, Any]:
        m = self.message
        return m.metadata if m is not None else {}

    @property
    def error(self) -> str | None:
        m = self.message
        return m.error if m is not None else None

    def now(self) -> _dt.datetime:
        return clock()

    def content(self) -> bytes:
        m = self.message
        return m.content if m is not None else b""

    def structured(self) -> Any:
        """The input document (``this`` at the top level); raises ``EvalError`` if not JSON."""
        if self.input_this is not NOTHING:
            if self.pending is not None:
                self.settle()
            return self.input_this
        m = self.message
        if m is None:
            raise EvalError("message is empty")
        try:
            return m.structured()
        except ValueError as e:
            raise EvalError(f"parse as json: {e}") from None

    def settle(self) -> None:
        """Prove the pending input document exact (replacing its contents if it was not)."""
        doc = self.pending
        if doc is None:
            return
        self.pending = None
        try:
            settle_document(doc, self.pending_raw)
        except (ValueError, RecursionError) as e:
            raise EvalError(f"parse as json: {e}") from None

    def for_index(self, index: int) -> CallContext:
        batch = self.batch
        new = CallContext(
            batch[index],
            batch,
            index,
            self.metadata_out,
            self.env,
            self.mapping_state,
            self.maps,
            self.base_dir,
        )
        new.vars = self.vars
        new.root = self.root
        new.depth = self.depth
        new.labels = self.labels
        return new
