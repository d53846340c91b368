"""The ``fallback`` output: try the child outputs in order until one delivers.

As upstream: a batch goes to the first output; when that fails it goes to the next, each message
carrying the failure as the metadata ``fallback_error``; the source is acknowledged once an
output delivered, and nacked with the last output's error when all of them failed.

Where we differ: a partly failed batch is passed on whole (upstream passes on only the failed
messages when the child reports them one by one).
"""

from __future__ import annotations

from typing import Any

from outputs.children import ChildOutputs
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
        attempt = [m.copy() for m in batch]
        for i, child in enumerate(self.children):
            try:
                await child.send(attempt)
                return
            except Exception as err:
                if i == len(self.children) - 1:
                    raise
                attempt = [m.copy() for m in batch]
                for msg in attempt:
                    msg.metadata["fallback_error"] = str(err)


register_output(SPEC, FallbackOutput, max_in_flight=0)
