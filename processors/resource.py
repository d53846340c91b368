"""The ``resource`` processor: run the processor resource with the given label. Every place that
names the resource shares one instance of it, as upstream."""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, string

SPEC = ComponentSpec(
    "resource",
    "processor",
    summary="Runs a processor defined under `processor_resources`, found by its label.",
    description="Lets one configured processor serve several places, and keeps large nested configs readable.",
    categories=("Utility",),
    root=string("resource", default=""),
)


class ResourceProcessor:
    def __init__(self, name: str, res: Any) -> None:
        if not res.manager.has_resource("processor", name):
            raise ValueError(f"processor resource '{name}' was not found")
        self.stage = res.build_processor({"resource": name})

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        return await self.stage.process(batch)

    async def close(self) -> None:
        return None  # the resource is closed with the other resources


register_processor(SPEC, ResourceProcessor)
