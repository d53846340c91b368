"""The ``reject_errored`` output: nack messages flagged as errored (``rejecting due to failed
processing: <error>``) and send the others to a child output.

Where we differ: when a batch mixes both, the clean messages are delivered first and the whole
transaction is then nacked (upstream reports the failed messages one by one to inputs that can
use that); an input that replays nacks sends the clean ones again.
"""

from __future__ import annotations

from typing import Any

from outputs.children import ChildOutputs
from pipeline.errors import RejectedError
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, component

SPEC = ComponentSpec(
    "reject_errored",
    "output",
    summary="Returns messages that failed processing to the input as failures, and sends the rest to a child output.",
    description=(
        "Errored messages reach no output at all: the input sees them nacked, so that a queue redelivers "
        "them or an HTTP client receives an error. Combine with `fallback` to send them to a dead-letter "
        "output instead."
    ),
    categories=("Utility",),
    root=component("reject_errored", "output"),
)


class RejectErroredOutput(ChildOutputs):
    def __init__(self, conf: Any, res: Any) -> None:
        super().__init__([res.build_output(conf, "reject_errored")])

    async def write_batch(self, batch: list[Message]) -> None:
        clean = [m for m in batch if m.error is None]
        failed = [m for m in batch if m.error is not None]
        if clean:
            await self.children[0].send(clean)
        if failed:
            raise RejectedError(f"rejecting due to failed processing: {failed[0].error}")


register_output(SPEC, RejectErroredOutput, max_in_flight=0)
