"""The ``sync_response`` output: store each batch as the answer to the request it came from.

Only ``http_server`` inputs have somewhere to store it (the result store of ``pipeline.sync_response``); for
any other input the batch is accepted and forgotten. It never fails.
"""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec
from pipeline.sync_response import store_sync_response

SPEC = ComponentSpec(
    "sync_response",
    "output",
    summary="Hands the finished message back to the input it came from as its reply; what happens next depends on that input.",
    description=(
        "For most inputs this output does nothing; the http_server input answers each request with the "
        "batch stored here (after this output's processors ran) once the message is acknowledged."
    ),
)


class SyncResponseOutput:
    def __init__(self, res: Any) -> None:
        self.res = res

    async def connect(self) -> None:
        return None

    async def write_batch(self, batch: list[Message]) -> None:
        store_sync_response(batch, self.res.logger)

    async def close(self) -> None:
        return None


register_output(SPEC, lambda conf, res: SyncResponseOutput(res), max_in_flight=1)
