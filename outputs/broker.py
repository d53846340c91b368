"""The ``broker`` output: route each transaction to several child outputs by a pattern.

- ``fan_out``: every child gets a copy; children run concurrently. Each child is retried until
  it succeeds (500ms→3s backoff), so the broker only fails at shutdown.
- ``fan_out_sequential``: the same, one child after another.
- ``fan_out_fail_fast`` / ``fan_out_sequential_fail_fast``: no retries; the first failure nacks.
- ``round_robin``: each transaction to the next child; ``greedy``: to the least busy child.

``copies`` repeats the list of outputs; ``batching`` groups transactions before brokering.
"""

from __future__ import annotations

import asyncio
from typing import Any

from outputs.children import ChildOutputs, send_copies, send_until_delivered
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, batching_field, component_list, enum, integer

PATTERNS = (
    "fan_out",
    "fan_out_fail_fast",
    "fan_out_sequential",
    "fan_out_sequential_fail_fast",
    "round_robin",
    "greedy",
)

SPEC = ComponentSpec(
    "broker",
    "output",
    summary="Sends messages to several child outputs, spreading or copying them according to a chosen pattern.",
    description="Processors can sit on a single child output (only its messages) or on the broker itself (every message).",
    fields=[
        integer("copies", "How many instances of each listed output to create.", default=1, advanced=True),
        enum("pattern", PATTERNS, "How messages are shared among the children.", default="fan_out"),
        component_list("outputs", "output", "The child outputs messages are sent to.", default=[]),
        batching_field(),
    ],
)


def _lint(conf: Any) -> list[str]:
    if not (conf or {}).get("outputs") or conf.get("copies", 1) < 1:
        return ["attempting to create broker output type with no outputs"]
    return []


SPEC.lint = _lint


class Broker(ChildOutputs):
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        super().__init__(
            [
                res.build_output(child, "outputs", i)
                for _ in range(conf["copies"])
                for i, child in enumerate(conf["outputs"])
            ]
        )
        self.res = res
        self.pattern = conf["pattern"]
        self.retrying = self.pattern in ("fan_out", "fan_out_sequential")
        self._next = 0
        self._busy = [0] * len(self.children)

    async def _send(self, index: int, batch: list[Message]) -> None:
        child = self.children[index]
        self._busy[index] += 1
        try:
            if self.retrying:
                await send_until_delivered(child, self.copies[index], batch, self.stopping, self.res.logger)
            else:
                await send_copies(child, self.copies[index], batch)
        finally:
            self._busy[index] -= 1

    async def write_batch(self, batch: list[Message]) -> None:
        if self.pattern in ("fan_out", "fan_out_fail_fast"):
            sends = [asyncio.ensure_future(self._send(i, batch)) for i in range(len(self.children))]
            try:
                for finished in asyncio.as_completed(sends):
                    await finished  # the first error fails the transaction
            finally:
                for send in sends:
                    if not send.done():
                        send.cancel()
        elif self.pattern in ("fan_out_sequential", "fan_out_sequential_fail_fast"):
            for i in range(len(self.children)):
                await self._send(i, batch)
        elif self.pattern == "round_robin":
            index = self._next
            self._next = (self._next + 1) % len(self.children)
            await self._send(index, batch)
        else:  # greedy: whoever is least busy takes it
            index = min(range(len(self.children)), key=lambda i: self._busy[i])
            await self._send(index, batch)


register_output(SPEC, lambda conf, res: Broker(conf, res), max_in_flight=0)
