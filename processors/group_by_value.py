"""The ``group_by_value`` processor: split a batch into one batch per distinct value of an
interpolated string, groups in order of first appearance. A message whose value fails to
interpolate is flagged with the error and grouped under the text it rendered to."""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, interp

SPEC = ComponentSpec(
    "group_by_value",
    "processor",
    summary="Splits a batch into several batches, one per distinct value of an interpolated string evaluated on each message.",
    description="Group by a key in the content or the metadata, then archive each group or send it to a place named after its key.",
    categories=("Composition",),
    fields=[
        interp(
            "value",
            "The interpolated string whose value decides the group.",
            examples=('${! meta("kafka_key") }',),
        )
    ],
)


class GroupByValue:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        try:
            self.value = res.interpolation(conf["value"])
        except Exception as err:
            raise ValueError(f"failed to parse value expression: {err}") from None
        self.res = res

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        groups: dict[str, list[Message]] = {}
        for index, msg in enumerate(batch):
            try:
                key = self.value.render(msg, batch, index)
            except Exception as err:
                self.res.logger.error(f"Group value interpolation error: {err}")
                msg.error = f"group value interpolation error: {err}"
                key = ""
            groups.setdefault(key, []).append(msg)
        return list(groups.values())

    async def close(self) -> None:
        return None


register_processor(SPEC, GroupByValue)
