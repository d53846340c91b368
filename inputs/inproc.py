"""The ``inproc`` input: read the transactions an ``inproc`` output of this process sends to the
same pipe id. The transaction's ack goes straight back to the sending stream."""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.spec import ComponentSpec, string

SPEC = ComponentSpec(
    "inproc",
    "input",
    summary="Receives what an inproc output in the same process sends under the same ID.",
    description=(
        "Use it to join streams that otherwise stay apart, for example in streams mode. Several inputs on "
        "one id share the pipe: each transaction goes to one of them."
    ),
    root=string("inproc", "The pipe id.", default=""),
)


class InprocInput:
    def __init__(self, pipe_id: str, res: Any) -> None:
        self.pipe_id = pipe_id
        self.res = res
        self.queue = res.inproc.queue(pipe_id)

    async def connect(self) -> None:
        self.res.logger.info(f"Receiving inproc messages from ID: {self.pipe_id}")

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        batch, delivered = await self.queue.get()

        async def ack(err: BaseException | None) -> None:
            if delivered.done():
                return
            if err is None:
                delivered.set_result(None)
            else:
                delivered.set_exception(err)

        return batch, ack

    async def close(self) -> None:
        return None


def _build(conf: str, res: Any) -> InprocInput:
    return InprocInput(conf, res)


register_input(SPEC, _build)
