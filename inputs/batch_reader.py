"""Batching on the input side, shared by the ``broker`` input (``batching``) and the ``batched``
input (``policy``): transactions read from a source are held until the policy's count, byte size,
check or period fires (or the source ends), then handed on as one batch whose acknowledgement
goes back to every transaction in it. The policy's processors run on the batch first.

A source that has ended but holds messages awaiting acknowledgement (to replay them if nacked)
cannot end until those messages are delivered, so the batcher also flushes what it holds once
``source_ended()`` says no more new data can come.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline.batching import BatchPolicy
from pipeline.engine import run_processors
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn

ENDED_POLL = 0.05  # seconds between looks at whether the source ended while messages are held
Source = Callable[[], Awaitable[tuple[list[Message], AckFn]]]


class PolicyBatcher:
    def __init__(self, policy: BatchPolicy, source: Source, source_ended: Callable[[], bool]) -> None:
        self.policy = policy
        self.source = source
        self.source_ended = source_ended
        self._reading: asyncio.Task[tuple[list[Message], AckFn]] | None = None
        self._ended = False

    def _trigger(self, messages: list[Message], size: int, added: list[Message]) -> bool:
        policy = self.policy
        if policy.check is not None:
            for index, msg in enumerate(added):
                try:
                    if policy.check.query(msg, added, index) is True:
                        return True
                except Exception:
                    continue
        if policy.count > 0 and len(messages) >= policy.count:
            return True
        return policy.byte_size > 0 and size >= policy.byte_size

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        if self._ended:
            raise EndOfInputError()
        messages: list[Message] = []
        acks: list[AckFn] = []
        size = 0
        deadline = time.monotonic() + self.policy.period if self.policy.period else None
        while True:
            if self._reading is None:
                self._reading = asyncio.ensure_future(self.source())
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            if messages:
                timeout = ENDED_POLL if timeout is None else min(timeout, ENDED_POLL)
            done, _ = await asyncio.wait({self._reading}, timeout=timeout)
            if not done:
                if messages and self.source_ended():
                    break
                if deadline is None or time.monotonic() < deadline:
                    continue
                if messages:
                    break
                deadline = time.monotonic() + (self.policy.period or 0)
                continue
            task, self._reading = self._reading, None
            try:
                batch, ack = task.result()
            except EndOfInputError:
                self._ended = True
                if messages:
                    break
                raise
            messages.extend(batch)
            acks.append(ack)
            size += sum(len(m.content) for m in batch)
            if self._trigger(messages, size, batch):
                break
        return await self._finish(messages, acks)

    async def _finish(self, messages: list[Message], acks: list[AckFn]) -> tuple[list[Message], AckFn]:
        async def ack_all(err: BaseException | None) -> None:
            for ack in acks:
                await ack(err)

        if self.policy.processors:
            batches = await run_processors(self.policy.processors, messages)
            messages = [m for b in batches for m in b]
        return messages, ack_all

    async def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()


def build_policy(res: Any, conf: dict[str, Any], *path: str) -> BatchPolicy:
    return res.manager.build_policy(conf, res.child_path(*path), res)  # type: ignore[no-any-return]


def is_noop(conf: dict[str, Any]) -> bool:
    return not (
        conf.get("count", 0) > 1
        or conf.get("byte_size")
        or conf.get("period")
        or conf.get("check")
        or conf.get("processors")
    )
