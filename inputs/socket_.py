"""The ``socket`` input: connect to a TCP or Unix socket server and read messages from it.

As upstream: the bytes received are cut into messages by ``scanner`` (lines by default, any
scanner the ``file`` input accepts); when the server closes the connection the input reconnects.
Nacked messages are replayed while ``auto_replay_nacks`` is on (the socket cannot take data
back). Where we differ: ``open_message_mapping`` and TLS are refused at lint.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from inputs.scanners import build_scanner, check_scanner, limit_of, to_messages
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "socket",
    "input",
    summary="Connects to a TCP or Unix socket and reads messages from it.",
    categories=("Network",),
    fields=[
        s.enum("network", ("unix", "tcp"), "The kind of socket to connect to."),
        s.string("address", "Where to connect: host:port, or a path for unix.", examples=("localhost:9000",)),
        s.auto_replay_nacks_field(),
        s.bloblang(
            "open_message_mapping",
            "A message to send when connected (not supported by benthic).",
            optional=True,
            advanced=True,
        ),
        s.tls_fields(),
        s.any_field("scanner", "How the bytes received are cut into messages.", default={"lines": {}}),
    ],
)


def _lint(conf: Any) -> list[str]:
    problems = []
    problems.extend(check_scanner({"scanner": conf["scanner"]}))
    if conf["tls"]["enabled"]:
        problems.append("tls is not supported by benthic's socket input")
    if conf.get("open_message_mapping"):
        problems.append("open_message_mapping is not supported by benthic")
    return problems


SPEC.lint = _lint


async def _ack(_: BaseException | None) -> None:
    return None


class SocketInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.scanner: Any = None

    async def connect(self) -> None:
        scanner = build_scanner({"scanner": self.conf["scanner"]})
        address = self.conf["address"]
        if self.conf["network"] == "unix":
            self.reader, self.writer = await asyncio.open_unix_connection(address, limit=limit_of(scanner))
        else:
            host, _, port = address.rpartition(":")
            self.reader, self.writer = await asyncio.open_connection(
                host.strip("[]") or "127.0.0.1", int(port), limit=limit_of(scanner)
            )
        self.scanner = scanner

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        if self.reader is None or self.scanner is None:
            raise NotConnectedError("socket is not connected")
        parts = await self.scanner.next(self.reader)
        if parts is None:
            await self.close()
            raise NotConnectedError("socket closed by the server")
        return to_messages(parts, {}), _ack

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


register_input(SPEC, lambda conf, res: (SocketInput(conf, res), conf["auto_replay_nacks"]))
