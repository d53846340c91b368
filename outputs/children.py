"""What the outputs that hold child outputs (``broker``, ``switch``) share: sending to a child
until it delivers, and passing the engine's readiness and shutdown calls on to every child."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.backoff import Backoff
from pipeline.message import Message


class ShuttingDown(Exception):
    """The output is being aborted: stop retrying and hand the transaction back."""


async def send_until_delivered(
    stage: Any, batch: list[Message], stopping: asyncio.Event, logger: Any
) -> None:
    """Send ``batch`` to ``stage``, retrying failures forever with upstream's backoff (500ms
    growing by 1.5 to 3s, ±50% jitter) until it is delivered or ``stopping`` is set. Each attempt
    sends fresh copies, so the child's processors see the original messages every time."""
    backoff = Backoff(0.5, 3.0, 1.5)
    while True:
        try:
            await stage.send([m.copy() for m in batch])
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if stopping.is_set():
                raise ShuttingDown("context canceled") from err
            logger.warn(f"Failed to send message: {err}")
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
