"""The ``websocket`` input: connect to a websocket server and read the messages it sends.

As upstream: each websocket message (text or binary) becomes one message, with no metadata.
``open_message`` (when not empty) is sent on every connection, as a ``binary`` or ``text``
frame (``open_message_type``). When the connection fails or the server goes away the input
reconnects. The server cannot take data back, so nacked messages are replayed while
``auto_replay_nacks`` is on. A message above ``max_message_size`` (0: no limit) closes the
connection with status 1009 and the input reconnects.

Where we differ: ``connection.max_retries`` (giving up after failed reconnects) is refused at
lint; OAuth v1 and JWT signing are refused at lint, as for every benthic HTTP client.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.http import ws_client
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "websocket",
    "input",
    summary="Dials a websocket server and turns every message it sends into a message of the stream.",
    categories=("Network",),
    requires=ws_client.REQUIRES,
    fields=[
        ws_client.url_field(("ws://localhost:4195/get/ws",)),
        ws_client.proxy_field(),
        s.string(
            "open_message",
            "Sent to the server each time a connection opens, before anything is read.",
            optional=True,
            advanced=True,
        ),
        s.enum(
            "open_message_type",
            ("binary", "text"),
            "The frame type `open_message` is sent as.",
            default="binary",
            advanced=True,
        ),
        s.integer(
            "max_message_size",
            "Largest message accepted from the server, in bytes; a larger one closes the connection "
            "(status 1009) and the input reconnects. 0 disables the limit.",
            default=0,
            advanced=True,
        ),
        s.auto_replay_nacks_field(),
        ws_client.tls_field(),
        s.obj(
            "connection",
            [
                s.integer(
                    "max_retries",
                    "How many consecutive reconnects are tried before the input gives up (not supported by benthic).",
                    optional=True,
                ),
            ],
            "How the input reconnects when the server goes away.",
            advanced=True,
            optional=True,
        ),
        *ws_client.auth_fields(),
    ],
)


def _lint(conf: Any) -> list[str]:
    problems = ws_client.lint(conf)
    retries = (conf.get("connection") or {}).get("max_retries")
    if retries is not None and retries >= 0:
        problems.append(
            "field 'connection.max_retries': giving up after failed reconnects is not supported by benthic; "
            "remove it (or set it below zero) to reconnect forever"
        )
    return problems


SPEC.lint = _lint


async def _ack(_: BaseException | None) -> None:
    return None


class WebsocketInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.conn: Any = None

    async def connect(self) -> None:
        conn = await ws_client.dial(self.conf, max_size=self.conf["max_message_size"] or None)
        open_message = self.conf.get("open_message")
        if open_message:
            try:
                await conn.send(open_message, text=self.conf["open_message_type"] == "text")
            except BaseException:
                await conn.close()
                raise
        self.conn = conn

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        from websockets.exceptions import ConnectionClosed  # optional dependency: the "websockets" extra

        if self.conn is None:
            raise NotConnectedError("websocket is not connected")
        try:
            data = await self.conn.recv(decode=False)
        except ConnectionClosed as err:
            await self.close()
            raise NotConnectedError(f"websocket closed: {err}") from None
        return [Message(data)], _ack

    async def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


register_input(SPEC, lambda conf, res: (WebsocketInput(conf, res), conf["auto_replay_nacks"]))
