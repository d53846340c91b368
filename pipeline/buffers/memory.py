"""The ``memory`` buffer: batches held in memory between input and pipeline.

The input's transactions are acknowledged as soon as they are stored (so data in the buffer is
lost if the process dies, as upstream documents); a batch read from the buffer and nacked goes
back to the front. ``limit`` bounds the bytes held: writes wait while it is reached.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from pipeline import spec as s
from pipeline.batching import policy_problems
from pipeline.errors import EndOfInputError
from pipeline.message import Message, batch_size_bytes
from pipeline.plugin import AckFn, register_buffer
from pipeline.resources import Resources

SPEC = s.ComponentSpec(
    "memory",
    "buffer",
    [
        s.integer(
            "limit",
            "The maximum buffer size (in bytes) to allow before applying backpressure upstream.",
            default=524288000,
        ),
        s.obj(
            "batch_policy",
            [
                s.boolean("enabled", "Whether to batch messages as they are flushed.", default=False),
                s.integer("count", default=0),
                s.integer("byte_size", default=0),
                s.string("period", default=""),
                s.bloblang("check", default=""),
                s.component_list("processors", "processor", default=[]),
            ],
            "Optionally configure a policy to flush buffered messages in batches.",
        ),
    ],
    summary="Stores consumed messages in memory and acknowledges them at the input level.",
    lint=lambda conf: policy_problems(conf["batch_policy"]) if conf["batch_policy"]["enabled"] else [],
)


class MemoryBuffer:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.limit = conf["limit"]
        self.batches: deque[list[Message]] = deque()
        self.size = 0
        self.changed = asyncio.Condition()
        self.ended = False
        policy_conf = conf["batch_policy"]
        self.policy = (
            res.manager.build_policy(policy_conf, f"{res.path}.batch_policy", res)
            if policy_conf["enabled"]
            else None
        )

    async def connect(self) -> None:
        return None

    async def write(self, batch: list[Message], ack: AckFn) -> None:
        size = batch_size_bytes(batch)
        async with self.changed:
            await self.changed.wait_for(lambda: self.size == 0 or self.size + size <= self.limit)
            self.batches.append(batch)
            self.size += size
            self.changed.notify_all()
        await ack(None)

    async def read(self) -> tuple[list[Message], AckFn]:
        async with self.changed:
            await self.changed.wait_for(lambda: bool(self.batches) or self.ended)
            if not self.batches:
                raise EndOfInputError()
            batch = self.batches.popleft()
            if self.policy is not None:
                batch = self._take_policy_batch(batch)
            size = batch_size_bytes(batch)
            self.size -= size
            self.changed.notify_all()

        async def ack(err: BaseException | None) -> None:
            if err is not None:
                async with self.changed:
                    self.batches.appendleft(batch)
                    self.size += size
                    self.changed.notify_all()

        return batch, ack

    def _take_policy_batch(self, batch: list[Message]) -> list[Message]:
        assert self.policy is not None
        merged = list(batch)
        while self.batches and (self.policy.count <= 0 or len(merged) < self.policy.count):
            merged.extend(self.batches.popleft())
        return merged

    async def end_of_input(self) -> None:
        async with self.changed:
            self.ended = True
            self.changed.notify_all()

    async def close(self) -> None:
        return None


register_buffer(SPEC, lambda conf, res: MemoryBuffer(conf, res))
