"""The ``reject_errored`` output: nack messages flagged as errored (``rejecting due to failed
processing: <error>``) and send the others to a child output.

As upstream, a batch that mixes both fails with a ``BatchError`` naming the rejected messages
(and any the child failed to deliver): a ``fallback`` around it passes on only those, the engine
does not send the delivered ones again, and an input that replays nacks replays only those.
"""

from __future__ import annotations

from typing import Any

from outputs.children import ChildOutputs
from pipeline.errors import BatchError, RejectedError
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
        clean = [i for i, m in enumerate(batch) if m.error is None]
        rejected = [i for i, m in enumerate(batch) if m.error is not None]
        if len(batch) == 1 and rejected:
            raise RejectedError(f"rejecting due to failed processing: {batch[0].error}")
        problem: BatchError | None = None
        for i in rejected:  # each with its own error, as a fallback's dead letter output shows
            err = RejectedError(f"rejecting due to failed processing: {batch[i].error}")
            problem = (problem or BatchError(batch, err)).failed(i, err)
        if not clean:
            assert problem is not None
            raise problem
        forward = [batch[i] for i in clean]
        try:
            await self.children[0].send(forward)
        except Exception as err:
            if problem is None and not isinstance(err, BatchError):
                raise
            failed = err.indexes_in(forward) if isinstance(err, BatchError) else None
            if failed is None:
                failed = dict.fromkeys(range(len(forward)), err)
            for k, e in failed.items():
                problem = (problem or BatchError(batch, err)).failed(clean[k], e)
        if problem is not None:
            raise problem


register_output(SPEC, RejectErroredOutput, max_in_flight=0)
