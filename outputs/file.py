"""The ``file`` output: messages to a file whose path may be interpolated per message."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from outputs.writers import CODEC_DESCRIPTION, check_codec, encode_batch, encoder
from pipeline import spec as s
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.resources import Resources

SPEC = s.ComponentSpec(
    "file",
    "output",
    [
        s.interp("path", "Path of the file written to, interpolated per message; a missing file is created."),
        s.string("codec", CODEC_DESCRIPTION, default="lines"),
    ],
    summary="Writes messages to local files, framed by the chosen codec.",
    categories=("Local",),
    lint=lambda conf: check_codec(conf["codec"]),
)


class FileOutput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.path = res.interpolation(conf["path"])
        self.codec = conf["codec"]
        self.separator, _ = encoder(self.codec)
        self._lock = asyncio.Lock()
        self._handles: dict[str, Any] = {}  # open files by path, kept open as upstream does

    async def connect(self) -> None:
        return None

    async def write_batch(self, batch: list[Message]) -> None:
        # group consecutive messages that go to the same file
        groups: list[tuple[str, list[Message]]] = []
        for index, msg in enumerate(batch):
            path = self.path.render(msg, batch, index)
            if groups and groups[-1][0] == path and self.codec != "all-bytes":
                groups[-1][1].append(msg)
            else:
                groups.append((path, [msg]))
        async with self._lock:
            self._write_groups(groups)

    def _write_groups(self, groups: list[tuple[str, list[Message]]]) -> None:
        for path, messages in groups:
            data = encode_batch(messages, self.separator)
            if self.codec == "all-bytes":
                self._ensure_dir(path)
                with open(path, "wb") as fh:
                    fh.write(data)
                continue
            handle = self._handles.get(path)
            if handle is None:
                self._ensure_dir(path)
                handle = self._handles[path] = open(path, "ab")  # noqa: SIM115 - kept open until close()
            handle.write(data)
            handle.flush()

    @staticmethod
    def _ensure_dir(path: str) -> None:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)

    async def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


register_output(SPEC, lambda conf, res: FileOutput(conf, res))
