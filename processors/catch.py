"""The ``catch`` processor: run child processors on messages flagged as errored, then clear the
flag on every message.

Each message is handled on its own, as a batch of one, so a ``sync_response`` among the children
stores one entry per failed message; messages without an error skip the children untouched.
"""

from __future__ import annotations

from typing import Any

from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, component_list

SPEC = ComponentSpec(
    "catch",
    "processor",
    summary="Runs its child processors only on messages that an earlier step flagged as failed.",
    description=(
        "Each message of the batch is handled on its own, as in for_each, but only messages carrying an "
        "error flag from some step before the catch go through the children; the others pass by. On "
        "leaving the catch, every message's error flag is removed."
    ),
    root=component_list("catch", "processor", default=[]),
)


def _warn(conf: Any) -> list[str]:
    # the error flag is cleared only when a catch ends, so a try among a catch's children never
    # runs its own children unless an earlier sibling catch (even an empty one) cleared the flag
    cleared = False
    for child in conf or []:
        if not isinstance(child, dict):
            continue
        if "catch" in child:
            cleared = True
        elif "try" in child and not cleared:
            return [
                "a `try` processor directly inside a `catch` never runs its children: "
                "add an empty `catch: []` before it"
            ]
    return []


SPEC.warn = _warn


class Catch:
    def __init__(self, children: list[Any]) -> None:
        self.children = children

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        for msg in batch:
            if msg.error is None or not self.children:
                out.append(msg)
                continue
            for result in await run_processors(self.children, [msg]):
                out.extend(result)
        for msg in out:
            msg.error = None
        return [out] if out else []

    async def close(self) -> None:
        for child in self.children:
            await child.close()


register_processor(SPEC, lambda conf, res: Catch(res.build_processors(conf, "catch")))
