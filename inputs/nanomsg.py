"""The ``nanomsg`` input: receive messages on a PULL or SUB scalability-protocols socket.

As upstream: ``urls`` are bound (``bind: true``, the default) or dialled; a ``SUB`` socket
subscribes to each of ``sub_filters`` (a prefix of the message; ``''`` takes everything) and
needs at least one. Each message received is one message of the pipeline; the socket cannot take
data back, so a nacked message is replayed while ``auto_replay_nacks`` is on (and dropped
otherwise). A receive waits five seconds before it is abandoned and reattempted, whatever
``poll_timeout`` says (upstream reads the field and does not use it).

Where we differ: the sockets are NNG's (``pynng``, the ``nanomsg`` extra) rather than mangos';
the wire protocols are the same. Only ``tcp://`` and ``ipc://`` are tested.
"""

from __future__ import annotations

from typing import Any

from pipeline import nanomsg_conn
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SUB_NEEDS_FILTER = (
    "must provide at least one sub filter when connecting with a SUB socket, "
    "in order to subscribe to all messages add an empty string"
)
RECEIVE_TIMEOUT_MS = 5000  # upstream's fixed receive deadline

SPEC = s.ComponentSpec(
    "nanomsg",
    "input",
    summary="Receives messages on a nanomsg (SP) socket, peer to peer, with no broker between.",
    description="The socket is a PULL or a SUB; it binds to its URLs unless `bind` is off, in which case it dials them.",
    categories=("Network",),
    requires=nanomsg_conn.REQUIRES,
    fields=[
        s.string_list(
            "urls",
            "URLs to bind to or dial; an item holding commas is several URLs.",
            examples=(["tcp://*:5555"],),
        ),
        s.boolean("bind", "Bind to the URLs (true) or dial them (false).", default=True),
        s.enum("socket_type", ("PULL", "SUB"), "PULL or SUB.", default="PULL"),
        s.auto_replay_nacks_field(),
        s.string_list(
            "sub_filters",
            "Prefixes a SUB socket subscribes to: a message is received when it starts with one of them (an empty prefix takes every message).",
            default=[],
        ),
        s.duration(
            "poll_timeout",
            "How long one receive waits before it starts over.",
            default="5s",
            advanced=True,
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    if conf["socket_type"] == "SUB" and not conf["sub_filters"]:
        return [SUB_NEEDS_FILTER]
    return []


SPEC.lint = _lint


async def _ack(_: BaseException | None) -> None:
    return None


class NanomsgInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        if conf["socket_type"] == "SUB" and not conf["sub_filters"]:
            raise ValueError(SUB_NEEDS_FILTER)
        self.urls = nanomsg_conn.socket_urls(conf["urls"])
        self.bind = conf["bind"]
        self.socket_type = conf["socket_type"]
        self.sub_filters: list[str] = conf["sub_filters"]
        self.socket: Any = None

    async def connect(self) -> None:
        if self.socket is not None:
            return
        socket = nanomsg_conn.open_socket(
            self.socket_type, self.urls, self.bind, recv_timeout=RECEIVE_TIMEOUT_MS
        )
        for topic in self.sub_filters:
            socket.subscribe(topic.encode())
        self.socket = socket

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        import pynng  # optional dependency: the benthic[nanomsg] extra

        while True:
            socket = self.socket
            if socket is None:
                raise NotConnectedError("nanomsg socket is not connected")
            try:
                data = await socket.arecv()
            except pynng.Timeout:
                continue  # as upstream: an abandoned poll is reattempted
            except pynng.Closed:
                raise NotConnectedError("nanomsg socket closed") from None
            return [Message(data)], _ack

    async def close(self) -> None:
        socket, self.socket = self.socket, None
        if socket is not None:
            socket.close()


register_input(SPEC, lambda conf, res: (NanomsgInput(conf, res), conf["auto_replay_nacks"]))
