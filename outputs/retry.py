"""The ``retry`` output: send to a child output again and again, with an exponential backoff,
until it delivers, or until ``max_retries`` or ``backoff.max_elapsed_time`` (when not zero) run
out; then the source is nacked with ``message failed to reach a target destination``.

As upstream, while any write is being retried no new writes start (the stream's back pressure
does the same here), and each attempt sends the original messages again. A shutdown ends the
retries and hands the message back to the input.
"""

from __future__ import annotations

import asyncio
from typing import Any

from outputs.children import ChildOutputs, ShuttingDown
from pipeline.backoff import ExponentialBackoff, backoff_field
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, component, integer

SPEC = ComponentSpec(
    "retry",
    "output",
    summary="Keeps sending to a child output, with a growing wait between attempts, until the write succeeds or the retry limits run out.",
    description=(
        "Every attempt sends the messages as they first arrived. With both `max_retries` and "
        "`backoff.max_elapsed_time` at zero (the default) the output retries for ever, which holds back "
        "the rest of the stream while the destination is down."
    ),
    categories=("Utility",),
    fields=[
        integer("max_retries", "Most retries before giving up; 0 means no limit.", default=0, advanced=True),
        backoff_field(initial="500ms", maximum="3s", max_elapsed="0s", advanced=True),
        component("output", "output", "The output to send to."),
    ],
)


class RetryOutput(ChildOutputs):
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        super().__init__([res.build_output(conf["output"], "output")])
        self.res = res
        self.max_retries = int(conf["max_retries"])
        self.backoff_conf = conf["backoff"]

    async def write_batch(self, batch: list[Message]) -> None:
        child = self.children[0]
        b = self.backoff_conf
        backoff = ExponentialBackoff(
            b["initial_interval"] or 0.0,
            b["max_interval"] or 0.0,
            b["max_elapsed_time"] or 0.0,
            max_retries=self.max_retries,
        )
        while True:
            try:
                await child.send([m.copy() for m in batch])
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if self.stopping.is_set():
                    raise ShuttingDown("context canceled") from err
                wait = backoff.next()
                if wait is None:
                    self.res.logger.error(f"Failed to send message: {err}")
                    raise RuntimeError("message failed to reach a target destination") from err
                self.res.logger.warn(f"Failed to send message: {err}")
            try:
                await asyncio.wait_for(self.stopping.wait(), wait)
            except TimeoutError:
                continue
            raise ShuttingDown("context canceled")


register_output(SPEC, RetryOutput, max_in_flight=0)
