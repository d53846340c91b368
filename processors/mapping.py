"""The ``mapping`` processor (and its older name ``bloblang``): a Bloblang mapping builds a new
document from each message. A failing mapping leaves the message as it was, flags it with the
error and logs it; ``root = deleted()`` drops it. The mapping runs in a worker thread
(``pipeline.workers``), so a slow one never freezes the service endpoints or a shutdown."""

from __future__ import annotations

import threading
from typing import Any

from pipeline import spec as s
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.workers import run_off_loop


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
        # one batch at a time per processor, as when it ran on the event loop
        self._running = threading.Lock()

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        # a mapping can compute for a long time: off the loop, so /ping and signals still work
        return await run_off_loop(self._process, batch)

    def _process(self, batch: list[Message]) -> list[list[Message]]:
        with self._running:
            return self._map(batch)

    def _map(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        run = self.mapping.mutate_message if self.mutate else self.mapping.map_message
        for index, msg in enumerate(batch):
            try:
                result = run(msg, batch, index)
            except Exception as err:
                text = str(err)
                self.logger.error(text)
                msg.error = text
                out.append(msg)
                continue
            if result is not None:
                out.append(result)
        return [out] if out else []

    async def close(self) -> None:
        return None


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
