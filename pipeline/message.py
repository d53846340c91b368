"""Messages and batches.

A message is a payload of bytes with a lazily parsed structured view, a metadata map and an
error flag. The bytes and the structured view are kept in step lazily: setting one invalidates the
other, and whichever is asked for is produced on demand with the engine's single JSON codec
(``mapping_lang.value``), so that a payload is parsed at most once and serialised at most once.
Bytes the engine made from an object or array are known to be its exact serialisation
(:meth:`Message.serialised_json`), so a batch of such messages can be joined into a JSON array
without serialising every value again (:func:`json_array_bytes`).
"""

from __future__ import annotations

import itertools
from typing import Any

from mapping_lang.value import format_json, parse_json, to_text

_UNSET: Any = object()
_ORIGINS = itertools.count(1)


class Message:
    """One message: ``content`` bytes, a structured view, ``metadata`` and an ``error`` flag."""

    __slots__ = (
        "_content",
        "_structured",
        "_serialised",
        "metadata",
        "error",
        "collapsed",
        "context",
        "origin",
    )

    def __init__(
        self,
        content: bytes = b"",
        metadata: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        self._content: bytes | None = content
        self._structured: Any = _UNSET
        # whether _content was made from _structured (an object or array) by format_json
        self._serialised = False
        self.metadata: dict[str, Any] = {} if metadata is None else metadata
        self.error: str | None = error
        # How many original messages this one stands for (archive collapses N into 1).
        self.collapsed: int = 1
        # Per-message transport context (e.g. the HTTP request awaiting a sync_response).
        self.context: dict[str, Any] | None = None
        # Which message of a transaction this one was made from (see mark_origins); copies keep it.
        self.origin: int | None = None

    @classmethod
    def from_structured(cls, value: Any, metadata: dict[str, Any] | None = None) -> Message:
        msg = cls(b"", metadata)
        msg.set_structured(value)
        return msg

    @property
    def content(self) -> bytes:
        if self._content is None:
            structured = self._structured
            self._content = format_json(structured)
            # a top-level string is written apart (format_json special-cases it): not spliceable
            self._serialised = type(structured) is dict or type(structured) is list
        return self._content

    @content.setter
    def content(self, data: bytes) -> None:
        self._content = data
        self._structured = _UNSET
        self._serialised = False

    def serialised_json(self) -> bytes | None:
        """The content when the engine made it from the structured view (an object or an array),
        so that it is exactly that value's JSON as ``format_json`` writes it; otherwise None (the
        bytes came from elsewhere and may differ in spacing, key order or number text)."""
        return self._content if self._serialised else None

    def structured(self) -> Any:
        """The payload parsed as JSON (cached). Raises ``ValueError`` when it is not JSON."""
        if self._structured is _UNSET:
            self._structured = parse_json(self._content or b"")
        return self._structured

    def cache_structured(self, value: Any) -> None:
        """Record ``value`` as the parse of the current content (which stays as it is)."""
        self._structured = value
        self._serialised = False

    def has_structured(self) -> bool:
        return self._structured is not _UNSET

    def has_content(self) -> bool:
        """Whether the bytes are current (false while a changed structured view awaits serialising)."""
        return self._content is not None

    def set_structured(self, value: Any) -> None:
        self._structured = value
        self._content = None
        self._serialised = False

    def copy(self, metadata: dict[str, Any] | None = None) -> Message:
        """A copy whose metadata can change independently (the structured view is shared).

        ``metadata``, when given, becomes the copy's own metadata instead of a copy of this one's."""
        new = Message.__new__(Message)
        new._content = self._content
        new._structured = self._structured
        new._serialised = self._serialised
        new.metadata = dict(self.metadata) if metadata is None else metadata
        new.error = self.error
        new.collapsed = self.collapsed
        new.context = self.context
        new.origin = self.origin
        return new

    def deep_copy(self) -> Message:
        """A copy that shares nothing mutable with this one (used to keep replayable originals)."""
        new = self.copy()
        if self._content is None:
            new._content = self.content
        new._structured = _UNSET
        new._serialised = False
        return new

    def meta_str(self, key: str) -> str | None:
        """A metadata value as text, as outputs and ``meta()`` see it."""
        if key not in self.metadata:
            return None

        return to_text(self.metadata[key])

    def __repr__(self) -> str:
        body = self.content
        shown = body[:60] + (b"..." if len(body) > 60 else b"")
        return f"Message({shown!r}, metadata={self.metadata!r}, error={self.error!r})"


Batch = list[Message]


def mark_origins(batch: list[Message]) -> None:
    """Give each message that has none a fresh ``origin``: a number unique in the process, which
    every copy made from the message keeps (through processors that copy, and the copies an output
    makes for its children), so that a ``BatchError`` about written messages can be traced back to
    the messages of the transaction they were made from."""
    for msg in batch:
        if msg.origin is None:
            msg.origin = next(_ORIGINS)


def batch_size_bytes(batch: list[Message]) -> int:
    return sum(len(m.content) for m in batch)


def json_array_bytes(batch: list[Message]) -> bytes | None:
    """``format_json`` of the array of the messages' values, made by joining their bytes, when
    every message's content is the engine's own serialisation of its value (see
    :meth:`Message.serialised_json`); None otherwise (the caller serialises the values)."""
    parts = []
    for msg in batch:
        part = msg.serialised_json()
        if part is None:
            return None
        parts.append(part)
    return b"[" + b",".join(parts) + b"]"
