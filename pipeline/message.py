"""Messages and batches.

A message is a payload of bytes with a lazily parsed structured view, a metadata map and an
error flag. The bytes and the structured view are kept in step lazily: setting one invalidates the
other, and whichever is asked for is produced on demand with the engine's single JSON codec
(``mapping_lang.value``), so that a payload is parsed at most once and serialised at most once.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.value import format_json, parse_json, to_text

_UNSET: Any = object()


class Message:
    """One message: ``content`` bytes, a structured view, ``metadata`` and an ``error`` flag."""

    __slots__ = ("_content", "_structured", "metadata", "error", "collapsed", "context")

    def __init__(
        self,
        content: bytes = b"",
        metadata: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        self._content: bytes | None = content
        self._structured: Any = _UNSET
        self.metadata: dict[str, Any] = {} if metadata is None else metadata
        self.error: str | None = error
        # How many original messages this one stands for (archive collapses N into 1).
        self.collapsed: int = 1
        # Per-message transport context (e.g. the HTTP request awaiting a sync_response).
        self.context: dict[str, Any] | None = None

    @classmethod
    def from_structured(cls, value: Any, metadata: dict[str, Any] | None = None) -> Message:
        msg = cls(b"", metadata)
        msg.set_structured(value)
        return msg

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = format_json(self._structured)
        return self._content

    @content.setter
    def content(self, data: bytes) -> None:
        self._content = data
        self._structured = _UNSET

    def structured(self) -> Any:
        """The payload parsed as JSON (cached). Raises ``ValueError`` when it is not JSON."""
        if self._structured is _UNSET:
            self._structured = parse_json(self._content or b"")
        return self._structured

    def cache_structured(self, value: Any) -> None:
        """Record ``value`` as the parse of the current content (which stays as it is)."""
        self._structured = value

    def has_structured(self) -> bool:
        return self._structured is not _UNSET

    def has_content(self) -> bool:
        """Whether the bytes are current (false while a changed structured view awaits serialising)."""
        return self._content is not None

    def set_structured(self, value: Any) -> None:
        self._structured = value
        self._content = None

    def copy(self, metadata: dict[str, Any] | None = None) -> Message:
        """A copy whose metadata can change independently (the structured view is shared).

        ``metadata``, when given, becomes the copy's own metadata instead of a copy of this one's."""
        new = Message.__new__(Message)
        new._content = self._content
        new._structured = self._structured
        new.metadata = dict(self.metadata) if metadata is None else metadata
        new.error = self.error
        new.collapsed = self.collapsed
        new.context = self.context
        return new

    def deep_copy(self) -> Message:
        """A copy that shares nothing mutable with this one (used to keep replayable originals)."""
        new = self.copy()
        if self._content is None:
            new._content = self.content
            new._structured = _UNSET
        else:
            new._structured = _UNSET
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


def batch_size_bytes(batch: list[Message]) -> int:
    return sum(len(m.content) for m in batch)
