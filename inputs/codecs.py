"""Splitting a byte stream into messages: the ``codec`` strings and ``scanner`` blocks of the
``stdin`` and ``file`` inputs (``lines``, ``delim:X``, ``all-bytes``/``to_the_end``,
``chunker:N``). Anything else is rejected by lint rather than ignored."""

from __future__ import annotations

import asyncio
from typing import Any

CODEC_DESCRIPTION = (
    "The way in which the bytes of a data source should be converted into discrete messages: "
    "`lines`, `delim:x`, `all-bytes` or `chunker:N`."
)


class Scanner:
    def __init__(self, mode: str, arg: bytes | int = b"\n", max_size: int = 2**26) -> None:
        self.mode = mode
        self.arg = arg
        self.max_size = max_size
        self._done = False

    @classmethod
    def from_config(cls, conf: dict[str, Any]) -> Scanner:
        scanner = conf.get("scanner")
        if isinstance(scanner, dict) and scanner:
            ((name, body),) = scanner.items()
            body = body or {}
            if name == "lines":
                delim = body.get("custom_delimiter") or "\n"
                return cls("delim", delim.encode(), int(body.get("max_buffer_size") or 2**26))
            if name == "to_the_end":
                return cls("all")
            if name == "chunker":
                return cls("chunk", int(body["size"]))
            raise ValueError(f"scanner {name} is not supported")
        return cls.from_codec(conf.get("codec") or "lines")

    @classmethod
    def from_codec(cls, codec: str) -> Scanner:
        if codec == "lines":
            return cls("delim", b"\n")
        if codec.startswith("delim:"):
            delim = codec[len("delim:") :]
            if not delim:
                raise ValueError("delim codec requires a non-empty delimiter")
            return cls("delim", delim.encode())
        if codec in ("all-bytes", "to_the_end"):
            return cls("all")
        if codec.startswith("chunker:"):
            return cls("chunk", int(codec[len("chunker:") :]))
        raise ValueError(f"codec {codec} is not supported (supported: lines, delim:X, all-bytes, chunker:N)")

    async def next(self, reader: asyncio.StreamReader) -> list[bytes] | None:
        """The next message parts, or None at the end of the stream."""
        if self._done:
            return None
        if self.mode == "all":
            self._done = True
            data = await reader.read()
            return [data] if data else None
        if self.mode == "chunk":
            assert isinstance(self.arg, int)
            try:
                data = await reader.readexactly(self.arg)
            except asyncio.IncompleteReadError as err:
                self._done = True
                return [err.partial] if err.partial else None
            return [data]
        assert isinstance(self.arg, bytes)
        while True:
            try:
                line = await reader.readuntil(self.arg)
            except asyncio.IncompleteReadError as err:
                self._done = True
                return [err.partial] if err.partial else None
            except asyncio.LimitOverrunError:
                raise ValueError("message exceeds the maximum buffer size") from None
            body = line[: -len(self.arg)]
            if self.arg == b"\n" and body.endswith(b"\r"):
                body = body[:-1]
            if body:  # empty lines are skipped, as upstream's lines scanner does
                return [body]


def check_codec(conf: dict[str, Any]) -> list[str]:
    try:
        Scanner.from_config(conf)
    except (ValueError, KeyError, TypeError) as err:
        return [str(err)]
    return []
