"""The ``broker`` input: read several child inputs at once and merge their messages.

As upstream: every child (each listed input ``copies`` times) is read concurrently and their
transactions are interleaved as they arrive; each keeps its own acknowledgement, so a nack goes
back to the child it came from. With ``batching`` the merged stream is grouped into batches. The
broker ends when every child has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from inputs.batch_reader import PolicyBatcher, build_policy, is_noop
from pipeline import spec as s
from pipeline.batching import policy_problems
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "broker",
    "input",
    summary="Reads from several inputs at once and merges what they produce into one stream.",
    categories=("Utility",),
    fields=[
        s.integer("copies", "How many instances of each listed input to run.", default=1, advanced=True),
        s.component_list("inputs", "input", "The inputs to read from."),
        s.batching_field(),
    ],
)


def _lint(conf: Any) -> list[str]:
    problems = policy_problems(conf["batching"])
    if conf["copies"] < 1:
        problems.append("copies must be at least 1")
    return problems


SPEC.lint = _lint


class _Ended:
    pass


class BrokerInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.children = [
            res.build_input(child, "inputs", i)
            for _ in range(conf["copies"])
            for i, child in enumerate(conf["inputs"])
        ]
        self.queue: asyncio.Queue[tuple[list[Message], AckFn] | _Ended | BaseException] = asyncio.Queue(1)
        self.tasks: list[asyncio.Task[None]] = []
        self.running = len(self.children)
        self.batcher = (
            None
            if is_noop(conf["batching"])
            else PolicyBatcher(build_policy(res, conf["batching"], "batching"), self._next, self._ended)
        )

    async def connect(self) -> None:
        if self.tasks:
            return
        for child in self.children:
            await child.connect()
        self.tasks = [asyncio.create_task(self._pump(child)) for child in self.children]

    def _ended(self) -> bool:
        return self.queue.empty() and all(
            task.done() or getattr(child, "input_ended", False)
            for task, child in zip(self.tasks, self.children, strict=True)
        )

    async def _pump(self, child: Any) -> None:
        while True:
            try:
                item = await child.read()
            except EndOfInputError:
                await self.queue.put(_Ended())
                return
            await self.queue.put(item)

    async def _next(self) -> tuple[list[Message], AckFn]:
        while True:
            if self.running == 0:
                raise EndOfInputError()
            item = await self.queue.get()
            if isinstance(item, _Ended):
                self.running -= 1
                continue
            if isinstance(item, BaseException):
                raise item
            return item

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        if self.batcher is not None:
            return await self.batcher.read_batch()
        return await self._next()

    async def close(self) -> None:
        if self.batcher is not None:
            await self.batcher.close()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task
        for child in self.children:
            await child.close()


register_input(SPEC, BrokerInput)
