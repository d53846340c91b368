"""Splitting a byte stream into messages: the legacy ``codec`` strings of the ``stdin`` and
``file`` inputs (``lines``, ``delim:X``, ``all-bytes``/``to_the_end``, ``chunker:N``), and the
reader behind the ``lines``, ``to_the_end`` and ``chunker`` scanners (declared with the others
in ``inputs/scanners.py``). Any other codec is rejected by lint rather than ignored."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline import spec as s

CODEC_DESCRIPTION = (
    "How the bytes read are cut into messages: `lines`, `delim:x`, `all-bytes` or `chunker:N`."
)


# upstream's defaults: bufio.MaxScanTokenSize for a lines scanner, 1000000 for a legacy codec
LINES_MAX_BUFFER_SIZE = 65536
CODEC_MAX_BUFFER = 1000000


class Scanner:
    def __init__(
        self,
        mode: str,
        arg: bytes | int = b"\n",
        max_size: int = CODEC_MAX_BUFFER,
        omit_empty: bool = False,
    ) -> None:
        self.mode = mode
        self.arg = arg
        self.max_size = max_size
        self.omit_empty = omit_empty
        self._done = False

    @property
    def reader_limit(self) -> int:
        """The ``asyncio.StreamReader`` limit: a delimited message plus its delimiter must fit in
        ``max_size`` bytes, as in Go's ``bufio.Scanner``; other modes do not scan for a delimiter."""
        if self.mode == "delim" and isinstance(self.arg, bytes):
            return max(1, self.max_size - len(self.arg))
        return 2**26

    @classmethod
    def from_codec_fields(cls, conf: dict[str, Any]) -> Scanner:
        """The scanner of the legacy ``codec`` and ``max_buffer`` fields."""
        max_buffer = conf.get("max_buffer")
        return cls.from_codec(
            conf.get("codec") or "lines", CODEC_MAX_BUFFER if max_buffer is None else int(max_buffer)
        )

    @classmethod
    def from_codec(cls, codec: str, max_buffer: int = CODEC_MAX_BUFFER) -> Scanner:
        if max_buffer < 1:
            raise ValueError("max_buffer: must be at least 1")
        if codec == "lines":
            return cls("delim", b"\n", max_buffer)
        if codec.startswith("delim:"):
            delim = codec[len("delim:") :]
            if not delim:
                raise ValueError("delim codec requires a non-empty delimiter")
            return cls("delim", delim.encode(), max_buffer)
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
                # as Go's bufio.Scanner, the stream ends here (the reader logs the error)
                self._done = True
                raise ValueError("bufio.Scanner: token too long") from None
            body = line[: -len(self.arg)]
            if self.arg == b"\n" and body.endswith(b"\r"):
                body = body[:-1]
            if body or not self.omit_empty:
                return [body]


def codec_fields() -> list[s.Field]:
    """The ``codec``, ``max_buffer`` and ``scanner`` fields, as the ``stdin`` and ``file`` inputs
    declare them (lint them with ``check_codec``)."""
    return [
        s.string("codec", CODEC_DESCRIPTION, default="lines", deprecated=True),
        s.integer(
            "max_buffer",
            "The maximum message buffer size (with `codec`): a longer message is an error.",
            default=CODEC_MAX_BUFFER,
            advanced=True,
        ),
        s.component(
            "scanner",
            "scanner",
            "How the bytes read are cut into messages (the newer form of `codec`).",
            optional=True,
        ),
    ]
