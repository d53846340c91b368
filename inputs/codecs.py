"""Splitting a byte stream into messages: the ``codec`` strings and ``scanner`` blocks of the
``stdin`` and ``file`` inputs (``lines``, ``delim:X``, ``all-bytes``/``to_the_end``,
``chunker:N``). Anything else is rejected by lint rather than ignored."""

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
# the fields each scanner accepts (anything else is a lint error, not silently ignored)
SCANNER_FIELDS = {
    "lines": ("custom_delimiter", "max_buffer_size", "omit_empty"),
    "to_the_end": (),
    "chunker": ("size",),
}


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
    def from_config(cls, conf: dict[str, Any]) -> Scanner:
        scanner = conf.get("scanner")
        if isinstance(scanner, dict) and scanner:
            if len(scanner) != 1:
                raise ValueError(f"scanner: expected exactly one scanner, got {', '.join(map(str, scanner))}")
            ((name, body),) = scanner.items()
            if name not in SCANNER_FIELDS:
                raise ValueError(f"scanner: {name} is not supported (supported: {', '.join(SCANNER_FIELDS)})")
            body = body or {}
            if not isinstance(body, dict):
                raise ValueError(f"scanner.{name}: expected an object")
            for key in body:
                if key not in SCANNER_FIELDS[name]:
                    raise ValueError(f"scanner.{name}.{key}: field {key} not recognised")
            if name == "lines":
                delim = str(body.get("custom_delimiter") or "\n")
                max_size = _int_value(body, "max_buffer_size", LINES_MAX_BUFFER_SIZE, f"scanner.{name}")
                if max_size < 1:
                    raise ValueError("scanner.lines.max_buffer_size: must be at least 1")
                omit_empty = _bool_value(body, "omit_empty", f"scanner.{name}")
                return cls("delim", delim.encode(), max_size, omit_empty)
            if name == "to_the_end":
                return cls("all")
            if "size" not in body:
                raise ValueError("scanner.chunker.size: field size is required")
            size = _int_value(body, "size", 0, "scanner.chunker")
            if size < 1:
                raise ValueError("scanner.chunker.size: must be at least 1")
            return cls("chunk", size)
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


def _int_value(body: dict[str, Any], key: str, default: int, path: str) -> int:
    value = body.get(key, default)
    if isinstance(value, bool):
        raise ValueError(f"{path}.{key}: expected int value, got bool")
    try:
        return int(str(value).strip(), 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}.{key}: cannot parse {value!r} as an int") from None


def _bool_value(body: dict[str, Any], key: str, path: str) -> bool:
    value = body.get(key, False)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"{path}.{key}: cannot parse {value!r} as a bool")


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
        s.any_field(
            "scanner",
            "How the bytes read are cut into messages (the newer form of `codec`).",
            optional=True,
        ),
    ]


def check_codec(conf: dict[str, Any]) -> list[str]:
    try:
        Scanner.from_config(conf)
    except (ValueError, KeyError, TypeError) as err:
        return [str(err)]
    return []
