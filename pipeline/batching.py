"""Batch policies: ``count``, ``byte_size``, ``period``, ``check`` and flush ``processors``.

A policy merges whole transactions and never splits one: every message of a transaction is
added before the flush decision. The period timer runs from the last flush, whether or not
that flush had data, so a message waits at most one period.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pipeline.durations import parse_duration_ns
from pipeline.logs import Logger
from pipeline.message import Message
from pipeline.metrics import Metrics
from pipeline.resources import ComponentMetrics


@dataclass
class BatchPolicy:
    count: int = 0
    byte_size: int = 0
    period: float | None = None  # seconds
    check: Any = None  # compiled Bloblang mapping or None
    processors: list[Any] | None = None  # ProcessorStage list

    @property
    def is_noop(self) -> bool:
        return (
            self.count <= 1
            and self.byte_size <= 0
            and not self.period
            and self.check is None
            and not self.processors
        )


def policy_problems(conf: dict[str, Any]) -> list[str]:
    """Lint a ``batching`` block: an active policy needs a trigger, the period must parse."""
    problems = []
    period = conf.get("period") or ""
    if period:
        try:
            parse_duration_ns(period)
        except ValueError as err:
            problems.append(f"failed to parse duration string period: {err}")
    active = (
        conf.get("count", 0) > 1
        or conf.get("byte_size", 0) > 0
        or period
        or conf.get("check")
        or conf.get("processors")
    )
    trigger = conf.get("count", 0) > 0 or conf.get("byte_size", 0) > 0 or period or conf.get("check")
    if active and not trigger:
        problems.append("batch policy must have at least one active trigger")
    return problems


class Batcher:
    """Accumulates messages of several transactions; ``flush`` hands them on as one batch."""

    def __init__(
        self,
        policy: BatchPolicy,
        on_flush: Callable[[list[Message], list[asyncio.Future[None]]], Awaitable[None]],
        logger: Logger,
        metrics: Metrics | ComponentMetrics,
    ) -> None:
        self.policy = policy
        self.on_flush = on_flush
        self.logger = logger
        self.messages: list[Message] = []
        self.pending: list[asyncio.Future[None]] = []  # the transactions whose messages are held
        self.size = 0
        self.last_flush = time.monotonic()
        self._lock = asyncio.Lock()
        self._metrics = metrics
        self._timer_task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        if self.policy.period and self._timer_task is None:
            self._timer_task = asyncio.get_running_loop().create_task(self._period_loop())

    async def add(self, batch: list[Message], done: asyncio.Future[None]) -> None:
        """Add a whole transaction, resolved through ``done`` when its batch was written; flush if
        a trigger fired (waits until the flushed batch is accepted by a writer)."""
        async with self._lock:
            self.pending.append(done)
            mechanism = None
            if self.policy.check is None and not self.policy.byte_size:
                self.messages.extend(batch)  # only the count can fire: no look at each message
            else:
                for index, msg in enumerate(batch):
                    self.messages.append(msg)
                    self.size += len(msg.content) if self.policy.byte_size else 0
                    if mechanism is None and self.policy.check is not None and self._check(msg, batch, index):
                        mechanism = "check"
            if mechanism is None:
                if self.policy.count > 0 and len(self.messages) >= self.policy.count:
                    mechanism = "count"
                elif self.policy.byte_size > 0 and self.size >= self.policy.byte_size:
                    mechanism = "size"
            if mechanism is not None:
                await self._flush(mechanism)

    def _check(self, msg: Message, batch: list[Message], index: int) -> bool:
        try:
            return bool(self.policy.check.query(msg, batch, index) is True)
        except Exception as err:
            self.logger.error(f"Failed to execute batch check query: {err}")
            return False

    async def flush(self, mechanism: str = "period") -> None:
        async with self._lock:
            await self._flush(mechanism)

    async def _flush(self, mechanism: str) -> None:
        self.last_flush = time.monotonic()
        if not self.messages:
            pending, self.pending = self.pending, []
            for fut in pending:  # transactions of no messages are delivered trivially
                if not fut.done():
                    fut.set_result(None)
            return
        messages, self.messages, self.size = self.messages, [], 0
        pending, self.pending = self.pending, []
        self._metrics.counter("batch_created", mechanism=mechanism).incr()
        await self.on_flush(messages, pending)

    async def _period_loop(self) -> None:
        period = self.policy.period or 1.0
        while True:
            delay = self.last_flush + period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            await self.flush("period")

    async def close(self, *, wait_for_period: bool = True) -> None:
        """Flush what is left; with a period, the pending tick is honoured first (as upstream)."""
        if self.messages and wait_for_period and self.policy.period:
            delay = self.last_flush + self.policy.period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if self._timer_task is not None:
            self._timer_task.cancel()
            self._timer_task = None
        await self.flush("period")

    def cancel(self) -> None:
        if self._timer_task is not None:
            self._timer_task.cancel()
            self._timer_task = None
