"""The ``insert_part`` processor: add a message to a batch at ``index`` (negative counts from the
end, -1 appending; past the end appends). Its content is interpolated against the first message,
whose metadata it copies. A failed interpolation is logged and the batch passes unchanged."""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, integer, interp

SPEC = ComponentSpec(
    "insert_part",
    "processor",
    summary="Adds a new message to a batch at a given position; positions past the end append it.",
    description=(
        "A negative index counts back from the end: -1 makes the new message the last one, -2 puts it "
        "before the last. The new message takes the metadata of the batch's first message."
    ),
    categories=("Composition",),
    fields=[
        integer("index", "Where in the batch the new message goes.", default=-1),
        interp("content", "Content of the new message.", default=""),
    ],
)


class InsertPart:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.index = int(conf["index"])
        try:
            self.content = res.interpolation(conf["content"])
        except Exception as err:
            raise ValueError(f"failed to parse content expression: {err}") from None
        self.res = res

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if not batch:
            return []
        try:
            content = self.content.render_bytes(batch[0], batch, 0)
        except Exception as err:
            self.res.logger.error(f"Content interpolation error: {err}")
            return [batch]
        size = len(batch)
        index = max(size + self.index + 1, 0) if self.index < 0 else min(self.index, size)
        new = batch[0].copy()
        new.content = content
        new.error = None
        out = [m.copy() for m in batch]
        out.insert(index, new)
        return [out]

    async def close(self) -> None:
        return None


register_processor(SPEC, InsertPart)
