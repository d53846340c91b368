"""The ``file`` input: consumes files (globs allowed), one message per line or per codec part."""

from __future__ import annotations

import asyncio
import glob
from typing import Any

from inputs.codecs import CODEC_DESCRIPTION, Scanner, check_codec
from pipeline import spec as s
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.resources import Resources

SPEC = s.ComponentSpec(
    "file",
    "input",
    [
        s.string_list(
            "paths",
            "A list of paths to consume sequentially. Glob patterns are supported, including super globs (double star).",
        ),
        s.string("codec", CODEC_DESCRIPTION, default="lines", deprecated=True),
        s.integer("max_buffer", "The maximum message buffer size.", default=1000000, advanced=True),
        s.any_field(
            "scanner",
            "The scanner by which the stream of bytes consumed will be broken out into individual messages.",
            optional=True,
        ),
        s.boolean(
            "delete_on_finish",
            "Whether to delete input files from the disk once they are fully consumed.",
            default=False,
            advanced=True,
        ),
        s.auto_replay_nacks_field(),
    ],
    summary="Consumes data from files on disk, emitting messages according to a chosen codec.",
    categories=("Local",),
    lint=lambda conf: check_codec(conf),
)


class FileInput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.conf = conf
        self.paths: list[str] = []
        for pattern in conf["paths"]:
            matches = sorted(glob.glob(pattern, recursive=True))
            self.paths.extend(matches if matches else [pattern])
        self.current: str | None = None
        self.reader: asyncio.StreamReader | None = None
        self.handle: Any = None
        self.scanner: Scanner | None = None
        self.logger = res.logger
        self.delete_on_finish = conf["delete_on_finish"]

    async def connect(self) -> None:
        return None

    async def _open_next(self) -> bool:
        while self.paths:
            path = self.paths.pop(0)
            try:
                data = await asyncio.to_thread(_read_bytes, path)
            except OSError as err:
                self.logger.error(f"Failed to consume file {path}: {err}")
                continue
            reader = asyncio.StreamReader(limit=2**26)
            reader.feed_data(data)
            reader.feed_eof()
            self.reader = reader
            self.current = path
            self.scanner = Scanner.from_config(self.conf)
            return True
        return False

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while True:
            if self.reader is None and not await self._open_next():
                raise EndOfInputError()
            assert self.reader is not None and self.scanner is not None
            parts = await self.scanner.next(self.reader)
            if parts is None:
                finished = self.current
                self.reader = None
                if self.delete_on_finish and finished:
                    import os

                    os.remove(finished)
                continue
            path = self.current or ""
            return [Message(p, {"path": path}) for p in parts], _ack

    async def close(self) -> None:
        return None


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


async def _ack(_: BaseException | None) -> None:
    return None


register_input(SPEC, lambda conf, res: (FileInput(conf, res), conf["auto_replay_nacks"]))
