"""The ``stdin`` input: lines (or another codec) from standard input."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from inputs.codecs import Scanner, check_codec, codec_fields
from pipeline import spec as s
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.resources import Resources

SPEC = s.ComponentSpec(
    "stdin",
    "input",
    [
        *codec_fields(),
        s.auto_replay_nacks_field(),
    ],
    summary="Reads standard input and cuts it into messages with the chosen codec or scanner.",
    categories=("Local",),
    lint=check_codec,
)


class StdinInput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.scanner = Scanner.from_config(conf)
        self.reader: asyncio.StreamReader | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.reader = asyncio.StreamReader(limit=self.scanner.reader_limit)
        protocol = asyncio.StreamReaderProtocol(self.reader)
        await loop.connect_read_pipe(lambda: protocol, sys.stdin.buffer)

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        assert self.reader is not None
        parts = await self.scanner.next(self.reader)
        if parts is None:
            raise EndOfInputError()
        return [Message(p) for p in parts], _ack

    async def close(self) -> None:
        return None


async def _ack(_: BaseException | None) -> None:
    return None


register_input(SPEC, lambda conf, res: (StdinInput(conf, res), conf["auto_replay_nacks"]))
