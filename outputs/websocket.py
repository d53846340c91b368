"""The ``websocket`` output: connect to a websocket server and send it messages.

As upstream: every message of a batch is sent as one binary websocket message, in order. A failed
send drops the connection, nacks the batch and reconnects.

Where we differ: OAuth v1 and JWT signing are refused at lint, as for every benthic HTTP client.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.http import ws_client
from pipeline.message import Message
from pipeline.plugin import register_output

SPEC = s.ComponentSpec(
    "websocket",
    "output",
    summary="Dials a websocket server and writes each message to it as a binary frame.",
    categories=("Network",),
    requires=ws_client.REQUIRES,
    fields=[
        ws_client.url_field(),
        ws_client.proxy_field(),
        ws_client.tls_field(),
        *ws_client.auth_fields(),
    ],
)
SPEC.lint = ws_client.lint


class WebsocketOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.conn: Any = None

    async def connect(self) -> None:
        self.conn = await ws_client.dial(self.conf)

    async def write_batch(self, batch: list[Message]) -> None:
        if self.conn is None:
            raise NotConnectedError("websocket is not connected")
        try:
            for msg in batch:
                await self.conn.send(msg.content, text=False)
        except Exception as err:
            await self.close()
            raise NotConnectedError(f"websocket write failed: {err}") from None

    async def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


register_output(SPEC, WebsocketOutput)
