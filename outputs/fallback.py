"""The ``fallback`` output: try the child outputs in order until one delivers.

As upstream: a batch goes to the first output; when that fails it goes to the next, each message
carrying its failure as the metadata ``fallback_error``; the source is acknowledged once every
message was delivered by some output, and nacked with the last output's error when all of them
failed. When an output names the messages that failed (a ``BatchError``), only those go on.
"""

from __future__ import annotations

from typing import Any

from outputs.children import ChildOutputs
from pipeline.errors import BatchError
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, component_list

SPEC = ComponentSpec(
    "fallback",
    "output",
    summary="Sends each batch to the first of its outputs, and to the next one whenever an output fails to deliver it.",
    description=(
        "Messages handed to a later output carry the metadata `fallback_error`, the error of the output "
        "that failed before it, so that a dead-letter output can record why. Only when the last output "
        "fails is the failure returned to the input. An output that retries forever by itself (some do, "
        "for example `http_client` with unlimited retries) never lets the next one run."
    ),
    categories=("Utility",),
    root=component_list("fallback", "output", default=[]),
    lint=lambda conf: [] if conf else ["missing outputs"],
)


class FallbackOutput(ChildOutputs):
    def __init__(self, confs: list[Any], res: Any) -> None:
        if not confs:
            raise ValueError("missing outputs")
        super().__init__([res.build_output(conf, "fallback", i) for i, conf in enumerate(confs)])
        self.res = res

    async def write_batch(self, batch: list[Message]) -> None:
        remaining = list(range(len(batch)))  # indexes of the messages no output has delivered yet
        errors: dict[int, BaseException] = {}
        last: BaseException | None = None
        for i, child in enumerate(self.children):
            attempt = [batch[j].copy() for j in remaining]
            if i > 0:
                for msg, j in zip(attempt, remaining, strict=True):
                    msg.metadata["fallback_error"] = str(errors[j])
            try:
                await child.send(attempt)
                return
            except Exception as err:
                last = err
                failed = err.indexes_in(attempt) if isinstance(err, BatchError) else None
                if failed is None:  # the whole attempt failed
                    failed = dict.fromkeys(range(len(attempt)), err)
                if not failed:
                    return
                errors = {remaining[k]: e for k, e in failed.items()}
                remaining = sorted(errors)
        assert last is not None
        if len(remaining) == len(batch) and not isinstance(last, BatchError):
            raise last
        problem = BatchError(batch, last)
        for j in remaining:
            problem.failed(j, errors[j])
        raise problem


register_output(SPEC, FallbackOutput, max_in_flight=0)
