"""The ``parallel`` processor: like ``for_each``, but the messages of a batch go through the child
processors concurrently (at most ``cap`` at once when ``cap`` is above zero); the results keep
the order of the batch."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, component_list, integer

SPEC = ComponentSpec(
    "parallel",
    "processor",
    summary="Runs its child processors on each message of a batch separately and at the same time.",
    description="Only worthwhile on batches, and mostly for children that wait on outside services.",
    categories=("Composition",),
    fields=[
        integer(
            "cap", "Most messages processed at the same time; 0 means the whole batch at once.", default=0
        ),
        component_list("processors", "processor", "The processors run on each message."),
    ],
)


class Parallel:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.cap = int(conf["cap"])
        self.children = res.build_processors(conf["processors"], "processors")

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        limit = asyncio.Semaphore(self.cap if self.cap > 0 else max(1, len(batch)))

        async def one(msg: Message) -> list[Message]:
            async with limit:
                return [m for b in await run_processors(self.children, [msg]) for m in b]

        results = await asyncio.gather(*(one(m) for m in batch))
        out = [m for r in results for m in r]
        return [out] if out else []

    async def close(self) -> None:
        for child in self.children:
            await child.close()


register_processor(SPEC, Parallel)
