"""The ``processors`` processor: a list of processors under one name (for a label, a resource
or a test mock); the children behave exactly as in any other processor list."""

from __future__ import annotations

from typing import Any

from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, component_list

SPEC = ComponentSpec(
    "processors",
    "processor",
    summary="Groups a list of processors into one, so that they can be labelled, shared as a resource or mocked together in tests.",
    categories=("Composition",),
    root=component_list("processors", "processor", default=[]),
)


class Processors:
    def __init__(self, children: list[Any]) -> None:
        self.children = children

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if not batch:
            return []
        return await run_processors(self.children, batch)

    async def close(self) -> None:
        for child in self.children:
            await child.close()


register_processor(SPEC, lambda conf, res: Processors(res.build_processors(conf, "processors")))
