"""The ``socket`` input: connect to a TCP or Unix socket server and read messages from it.

As upstream: the bytes received are cut into messages by ``scanner`` (lines by default, any
scanner the ``file`` input accepts); when the server closes the connection the input reconnects.
Nacked messages are replayed while ``auto_replay_nacks`` is on (the socket cannot take data
back). ``open_message_mapping`` is run without a message on each connection and its result (a
non-empty string) is written to the server before reading starts. ``tls.enabled`` wraps the
connection in TLS with the ``tls`` block's settings.

Where we differ: upstream's TLS client is given no server name, so Go refuses every handshake
unless ``skip_cert_verify`` is on; benthic checks the server's certificate against the host of
``address``. A Unix socket has no host name: there, as upstream, verification needs
``skip_cert_verify``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from inputs.scanners import build_scanner, limit_of, to_messages
from mapping_lang.gofmt import go_type
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.http.tls import socket_tls, tls_problems
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
            "A mapping run without an input message on each connection; the string it gives is sent to the server before reading starts.",
            optional=True,
            advanced=True,
        ),
        s.tls_fields(),
        s.component(
            "scanner", "scanner", "How the bytes received are cut into messages.", default={"lines": {}}
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    problems = []
    problems.extend(tls_problems(conf["tls"]))
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
        mapping = conf.get("open_message_mapping")
        self.open_message = res.mapping(mapping) if mapping else None

    async def connect(self) -> None:
        scanner = build_scanner({"scanner": self.conf["scanner"]})
        address = self.conf["address"]
        network = self.conf["network"]
        if network == "unix":
            ctx, name = socket_tls(self.conf["tls"], None)
            reader, writer = await asyncio.open_unix_connection(
                address, limit=limit_of(scanner), ssl=ctx, server_hostname=name
            )
        else:
            host, _, port = address.rpartition(":")
            host = host.strip("[]") or "127.0.0.1"
            ctx, name = socket_tls(self.conf["tls"], host)
            reader, writer = await asyncio.open_connection(
                host, int(port), limit=limit_of(scanner), ssl=ctx, server_hostname=name
            )
        if self.open_message is not None:
            try:
                writer.write(self._open_message())
                await writer.drain()
            except BaseException:
                writer.close()
                raise
        self.reader, self.writer, self.scanner = reader, writer, scanner

    def _open_message(self) -> bytes:
        assert self.open_message is not None
        try:
            result = self.open_message.query(None)
        except Exception as err:
            raise ConnectionError(f"open message mapping failed: {err}") from None
        if not isinstance(result, str):
            raise ConnectionError(f"open message mapping returned non-string result: {go_type(result)}")
        if not result:
            raise ConnectionError("open message mapping returned empty string")
        return result.encode()

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
