"""The ``inproc`` output: hand each transaction, with its ack, to the ``inproc`` input reading
the same pipe id in this process (another stream, in streams mode).

The write completes when the reading stream acknowledges the transaction, so an ``http_server``
upstream answers only once the other stream has taken the data (into its buffer, say). With no
reader the write waits, and the request times out upstream, as with Redpanda Connect.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, string

SPEC = ComponentSpec(
    "inproc",
    "output",
    summary="Passes messages straight to the inproc inputs that share its ID.",
    description=(
        "It is possible to connect inputs to outputs across streams within one process by naming the same "
        "pipe id. Messages are passed with their transaction: the writer completes when the reader acks."
    ),
    root=string("inproc", "The pipe id.", default=""),
)


class InprocOutput:
    def __init__(self, pipe_id: str, res: Any) -> None:
        self.pipe_id = pipe_id
        self.res = res
        self.queue = res.inproc.queue(pipe_id)

    async def connect(self) -> None:
        self.res.logger.info(f"Sending inproc messages to ID: {self.pipe_id}")

    async def write_batch(self, batch: list[Message]) -> None:
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self.queue.put((batch, delivered))
        await delivered  # the reading stream's ack, or its error

    async def close(self) -> None:
        return None


# no max_in_flight upstream: every caller's transaction is passed on without waiting for others
register_output(SPEC, lambda conf, res: InprocOutput(conf, res), max_in_flight=0)
