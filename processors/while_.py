"""The ``while`` processor: run child processors on a batch again and again while a Bloblang
``check`` (tested on the first message of the first batch) holds.

As upstream: ``at_least_once`` runs the children once before the first check; ``max_loops``
above zero caps the loops; a batch emptied by the children ends the loop; a check that fails to
evaluate counts as false (and is logged). Each loop yields to the event loop, so an endless
loop still lets the service answer and a shutdown end it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, bloblang, boolean, component_list, integer

SPEC = ComponentSpec(
    "while",
    "processor",
    summary="Runs its child processors on a batch over and over for as long as a Bloblang query returns true.",
    description=(
        "The query is tested on the first message of the batch. When the children split the batch in "
        "several, only the first is tested; when they leave no message, the loop ends."
    ),
    categories=("Composition",),
    fields=[
        boolean(
            "at_least_once",
            "Run the children once before testing the query, as a do-while loop does.",
            default=False,
        ),
        integer(
            "max_loops",
            "Most times the children run for one batch, as a guard against endless loops; 0 means no limit.",
            default=0,
            advanced=True,
        ),
        bloblang(
            "check",
            "Bloblang query returning true while the children should run again.",
            default="",
            examples=("errored()", "this.urls.unprocessed.length() > 0"),
        ),
        component_list("processors", "processor", "The processors run on each loop."),
    ],
    lint=lambda conf: [] if conf.get("check") else ["a check query is required"],
)


class While:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        if not conf["check"]:
            raise ValueError("a check query is required")
        try:
            self.check = res.mapping(conf["check"])
        except Exception as err:
            raise ValueError(f"failed to parse check query: {err}") from None
        self.at_least_once = bool(conf["at_least_once"])
        self.max_loops = int(conf["max_loops"])
        self.children = res.build_processors(conf["processors"], "processors")
        self.res = res
        self._closed = False

    def _holds(self, batch: list[Message]) -> bool:
        try:
            return bool(self.check.check(batch[0], batch, 0))
        except Exception as err:
            self.res.logger.error(f"Query failed for loop: {err}")
            return False

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        batches = [batch]
        loops = 0
        again = self.at_least_once or self._holds(batch)
        while again:
            if self._closed:
                raise RuntimeError("type was closed")
            if self.max_loops > 0 and loops >= self.max_loops:
                break
            # children that never wait would otherwise hold the event loop (and shutdown) for the
            # whole of an endless loop
            await asyncio.sleep(0)
            next_batches: list[list[Message]] = []
            for b in batches:
                next_batches.extend(await run_processors(self.children, b))
            batches = next_batches
            if not batches:
                return []
            again = self._holds(batches[0])
            loops += 1
        return batches

    async def close(self) -> None:
        self._closed = True
        for child in self.children:
            await child.close()


register_processor(SPEC, While)
