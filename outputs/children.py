"""What the outputs that hold child outputs (``broker``, ``switch``) share: giving each child its
own copies of the messages, sending to a child until it delivers, and passing the engine's
readiness and shutdown calls on to every child.

A retry sends the child the same copies it was sent before (as the engine does for the top-level
output): the child stage recognises messages it has already processed and writes what its
processors made of them the first time, so a ``metric`` processor in a child counts each event
once and a mapping there keeps the bytes of the first attempt."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.backoff import Backoff
from pipeline.errors import BatchError
from pipeline.message import Message


class ChildCopies:
    """One child's copies of the parent's messages, kept from the first send until the child
    delivered them; at most ``limit`` are kept (the oldest are dropped first)."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._kept: dict[int, tuple[Message, Message]] = {}  # id(source) -> (source, copy)

    def of(self, batch: list[Message]) -> list[Message]:
        copies = []
        for msg in batch:
            kept = self._kept.get(id(msg))
            if kept is None or kept[0] is not msg:
                kept = (msg, msg.copy())
                self._kept[id(msg)] = kept
            copies.append(kept[1])
        while len(self._kept) > self.limit:
            del self._kept[next(iter(self._kept))]
        return copies

    def delivered(self, batch: list[Message]) -> None:
        for msg in batch:
            kept = self._kept.get(id(msg))
            if kept is not None and kept[0] is msg:
                del self._kept[id(msg)]


async def send_copies(stage: Any, copies: ChildCopies, batch: list[Message]) -> None:
    """One attempt: send the child its copies of ``batch``; they are forgotten once delivered."""
    await stage.send(copies.of(batch))
    copies.delivered(batch)


class ShuttingDown(Exception):
    """The output is being aborted: stop retrying and hand the transaction back."""


async def send_until_delivered(
    stage: Any, copies: ChildCopies, batch: list[Message], stopping: asyncio.Event, logger: Any
) -> None:
    """Send ``batch`` to ``stage``, retrying failures forever with upstream's backoff (500ms
    growing by 1.5 to 3s, ±50% jitter) until it is delivered or ``stopping`` is set. Every
    attempt sends the same copies (see the module docstring); after a ``BatchError`` only the
    copies of the messages that failed."""
    backoff = Backoff(0.5, 3.0, 1.5)
    while True:
        try:
            await send_copies(stage, copies, batch)
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if stopping.is_set():
                raise ShuttingDown("context canceled") from err
            logger.warn(f"Failed to send message: {err}")
            if isinstance(err, BatchError):
                # the child named what failed: the rest was delivered, only those are sent again
                failed = err.indexes_in(copies.of(batch))
                if failed is not None:
                    copies.delivered([msg for i, msg in enumerate(batch) if i not in failed])
                    batch = [batch[i] for i in failed]
                    if not batch:
                        return
        try:
            await asyncio.wait_for(stopping.wait(), backoff.next())
        except TimeoutError:
            pass
        if stopping.is_set():
            raise ShuttingDown("context canceled")


class ChildOutputs:
    """The child output stages of a parent output: connected in order, their statuses reported,
    drained, aborted and closed with the parent. Aborting or closing sets ``stopping``, which ends
    any ``send_until_delivered`` still retrying."""

    def __init__(self, children: list[Any]) -> None:
        self.children = children
        self.copies = [ChildCopies() for _ in children]
        self.stopping = asyncio.Event()

    async def connect(self) -> None:
        for child in self.children:
            await child.connect()

    def statuses(self) -> list[dict[str, Any]]:
        return [status for child in self.children for status in child.statuses()]

    async def drain(self) -> None:
        for child in self.children:
            await child.drain()

    def abort(self) -> None:
        self.stopping.set()
        for child in self.children:
            child.abort()

    async def close(self) -> None:
        self.stopping.set()
        for child in self.children:
            await child.close()
