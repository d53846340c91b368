"""The ``dynamic`` input: merges a set of child inputs that can be changed over HTTP at run time.

As upstream: the children are identified by id, start with those listed in ``inputs``, and are
created, replaced and removed through ``/inputs`` endpoints on the service-wide HTTP server
(under ``prefix``; see ``pipeline.dynamic_api``). Their messages are interleaved as they arrive,
each transaction acknowledged back to the child it came from, as the ``broker`` input does. A
child that ends is removed; the input itself does not end while its API may add more.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pipeline import spec as s
from pipeline.dynamic_api import DynamicAPI
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "dynamic",
    "input",
    summary="Merges messages from a set of inputs that can be added and removed over HTTP at run time.",
    description=(
        "Children are added or replaced with `POST /inputs/{id}` (a YAML or JSON input config), removed "
        "with `DELETE /inputs/{id}`, and listed with `GET /inputs`, on the service-wide HTTP server under "
        "`prefix`."
    ),
    categories=("Utility",),
    fields=[
        s.Field("inputs", "input", "map", default={}, description="Inputs to create at start, by id."),
        s.string("prefix", "A path prefix for the HTTP endpoints.", default=""),
    ],
)


class DynamicInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.res = res
        self.children: dict[str, tuple[Any, asyncio.Task[None]]] = {}
        self.queue: asyncio.Queue[tuple[list[Message], AckFn]] = asyncio.Queue(1)
        if res.http_server is None:
            raise ValueError("the dynamic input needs the service-wide HTTP server (http.enabled: true)")
        self.api = DynamicAPI(res.http_server, "input", conf["prefix"], self._start, self._stop)
        self.initial = dict(conf["inputs"] or {})
        self.connected = False

    async def connect(self) -> None:
        if self.connected:
            return
        self.connected = True
        for child_id, child_conf in self.initial.items():
            await self.api.add(child_id, child_conf)

    async def _start(self, child_id: str, conf: Any) -> None:
        child = self.res.build_input(conf, "inputs", child_id)
        await child.connect()
        if child_id in self.children:
            await self._stop(child_id)
        self.children[child_id] = (child, asyncio.create_task(self._pump(child_id, child)))

    async def _stop(self, child_id: str) -> None:
        entry = self.children.pop(child_id, None)
        if entry is None:
            return
        child, task = entry
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await child.close()

    async def _pump(self, child_id: str, child: Any) -> None:
        while True:
            try:
                item = await child.read()
            except EndOfInputError:
                self.res.logger.info(f"Dynamic input {child_id} has ended and is removed")
                self.children.pop(child_id, None)
                self.api.configs.pop(child_id, None)
                self.api.started.pop(child_id, None)
                await child.close()
                return
            await self.queue.put(item)

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        return await self.queue.get()

    async def close(self) -> None:
        for child_id in list(self.children):
            await self._stop(child_id)


register_input(SPEC, DynamicInput)

__all__ = ["SPEC", "DynamicInput"]
