"""The ``resource`` output: send to the output resource with the given label. Every place that
names the resource shares one instance of it (its batching and ``max_in_flight`` included)."""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, string

SPEC = ComponentSpec(
    "resource",
    "output",
    summary="Sends messages to an output defined under `output_resources`, found by its label.",
    categories=("Utility",),
    root=string("resource", default=""),
)


class ResourceOutput:
    def __init__(self, name: str, res: Any) -> None:
        if not res.manager.has_resource("output", name):
            raise ValueError(f"output resource '{name}' was not found")
        self.stage = res.build_output({"resource": name}, "resource")

    async def connect(self) -> None:
        await self.stage.connect()

    async def write_batch(self, batch: list[Message]) -> None:
        await self.stage.send(batch)

    def statuses(self) -> list[dict[str, Any]]:
        return self.stage.statuses()  # type: ignore[no-any-return]

    async def drain(self) -> None:
        await self.stage.drain()

    def abort(self) -> None:
        self.stage.abort()

    async def close(self) -> None:
        return None  # the resource is closed with the other resources


register_output(SPEC, ResourceOutput, max_in_flight=0)
