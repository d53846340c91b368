"""The ``file`` input: consumes files (globs allowed), cut into messages by a codec or any scanner
of ``inputs/scanners.py`` (a ``switch`` scanner sees each file's path)."""

from __future__ import annotations

import asyncio
import glob
import os
from typing import Any

from inputs.codecs import codec_fields
from inputs.scanners import build_scanner, check_scanner, limit_of, to_messages
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
            "Files to read, one after another. Paths may be glob patterns, and `**` matches any number of directories.",
        ),
        *codec_fields(),
        s.boolean(
            "delete_on_finish",
            "Remove each file once it has been read to the end and all its messages were acknowledged.",
            default=False,
            advanced=True,
        ),
        s.auto_replay_nacks_field(),
    ],
    summary="Reads local files and cuts their contents into messages with the chosen codec.",
    categories=("Local",),
    lint=check_scanner,
)


class _ConsumedFile:
    """One file being consumed: with ``delete_on_finish`` it is removed once it was read to the
    end and every message made of it was acknowledged successfully (as upstream)."""

    def __init__(self, path: str, delete_on_finish: bool, logger: Any) -> None:
        self.path = path
        self.delete_on_finish = delete_on_finish
        self.logger = logger
        self.pending = 0
        self.finished = False
        self.failed = False

    def ack_fn(self) -> AckFn:
        self.pending += 1

        async def ack(err: BaseException | None) -> None:
            self.pending -= 1
            if err is not None:
                self.failed = True
            self._maybe_delete()

        return ack

    def finish(self, failed: bool = False) -> None:
        self.finished = True
        self.failed = self.failed or failed
        self._maybe_delete()

    def _maybe_delete(self) -> None:
        if not (self.delete_on_finish and self.finished and self.pending == 0 and not self.failed):
            return
        self.delete_on_finish = False  # once
        try:
            os.remove(self.path)
        except OSError as err:
            self.logger.error(f"Failed to delete consumed file {self.path}: {err}")


class FileInput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.conf = conf
        self.paths: list[str] = []
        for pattern in conf["paths"]:
            matches = sorted(glob.glob(pattern, recursive=True))
            self.paths.extend(matches if matches else [pattern])
        self.current: _ConsumedFile | None = None
        self.reader: asyncio.StreamReader | None = None
        self.scanner: Any = None
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
            self.scanner = build_scanner(self.conf, path)
            reader = asyncio.StreamReader(limit=limit_of(self.scanner))
            reader.feed_data(data)
            reader.feed_eof()
            self.reader = reader
            self.current = _ConsumedFile(path, self.delete_on_finish, self.logger)
            return True
        return False

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while True:
            if self.reader is None and not await self._open_next():
                raise EndOfInputError()
            assert self.reader is not None and self.scanner is not None and self.current is not None
            current = self.current
            try:
                parts = await self.scanner.next(self.reader)
            except ValueError:
                # a message too long for the buffer: the rest of this file is skipped, kept on disk
                self.reader = None
                current.finish(failed=True)
                raise
            if parts is None:
                self.reader = None
                current.finish()
                continue
            return to_messages(parts, {"path": current.path}), current.ack_fn()

    async def close(self) -> None:
        return None


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


register_input(SPEC, lambda conf, res: (FileInput(conf, res), conf["auto_replay_nacks"]))
