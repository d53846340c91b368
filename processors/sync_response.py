"""The ``sync_response`` processor: keep the batch as it is now as the answer to its request.

An ``http_server`` input attaches a *result store* (``pipeline.sync_response``) to every message of
a request; this processor (and the ``sync_response`` output) append a copy of the batch to it. The input answers the request
from what was stored once the transaction is acknowledged. Without a store (another input) it does
nothing.
"""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec
from pipeline.sync_response import store_sync_response

SPEC = ComponentSpec(
    "sync_response",
    "processor",
    summary="Keeps a copy of each message as it is at this point as the reply to its input; what the input does with that reply depends on the input.",
    description=(
        "For most inputs this processor does nothing; the http_server input answers each request with the "
        "messages stored by this processor, once the message is processed and acknowledged."
    ),
)


class SyncResponse:
    def __init__(self, res: Any) -> None:
        self.res = res

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        store_sync_response(batch, self.res.logger)
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, lambda conf, res: SyncResponse(res))
