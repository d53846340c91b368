"""The ``stdin`` input: lines (or another codec) from standard input.

Like upstream, end of file ends the input and the pipeline shuts down cleanly, whatever stdin is:
a pipe or a terminal is watched by the event loop; a redirected regular file or ``/dev/null``
cannot be (epoll refuses them), so it is read in chunks by a worker thread instead.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from typing import Any

from inputs.codecs import codec_fields
from inputs.scanners import build_scanner, check_scanner, limit_of, to_messages
from pipeline import spec as s
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.resources import Resources
from pipeline.workers import run_off_loop

CHUNK = 64 * 1024

SPEC = s.ComponentSpec(
    "stdin",
    "input",
    [
        *codec_fields(),
        s.auto_replay_nacks_field(),
    ],
    summary="Reads standard input and cuts it into messages with the chosen codec or scanner.",
    categories=("Local",),
    lint=check_scanner,
)


class StdinInput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.scanner = build_scanner(conf)
        self.reader: asyncio.StreamReader | None = None
        self._feeder: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.reader = asyncio.StreamReader(limit=limit_of(self.scanner))
        protocol = asyncio.StreamReaderProtocol(self.reader)
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd):
            await loop.connect_read_pipe(lambda: protocol, sys.stdin.buffer)
        else:  # a regular file or /dev/null: epoll cannot watch them
            self._feeder = loop.create_task(self._feed(fd, self.reader))

    async def _feed(self, fd: int, reader: asyncio.StreamReader) -> None:
        """Read a file descriptor off the loop, a chunk at a time, while the scanner keeps up."""
        while True:
            chunk = await run_off_loop(os.read, fd, CHUNK)
            if not chunk:
                reader.feed_eof()
                return
            reader.feed_data(chunk)
            # hold back until the scanner has taken most of what was fed (bounded memory)
            while len(getattr(reader, "_buffer", b"")) > CHUNK * 4:
                await asyncio.sleep(0.001)

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        assert self.reader is not None
        parts = await self.scanner.next(self.reader)
        if parts is None:
            raise EndOfInputError()
        return to_messages(parts, {}), _ack

    async def close(self) -> None:
        if self._feeder is not None:
            self._feeder.cancel()


async def _ack(_: BaseException | None) -> None:
    return None


register_input(SPEC, lambda conf, res: (StdinInput(conf, res), conf["auto_replay_nacks"]))
