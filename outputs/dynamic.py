"""The ``dynamic`` output: a ``fan_out`` broker whose child outputs are managed over HTTP.

As upstream: the children are identified by id, start with those listed in ``outputs``, and are
created, replaced and removed at run time through ``/outputs`` endpoints on the service-wide HTTP
server (under ``prefix``; see ``pipeline.dynamic_api``). Every message goes to every child, each
retried until it delivers, as ``fan_out`` does. Where we differ: a write made while there is no
child fails (and is retried by the engine) instead of being acknowledged with nowhere to go.
"""

from __future__ import annotations

import asyncio
from typing import Any

from outputs.children import ChildCopies, ChildOutputs, send_until_delivered
from pipeline import spec as s
from pipeline.dynamic_api import DynamicAPI
from pipeline.message import Message
from pipeline.plugin import register_output

SPEC = s.ComponentSpec(
    "dynamic",
    "output",
    summary="Sends every message to each of a set of outputs that can be changed over HTTP at run time.",
    description=(
        "Children are added or replaced with `POST /outputs/{id}` (a YAML or JSON output config), "
        "removed with `DELETE /outputs/{id}`, and listed with `GET /outputs`, on the service-wide "
        "HTTP server under `prefix`. Each message is delivered to every child, as the `fan_out` broker does."
    ),
    categories=("Utility",),
    fields=[
        s.Field("outputs", "output", "map", default={}, description="Outputs to create at start, by id."),
        s.string("prefix", "A path prefix for the HTTP endpoints.", default=""),
    ],
)


class DynamicOutput(ChildOutputs):
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        super().__init__([])
        self.res = res
        self.by_id: dict[str, Any] = {}
        self.copies_by_id: dict[str, ChildCopies] = {}
        self.connected = False
        if res.http_server is None:
            raise ValueError("the dynamic output needs the service-wide HTTP server (http.enabled: true)")
        self.api = DynamicAPI(res.http_server, "output", conf["prefix"], self._start, self._stop)
        self.initial = dict(conf["outputs"] or {})

    async def connect(self) -> None:
        if self.connected:
            return
        self.connected = True
        for child_id, child_conf in self.initial.items():
            await self.api.add(child_id, child_conf)

    async def _start(self, child_id: str, conf: Any) -> None:
        child = self.res.build_output(conf, "outputs", child_id)
        await child.connect()
        if child_id in self.by_id:
            await self._stop(child_id)
        self.by_id[child_id] = child
        self.copies_by_id[child_id] = ChildCopies()
        self.children = list(self.by_id.values())

    async def _stop(self, child_id: str) -> None:
        child = self.by_id.pop(child_id, None)
        self.copies_by_id.pop(child_id, None)
        self.children = list(self.by_id.values())
        if child is not None:
            await child.close()

    async def write_batch(self, batch: list[Message]) -> None:
        children = [(child, self.copies_by_id[child_id]) for child_id, child in self.by_id.items()]
        if not children:
            raise ConnectionError("dynamic output has no outputs to send to")
        sends = [
            asyncio.ensure_future(send_until_delivered(child, copies, batch, self.stopping, self.res.logger))
            for child, copies in children
        ]
        try:
            for finished in asyncio.as_completed(sends):
                await finished
        finally:
            for send in sends:
                if not send.done():
                    send.cancel()


register_output(SPEC, DynamicOutput, max_in_flight=0)

__all__ = ["SPEC", "DynamicOutput"]
