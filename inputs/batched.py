"""The ``batched`` input: group the messages of a child input into batches with a policy.

As upstream: ``child`` is any input, ``policy`` is a batching policy (count, byte size, period,
check, processors). The batch's acknowledgement is passed to every child transaction in it, so
delivery stays at least once; the last partial batch is sent when the child ends.
"""

from __future__ import annotations

from typing import Any

from inputs.batch_reader import PolicyBatcher, build_policy
from pipeline import spec as s
from pipeline.batching import policy_problems
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "batched",
    "input",
    summary="Reads a child input and groups its messages into batches with a batching policy.",
    categories=("Utility",),
    fields=[
        s.component("child", "input", "The input whose messages are batched."),
        s.batching_field("policy"),
    ],
    lint=lambda conf: policy_problems(conf["policy"]),
)


class Batched:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.child = res.build_input(conf["child"], "child")
        self.batcher = PolicyBatcher(
            build_policy(res, conf["policy"], "policy"), self.child.read, lambda: self.child.input_ended
        )

    async def connect(self) -> None:
        await self.child.connect()

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        return await self.batcher.read_batch()

    async def close(self) -> None:
        await self.batcher.close()
        await self.child.close()


register_input(SPEC, Batched)
