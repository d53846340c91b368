"""The ``mapping`` processor (and its older name ``bloblang``): a Bloblang mapping builds a new
document from each message. A failing mapping leaves the message as it was, flags it with the
error and logs it; ``root = deleted()`` drops it. The mapping runs in a worker thread
(``pipeline.workers``), so a slow one never freezes the service endpoints or a shutdown."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from pipeline import spec as s
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.workers import run_off_loop

# the longest a bounded mapping keeps the event loop before letting other tasks run
SLICE_SECONDS = 0.005
# A bounded mapping's cost follows the size of what it reads, and parsing a message is the
# biggest part of it: JSON whose numbers need exact text is parsed in Python at about 1 MB per
# 80 ms, and documents are copied in Python. A batch holding a message larger than this goes to a
# worker thread instead.
INLINE_MESSAGE_BYTES = 64 * 1024


def _spec(name: str, summary: str, status: str = "stable") -> s.ComponentSpec:
    return s.ComponentSpec(
        name,
        "processor",
        root=s.bloblang("", "A Bloblang mapping."),
        summary=summary,
        status=status,
        categories=("Mapping", "Parsing"),
    )


class MappingProcessor:
    def __init__(self, source: str, res: Resources, *, mutate: bool = False) -> None:
        self.mapping = res.mapping(source)
        self.mutate = mutate
        self.logger = res.logger
        # one batch at a time per processor in the worker threads, as on the event loop
        self._running = threading.Lock()

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if not self.mapping.bounded or any(_large(msg) for msg in batch):
            # it can compute for a long time: off the loop, so /ping and signals still work
            return await run_off_loop(self._process, batch)
        out: list[Message] = []
        run = self._runner()
        deadline = time.perf_counter() + SLICE_SECONDS
        for index, msg in enumerate(batch):
            self._map_into(run, out, msg, batch, index)
            if time.perf_counter() > deadline:
                await asyncio.sleep(0)
                deadline = time.perf_counter() + SLICE_SECONDS
        return [out] if out else []

    def _process(self, batch: list[Message]) -> list[list[Message]]:
        with self._running:
            out: list[Message] = []
            run = self._runner()
            for index, msg in enumerate(batch):
                self._map_into(run, out, msg, batch, index)
            return [out] if out else []

    def _runner(self) -> Callable[[Message, list[Message], int], Message | None]:
        return self.mapping.mutate_message if self.mutate else self.mapping.map_message

    def _map_into(
        self,
        run: Callable[[Message, list[Message], int], Message | None],
        out: list[Message],
        msg: Message,
        batch: list[Message],
        index: int,
    ) -> None:
        """Append what ``run`` (the mapping) makes of ``batch[index]``: the new message, nothing
        when it was deleted, or the input flagged with the error."""
        try:
            result = run(msg, batch, index)
        except Exception as err:
            text = str(err)
            self.logger.error(text)
            msg.error = text
            out.append(msg)
            return
        if result is not None:
            out.append(result)

    async def close(self) -> None:
        return None


def _large(msg: Message) -> bool:
    """Whether the message is too large to map on the event loop (parsing it, or copying its
    document in Python, is work the size of the message)."""
    return msg.has_content() and len(msg.content) > INLINE_MESSAGE_BYTES


def _ctor(mutate: bool) -> Any:
    return lambda conf, res: MappingProcessor(conf, res, mutate=mutate)


register_processor(
    _spec(
        "mapping",
        "Runs a Bloblang mapping that builds a new document from each message; the result replaces the message, or drops it when the mapping deletes root.",
    ),
    _ctor(False),
)
register_processor(
    _spec("bloblang", "The older name of the `mapping` processor; behaves the same.", "deprecated"),
    _ctor(False),
)
register_processor(
    _spec(
        "mutation",
        "Runs a Bloblang mapping that edits each message in place: fields it does not assign stay as they were, and deleting root drops the message.",
    ),
    _ctor(True),
)
