"""The ``group_by`` processor: split a batch into one batch per group, a message joining the first
group whose ``check`` passes (a failing check counts as false and is logged); each group's
``processors`` run on its batch; messages matching no group form a last batch of their own."""

from __future__ import annotations

from typing import Any

from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, bloblang, component_list, obj_list

SPEC = ComponentSpec(
    "group_by",
    "processor",
    summary="Splits a batch into several batches, one per group, with a Bloblang query deciding the group of each message.",
    description=(
        "Each group's processors then run on its batch, for example to archive or label it. Messages that "
        "match no group end up together in a final batch. Follow with `split` to break the groups into "
        "single messages."
    ),
    categories=("Composition",),
    root=obj_list(
        "group_by",
        [
            bloblang(
                "check",
                "Bloblang query returning true for messages that belong to this group.",
                examples=('this.type == "foo"', "true"),
            ),
            component_list(
                "processors", "processor", "Processors run on the batch of this group.", default=[]
            ),
        ],
        default=[],
    ),
)


class GroupBy:
    def __init__(self, conf: list[dict[str, Any]], res: Any) -> None:
        self.res = res
        self.groups = []
        for i, group in enumerate(conf):
            try:
                check = res.mapping(group["check"])
            except Exception as err:
                raise ValueError(f"group '{i}' parse error: {err}") from None
            self.groups.append(
                (check, res.build_processors(group["processors"], "group_by", i, "processors"))
            )

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if not batch:
            return []
        grouped: list[list[Message]] = [[] for _ in self.groups]
        groupless: list[Message] = []
        for index, msg in enumerate(batch):
            for j, (check, _) in enumerate(self.groups):
                try:
                    matched = check.check(msg, batch, index)
                except Exception as err:
                    self.res.logger.error(f"Failed to test group {j}: {err}")
                    matched = False
                if matched:
                    grouped[j].append(msg)
                    break
            else:
                groupless.append(msg)
        out: list[list[Message]] = []
        for members, (_, processors) in zip(grouped, self.groups, strict=True):
            if members:
                out.extend(b for b in await run_processors(processors, members) if b)
        if groupless:
            out.append(groupless)
        return out

    async def close(self) -> None:
        for _, processors in self.groups:
            for stage in processors:
                await stage.close()


register_processor(SPEC, GroupBy)
