"""The ``try_catch`` processor: ``try`` and ``catch`` in one block, the error handed over as
metadata.

As upstream (``internal/impl/pure/processor_try_catch.go``): each message runs through
``processors`` on its own, skipping the rest once one flags it (a message already flagged on
arrival skips them all). A message that ends up flagged has the error moved into the metadata
key ``error_metadata`` (``error``) as an object, its flag cleared, and then runs through
``catch``; with no ``catch`` the error is only recorded. Where we differ: benthic does not track
which component raised an error, so the object holds only ``what`` (upstream adds ``name``,
``label`` and ``path`` when it knows them).
"""

from __future__ import annotations

from typing import Any

from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, component_list, string

SPEC = ComponentSpec(
    "try_catch",
    "processor",
    summary="Runs processors on each message and, for a message one of them flags, a recovery list with the error in metadata.",
    description=(
        "A message that fails a step skips the remaining `processors`; its error is then stored as "
        "an object (`what` holds the text) under the metadata key `error_metadata`, its error flag "
        "is cleared, and the `catch` processors run on it, so a recovery mapping reads "
        "`@error.what`. A new failure inside `catch` is an ordinary error again."
    ),
    status="beta",
    categories=("Composition",),
    fields=[
        component_list("processors", "processor", "The processors each message runs through.", default=[]),
        component_list("catch", "processor", "The processors a failed message runs through.", default=[]),
        string("error_metadata", "The metadata key that receives the error object.", default="error"),
    ],
)


class TryCatch:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.processors = res.build_processors(conf["processors"], "processors")
        self.catch = res.build_processors(conf["catch"], "catch")
        self.error_metadata = str(conf["error_metadata"])

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        for msg in batch:
            for result in await self._try(msg):
                if not result:
                    continue
                if result[0].error is None:
                    out.extend(result)
                    continue
                for failed in result:
                    if failed.error is not None:
                        failed.metadata[self.error_metadata] = {"what": failed.error}
                        failed.error = None
                out.extend(m for b in await run_processors(self.catch, result) for m in b)
        return [out] if out else []

    async def _try(self, msg: Message) -> list[list[Message]]:
        """``processors`` with try semantics: a batch whose first message is flagged skips the rest."""
        batches = [[msg]]
        for stage in self.processors:
            next_batches: list[list[Message]] = []
            for b in batches:
                if b[0].error is not None:
                    next_batches.append(b)
                    continue
                next_batches.extend(r for r in await stage.process(b) if r)
            batches = next_batches
            if not batches:
                break
        return batches

    async def close(self) -> None:
        for stage in (*self.processors, *self.catch):
            await stage.close()


register_processor(SPEC, TryCatch)
