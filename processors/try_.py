"""The ``try`` processor: run child processors in order, skipping the rest for any message that
has failed (before or during the try). Error flags are kept for a later ``catch``."""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, component_list

SPEC = ComponentSpec(
    "try",
    "processor",
    summary="Runs its child processors in order, but only on messages that carry no error flag (none set, or cleared by a catch).",
    description=(
        "Each message is handled on its own: once a step flags it as errored, the remaining child "
        "processors are skipped for it. Messages flagged before the try skip it entirely."
    ),
    root=component_list("try", "processor", default=[]),
)


class Try:
    def __init__(self, children: list[Any]) -> None:
        self.children = children

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        for msg in batch:
            out.extend(await self._one(msg))
        return [out] if out else []

    async def _one(self, msg: Message) -> list[Message]:
        if msg.error is not None:
            return [msg]
        batches = [[msg]]
        failed: list[Message] = []
        for child in self.children:
            next_batches: list[list[Message]] = []
            for b in batches:
                for result in await child.process(b):
                    clean = [m for m in result if m.error is None]
                    failed.extend(m for m in result if m.error is not None)
                    if clean:
                        next_batches.append(clean)
            batches = next_batches
            if not batches:
                break
        # failed messages keep their position ahead of later survivors of the same input
        return failed + [m for b in batches for m in b]

    async def close(self) -> None:
        for child in self.children:
            await child.close()


register_processor(SPEC, lambda conf, res: Try(res.build_processors(conf, "try")))
