"""The ``split`` processor: break a batch into smaller batches by count and/or byte size."""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, integer

SPEC = ComponentSpec(
    "split",
    "processor",
    summary="Cuts each batch (a multi-part message) into smaller batches.",
    description=(
        "A new batch starts when the current one holds `size` messages or, if `byte_size` is above zero, "
        "when adding the next message would take it past `byte_size` bytes; whichever comes first."
    ),
    fields=[
        integer("size", "Most messages per resulting batch.", default=1),
        integer("byte_size", "Most payload bytes per resulting batch; 0 means no byte limit.", default=0),
    ],
)


class Split:
    def __init__(self, size: int, byte_size: int, res: Any) -> None:
        self.size = size
        self.byte_size = byte_size
        self.res = res

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        batches: list[list[Message]] = []
        current: list[Message] = []
        current_bytes = 0
        for msg in batch:
            msg_bytes = len(msg.content) if self.byte_size > 0 else 0
            full = self.size > 0 and len(current) >= self.size
            too_big = self.byte_size > 0 and current and current_bytes + msg_bytes > self.byte_size
            if current and (full or too_big):
                batches.append(current)
                current, current_bytes = [], 0
            if self.byte_size > 0 and msg_bytes > self.byte_size:
                self.res.logger.warn(
                    f"A single message of {msg_bytes} bytes exceeds the target batch byte size of {self.byte_size}"
                )
            current.append(msg)
            current_bytes += msg_bytes
        if current:
            batches.append(current)
        return batches

    async def close(self) -> None:
        return None


register_processor(SPEC, lambda conf, res: Split(conf["size"], conf["byte_size"], res))
