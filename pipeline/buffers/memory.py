"""The ``memory`` buffer: batches held in memory between input and pipeline.

The input's transactions are acknowledged as soon as they are stored (so data in the buffer is
lost if the process dies, as upstream documents); a batch read from the buffer and nacked goes
back to the front. ``limit`` bounds the bytes held: writes wait while it is reached.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from pipeline import spec as s
from pipeline.batching import policy_problems
from pipeline.engine import run_processors
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
            "Bytes the buffer may hold; when full, the input waits until room is made.",
            default=524288000,
        ),
        s.obj(
            "batch_policy",
            [
                s.boolean(
                    "enabled", "Group messages into batches on their way out of the buffer.", default=False
                ),
                s.integer("count", default=0),
                s.integer("byte_size", default=0),
                s.string("period", default=""),
                s.bloblang("check", default=""),
                s.component_list("processors", "processor", default=[]),
            ],
            "When buffered messages leave in batches rather than one by one.",
        ),
    ],
    summary="Keeps messages in memory and acknowledges them to the input as soon as they are stored.",
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
        self.last_flush = time.monotonic()
        self.logger = res.logger

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
        if self.policy is not None:
            return await self._read_policy_batch()
        async with self.changed:
            await self.changed.wait_for(lambda: bool(self.batches) or self.ended)
            if not self.batches:
                raise EndOfInputError()
            batch = self.batches.popleft()
            size = batch_size_bytes(batch)
            self.size -= size
            self.changed.notify_all()
        return batch, self._requeue_on_nack([batch], size)

    def _requeue_on_nack(self, sources: list[list[Message]], size: int) -> AckFn:
        async def ack(err: BaseException | None) -> None:
            if err is not None:
                async with self.changed:
                    self.batches.extendleft(reversed(sources))
                    self.size += size
                    self.changed.notify_all()

        return ack

    async def _read_policy_batch(self) -> tuple[list[Message], AckFn]:
        """Stored batches merged as upstream's buffer batcher does: whole stored batches are
        added until ``count``, ``byte_size`` or ``check`` fires, the ``period`` since the last
        flush runs out, or the input ends; then the ``processors`` run on the merged batch."""
        policy = self.policy
        assert policy is not None
        while True:
            sources: list[list[Message]] = []
            merged: list[Message] = []
            merged_bytes = 0
            size = 0
            async with self.changed:
                while True:
                    ready = False
                    while self.batches and not ready:
                        batch = self.batches.popleft()
                        sources.append(batch)
                        batch_bytes = batch_size_bytes(batch)
                        size += batch_bytes
                        self.size -= batch_bytes  # taken out: writers may refill meanwhile
                        self.changed.notify_all()
                        for index, msg in enumerate(batch):
                            merged.append(msg)
                            merged_bytes += len(msg.content)
                            if policy.check is not None and self._check(msg, batch, index):
                                ready = True
                        if policy.count > 0 and len(merged) >= policy.count:
                            ready = True
                        if policy.byte_size > 0 and merged_bytes >= policy.byte_size:
                            ready = True
                    if ready or self.ended:
                        break
                    remaining = None
                    if policy.period:
                        remaining = self.last_flush + policy.period - time.monotonic()
                        if remaining <= 0:
                            break
                    try:
                        await asyncio.wait_for(self.changed.wait(), remaining)
                    except TimeoutError:
                        pass
                self.last_flush = time.monotonic()
                if not sources:
                    if self.ended:
                        raise EndOfInputError()
                    continue  # a period ran out with nothing buffered
            requeue = self._requeue_on_nack(sources, size)
            if policy.processors:
                try:
                    flushed = await run_processors(policy.processors, merged)
                except BaseException:
                    await requeue(RuntimeError("batch processors failed"))
                    raise
                merged = [msg for batch in flushed for msg in batch]
                if not merged:
                    continue  # every message was filtered: delivered, as upstream drops them
            return merged, requeue

    def _check(self, msg: Message, batch: list[Message], index: int) -> bool:
        assert self.policy is not None and self.policy.check is not None
        try:
            return bool(self.policy.check.query(msg, batch, index) is True)
        except Exception as err:
            self.logger.error(f"Failed to execute batch check query: {err}")
            return False

    async def end_of_input(self) -> None:
        async with self.changed:
            self.ended = True
            self.changed.notify_all()

    async def close(self) -> None:
        return None


register_buffer(SPEC, lambda conf, res: MemoryBuffer(conf, res))
