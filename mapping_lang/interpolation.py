"""``${! expr }`` interpolations in string config fields.

``${{! ... }}`` escapes to the literal text ``${! ... }``. Each expression is a Bloblang query
evaluated against the message; its value becomes text by the ``.string()`` rules (``to_text``).
"""

from __future__ import annotations

from typing import Any

from mapping_lang.document import Document, MessageLike
from mapping_lang.errors import MappingError
from mapping_lang.mapping import compile_query
from mapping_lang.value import DELETED, NOTHING, to_text


def _find_end(text: str, start: int) -> int:
    """Index of the ``}`` closing an interpolation whose expression starts at ``start``."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            if text.startswith('"""', i):
                j = text.find('"""', i + 3)
                i = n if j < 0 else j + 3
                continue
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


class Interpolation:
    """A compiled interpolated string."""

    def __init__(self, text: str) -> None:
        self.text = text
        parts: list[Any] = []  # str or Mapping
        i = 0
        buf: list[str] = []
        n = len(text)
        while i < n:
            if text.startswith("${{!", i):
                end = _find_end(text, i + 4)
                if end >= 0 and end + 1 < n and text[end + 1] == "}":
                    buf.append("${!" + text[i + 4 : end] + "}")
                    i = end + 2
                    continue
            if text.startswith("${!", i):
                end = _find_end(text, i + 3)
                if end < 0:
                    raise MappingError(f"failed to parse interpolation: missing '}}' in {text!r}")
                expr = text[i + 3 : end]
                try:
                    q = compile_query(expr)
                except MappingError as e:
                    raise MappingError(
                        f"failed to parse interpolation function: {e}", e.line, e.column
                    ) from None
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(q)
                i = end + 1
                continue
            buf.append(text[i])
            i += 1
        if buf:
            parts.append("".join(buf))
        self._parts = parts
        self.is_static = all(isinstance(p, str) for p in parts)
        self._static = "".join(p for p in parts if isinstance(p, str)) if self.is_static else None

    def _values(self, msg: MessageLike | None, batch: list[Any] | None, index: int) -> list[Any]:
        if msg is None:
            msg = Document(b"")
        out = []
        for p in self._parts:
            if isinstance(p, str):
                out.append(p)
                continue
            v = p.query(msg, batch, index)
            out.append(v)
        return out

    def render(self, msg: MessageLike | None = None, batch: list[Any] | None = None, index: int = 0) -> str:
        if self._static is not None:
            return self._static
        pieces = []
        for p, v in zip(self._parts, self._values(msg, batch, index), strict=True):
            if isinstance(p, str):
                pieces.append(p)
            elif v is NOTHING or v is DELETED:
                pieces.append("null")
            else:
                pieces.append(to_text(v))
        return "".join(pieces)

    def render_bytes(
        self, msg: MessageLike | None = None, batch: list[Any] | None = None, index: int = 0
    ) -> bytes:
        """The rendered value as bytes; a lone ``${! }`` that yields bytes keeps them as they are
        (``cache`` values and ``insert_part`` contents are raw bytes, not text)."""
        if self._static is not None:
            return self._static.encode()
        if len(self._parts) == 1:
            v = self._values(msg, batch, index)[0]
            if type(v) is bytes:
                return v
            if v is NOTHING or v is DELETED:
                return b"null"
            return to_text(v).encode("utf-8", "surrogatepass")
        return self.render(msg, batch, index).encode("utf-8", "surrogatepass")

    def __repr__(self) -> str:
        return f"Interpolation({self.text!r})"


def compile_interpolation(text: str) -> Interpolation:
    return Interpolation(text)
