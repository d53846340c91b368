"""The ``select_parts`` processor: keep the messages of a batch at the given indexes, in the order
listed (negative indexes count from the end; out-of-range ones are ignored). A batch left empty
is dropped."""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, int_list

SPEC = ComponentSpec(
    "select_parts",
    "processor",
    summary="Picks messages out of a batch by their position; indexes beyond the batch are skipped.",
    description=(
        "The picked messages form the new batch in the order of `parts`, so `[2, 0, 1]` on messages "
        "`0 1 2 3` gives `2 0 1`. An index of -1 is the last message, -2 the one before it. When nothing "
        "is picked the batch is dropped."
    ),
    categories=("Utility",),
    fields=[
        int_list(
            "parts", "Positions of the messages to keep; negative ones count back from the end.", default=[]
        )
    ],
)


class SelectParts:
    def __init__(self, conf: dict[str, Any]) -> None:
        self.parts = [int(p) for p in conf["parts"]]

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        size = len(batch)
        out = []
        for index in self.parts:
            if index < 0:
                index += size
            if 0 <= index < size:
                out.append(batch[index].copy())
        return [out] if out else []

    async def close(self) -> None:
        return None


register_processor(SPEC, lambda conf, res: SelectParts(conf))
