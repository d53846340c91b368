"""The ``noop`` processor: passes messages on untouched."""

from __future__ import annotations

from pipeline import spec as s
from pipeline.message import Message
from pipeline.plugin import register_processor


class NoopProcessor:
    async def process(self, batch: list[Message]) -> list[list[Message]]:
        return [batch]

    async def close(self) -> None:
        return None


register_processor(
    s.ComponentSpec(
        "noop",
        "processor",
        summary="Passes every message on exactly as it arrived.",
    ),
    lambda conf, res: NoopProcessor(),
)
