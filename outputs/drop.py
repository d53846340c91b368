"""The ``drop`` output: acknowledges messages without sending them anywhere."""

from __future__ import annotations

from pipeline import spec as s
from pipeline.message import Message
from pipeline.plugin import register_output


class DropOutput:
    async def connect(self) -> None:
        return None

    async def write_batch(self, batch: list[Message]) -> None:
        return None

    async def close(self) -> None:
        return None


register_output(
    s.ComponentSpec("drop", "output", summary="Discards every message and reports it delivered."),
    lambda conf, res: DropOutput(),
    max_in_flight=64,
)
