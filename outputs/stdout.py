"""The ``stdout`` output: messages to standard output, by codec (``lines`` by default)."""

from __future__ import annotations

import sys
from typing import Any

from outputs.writers import CODEC_DESCRIPTION, check_codec, encode_batch, encoder
from pipeline import spec as s
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.resources import Resources

SPEC = s.ComponentSpec(
    "stdout",
    "output",
    [s.string("codec", CODEC_DESCRIPTION, default="lines")],
    summary="Writes messages one after another to standard output.",
    categories=("Local",),
    lint=lambda conf: check_codec(conf["codec"]),
)


class StdoutOutput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.separator, _ = encoder(conf["codec"])

    async def connect(self) -> None:
        return None

    async def write_batch(self, batch: list[Message]) -> None:
        out = sys.stdout.buffer
        out.write(encode_batch(batch, self.separator))
        out.flush()

    async def close(self) -> None:
        return None


register_output(SPEC, lambda conf, res: StdoutOutput(conf, res))
