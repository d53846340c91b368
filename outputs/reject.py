"""The ``reject`` output: fail every write with an interpolated error message, so the input
nacks (and usually redelivers) the messages. The message is rendered against the first message
of the batch."""

from __future__ import annotations

from typing import Any

from pipeline.errors import RejectedError
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, interp


class RejectedByConfig(RejectedError):
    """The error a ``reject`` output hands back: the engine nacks the transaction to the input at
    once instead of retrying a write that fails every time."""


SPEC = ComponentSpec(
    "reject",
    "output",
    summary="Refuses every message, as if the destination had failed to take it, with an error you write.",
    description=(
        "Mostly useful in a `switch` or `fallback` case, for messages that must go back to the input as "
        "failures: an HTTP input answers them with an error, a queue input redelivers them."
    ),
    categories=("Utility",),
    root=interp("reject", default=""),
    lint=lambda conf: (
        [] if conf else ["an error message must be provided in order to provide context for the rejection"]
    ),
)


class RejectOutput:
    def __init__(self, text: str, res: Any) -> None:
        if not text:
            raise ValueError(
                "an error message must be provided in order to provide context for the rejection"
            )
        try:
            self.message = res.interpolation(text)
        except Exception as err:
            raise ValueError(f"failed to parse error expression: {err}") from None

    async def connect(self) -> None:
        return None

    async def write_batch(self, batch: list[Message]) -> None:
        try:
            text = self.message.render(batch[0] if batch else None, batch, 0)
        except Exception as err:
            raise RejectedByConfig(f"reject message interpolation error: {err}") from None
        raise RejectedByConfig(text)

    async def close(self) -> None:
        return None


register_output(SPEC, RejectOutput, max_in_flight=64)
