"""The ``for_each`` processor: run child processors on each message of a batch as a batch of its
own, then join the results into one batch (upstream's behaviour, kept)."""

from __future__ import annotations

from typing import Any

from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, component_list

SPEC = ComponentSpec(
    "for_each",
    "processor",
    summary="Runs its child processors on every message of a batch separately, as if each were a batch of one.",
    description=(
        "Useful for processors that otherwise act on the batch as a whole (`dedupe`, `archive`, "
        "batch-wide interpolations). Most processors already work message by message and need no wrapper."
    ),
    categories=("Composition",),
    root=component_list("for_each", "processor", default=[]),
)


class ForEach:
    def __init__(self, children: list[Any]) -> None:
        self.children = children

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        for msg in batch:
            for result in await run_processors(self.children, [msg]):
                out.extend(result)
        return [out] if out else []

    async def close(self) -> None:
        for child in self.children:
            await child.close()


register_processor(SPEC, lambda conf, res: ForEach(res.build_processors(conf, "for_each")))
