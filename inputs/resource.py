"""The ``resource`` input: read from the input resource with the given label.

As upstream, every place that names the resource shares one instance of it; when it is named
more than once, each transaction goes to one of the readers, not to all. A plain
``input: {resource: foo}`` is the shared input itself (the builder hands it over directly);
this component is what the builder builds when the reference carries its own ``processors``, so
that they run on what the resource produced, after the resource's own.
The shared input is connected once, by the first reader to connect, and closed by the last
reader to close.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.spec import ComponentSpec, string

SPEC = ComponentSpec(
    "resource",
    "input",
    summary="Reads from an input defined under `input_resources`, found by its label.",
    categories=("Utility",),
    root=string("resource", default=""),
)

# per shared input: the connect in progress or done, and how many readers have not closed
_connecting: weakref.WeakKeyDictionary[Any, asyncio.Task[None]] = weakref.WeakKeyDictionary()
_readers: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


class ResourceInput:
    def __init__(self, name: str, res: Any) -> None:
        if not res.manager.has_resource("input", name):
            raise ValueError(f"input resource '{name}' was not found")
        self.stage = res.build_input({"resource": name}, "resource")
        _readers[self.stage] = _readers.get(self.stage, 0) + 1
        self._closed = False

    async def connect(self) -> None:
        task = _connecting.get(self.stage)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = _connecting[self.stage] = asyncio.ensure_future(self.stage.connect())
        await asyncio.shield(task)

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        return await self.stage.read()  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        remaining = _readers.get(self.stage, 1) - 1
        _readers[self.stage] = remaining
        if remaining <= 0:
            await self.stage.close()


register_input(SPEC, ResourceInput)
