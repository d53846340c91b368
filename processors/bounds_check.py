"""The ``bounds_check`` processor: drop a batch whose message count, or any message's size, falls
outside the limits (logged at DEBUG, as upstream)."""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, integer

SPEC = ComponentSpec(
    "bounds_check",
    "processor",
    summary="Drops batches, and batches holding messages, whose sizes are outside set limits.",
    categories=("Utility",),
    fields=[
        integer("max_part_size", "Largest message allowed, in bytes.", default=1024 * 1024 * 1024),
        integer("min_part_size", "Smallest message allowed, in bytes.", default=1),
        integer("max_parts", "Most messages a batch may hold.", default=100, advanced=True),
        integer("min_parts", "Fewest messages a batch may hold.", default=1, advanced=True),
    ],
)


class BoundsCheck:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.max_part_size = int(conf["max_part_size"])
        self.min_part_size = int(conf["min_part_size"])
        self.max_parts = int(conf["max_parts"])
        self.min_parts = int(conf["min_parts"])
        self.res = res
        self._dropped = res.metrics.counter("processor_dropped")

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        size = len(batch)
        if size < self.min_parts:
            return self._drop(
                f"Rejecting message due to message parts below minimum ({self.min_parts}): {size}", size
            )
        if size > self.max_parts:
            return self._drop(
                f"Rejecting message due to message parts exceeding limit ({self.max_parts}): {size}", size
            )
        for msg in batch:
            length = len(msg.content)
            if length > self.max_part_size or length < self.min_part_size:
                return self._drop(
                    f"Rejecting message due to message part size ({self.min_part_size} -> {self.max_part_size}): {length}",
                    size,
                )
        return [batch]

    def _drop(self, text: str, count: int) -> list[list[Message]]:
        self.res.logger.debug(text)
        self._dropped.incr(count)
        return []

    async def close(self) -> None:
        return None


register_processor(SPEC, BoundsCheck)
