"""The message shape a mapping reads and writes, and a minimal implementation of it.

Upstream's Bloblang runs on the runtime's ``message.Part``. This package sits below the runtime,
so it states what it needs from a message as a protocol (``MessageLike``); the runtime's
``pipeline.message.Message`` satisfies it, and ``Document`` is the small stand-in used when a
mapping runs on its own (``Mapping.apply``, ``benthic blobl``, interpolation without a message).
"""

from __future__ import annotations

from typing import Any, Protocol, Self

from mapping_lang.value import format_json, parse_json

_UNSET: Any = object()


class MessageLike(Protocol):
    """What the engine uses of a message: bytes, a cached JSON view, metadata and the error
    flag that ``error()`` and ``errored()`` read."""

    metadata: dict[str, Any]
    error: str | None

    @property
    def content(self) -> bytes: ...

    @content.setter
    def content(self, data: bytes) -> None: ...

    def structured(self) -> Any: ...

    def cache_structured(self, value: Any) -> None: ...

    def has_structured(self) -> bool: ...

    def set_structured(self, value: Any) -> None: ...

    def copy(self, metadata: dict[str, Any] | None = None) -> Self: ...


class Document:
    """Bytes with a lazily parsed JSON view and a metadata map (``MessageLike``)."""

    __slots__ = ("_content", "_structured", "metadata", "error")

    def __init__(self, content: bytes = b"", metadata: dict[str, Any] | None = None) -> None:
        self._content: bytes | None = content
        self._structured: Any = _UNSET
        self.metadata: dict[str, Any] = {} if metadata is None else metadata
        self.error: str | None = None

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
        """The payload parsed as JSON (cached); ``ValueError`` when it is not JSON."""
        if self._structured is _UNSET:
            self._structured = parse_json(self._content or b"")
        return self._structured

    def cache_structured(self, value: Any) -> None:
        self._structured = value

    def has_structured(self) -> bool:
        return self._structured is not _UNSET

    def set_structured(self, value: Any) -> None:
        self._structured = value
        self._content = None

    def copy(self, metadata: dict[str, Any] | None = None) -> Document:
        new = Document.__new__(Document)
        new._content = self._content
        new._structured = self._structured
        new.metadata = dict(self.metadata) if metadata is None else metadata
        new.error = self.error
        return new
