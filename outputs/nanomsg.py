"""The ``nanomsg`` output: send messages on a PUSH or PUB scalability-protocols socket.

As upstream: ``urls`` are dialled (``bind: false``, the default) or bound. A ``PUSH`` send waits
up to ``poll_timeout`` for a peer to take the message; when none does the write fails, the batch
is nacked and retried, so nothing is lost while no puller is there. A ``PUB`` send never waits:
a message no subscriber is there for is gone (that is the protocol), and it counts as
delivered. Each message is one send; up to ``max_in_flight`` batches are sent at once.

A PUSH batch stops at the first send no peer takes; the messages sent before it were delivered,
so a ``BatchError`` names only it and those after it. Closing waits up to ``LINGER_SECONDS``
after the last send, since NNG drops what a socket still queues when it closes.

Where we differ: the sockets are NNG's (``pynng``, the ``nanomsg`` extra) rather than mangos';
the wire protocols are the same. Only ``tcp://`` and ``ipc://`` are tested.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pipeline import nanomsg_conn
from pipeline import spec as s
from pipeline.errors import BatchError, NotConnectedError
from pipeline.message import Message
from pipeline.plugin import register_output

# how long a socket stays open after its last send when the output closes
LINGER_SECONDS = 0.2

SPEC = s.ComponentSpec(
    "nanomsg",
    "output",
    summary="Sends messages on a nanomsg (SP) socket to the peers dialled or bound, with no broker between.",
    description="The socket is a PUSH (each message to one peer) or a PUB (each message to every subscriber); it dials its URLs unless `bind` is on.",
    categories=("Network",),
    requires=nanomsg_conn.REQUIRES,
    fields=[
        s.string_list(
            "urls",
            "URLs to dial or bind to; an item holding commas is several URLs.",
            examples=(["tcp://localhost:5556"],),
        ),
        s.boolean("bind", "Bind to the URLs (true) or dial them (false).", default=False),
        s.enum("socket_type", ("PUSH", "PUB"), "PUSH or PUB.", default="PUSH"),
        s.duration(
            "poll_timeout",
            "How long a send waits for a peer before it is abandoned and reattempted.",
            default="5s",
        ),
        s.max_in_flight_field(),
    ],
)


class NanomsgOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.urls = nanomsg_conn.socket_urls(conf["urls"])
        self.bind = conf["bind"]
        self.socket_type = conf["socket_type"]
        self.poll_timeout = conf["poll_timeout"]
        self.socket: Any = None
        self._last_send = 0.0  # time.monotonic() of the last message sent

    async def connect(self) -> None:
        if self.socket is not None:
            return
        options: dict[str, int] = {}
        if self.socket_type == "PUSH":
            options["send_timeout"] = max(1, int(self.poll_timeout * 1000))
        self.socket = nanomsg_conn.open_socket(self.socket_type, self.urls, self.bind, **options)

    async def write_batch(self, batch: list[Message]) -> None:
        import pynng  # optional dependency: the benthic[nanomsg] extra

        socket = self.socket
        if socket is None:
            raise NotConnectedError("nanomsg socket is not connected")
        for index, msg in enumerate(batch):
            try:
                await socket.asend(msg.content)
            except pynng.Timeout:
                err = TimeoutError("nanomsg send timed out: no peer took the message")
                if index == 0:
                    raise err from None
                # the messages sent before it were taken: only it and those after it go again
                raise BatchError(batch, err).failed_from(index, err) from None
            except pynng.Closed:
                raise NotConnectedError("nanomsg socket closed") from None
            self._last_send = time.monotonic()

    async def close(self) -> None:
        socket, self.socket = self.socket, None
        if socket is not None:
            # NNG drops what a socket still queues when it closes (it has no linger): give the last
            # messages sent a moment to leave, so that a stream ending cleanly loses none of them
            wait = self._last_send + LINGER_SECONDS - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            socket.close()


register_output(SPEC, NanomsgOutput)
