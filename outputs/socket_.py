"""The ``socket`` output: write messages to a TCP, UDP or Unix socket.

As upstream: ``network`` is ``tcp``, ``udp`` or ``unix`` and ``address`` the peer; messages are
framed with ``codec`` (``lines`` by default, ``delim:x``, ``append`` or ``all-bytes``). A failed
write drops the connection, nacks the batch and reconnects. UDP sends one datagram per message.
Where we differ: TLS (``tls.enabled``) is refused at lint.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from outputs.writers import CODEC_DESCRIPTION, check_codec, encode_batch, encoder
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import register_output

SPEC = s.ComponentSpec(
    "socket",
    "output",
    summary="Writes messages to a TCP, UDP or Unix socket.",
    categories=("Network",),
    fields=[
        s.enum("network", ("unix", "tcp", "udp"), "The kind of socket to connect to."),
        s.string(
            "address",
            "Where to connect: host:port, or a path for unix.",
            examples=("localhost:9000", "/tmp/benthos.sock"),
        ),
        s.string("codec", CODEC_DESCRIPTION, default="lines"),
        s.tls_fields(),
    ],
)


def _lint(conf: Any) -> list[str]:
    problems = check_codec(conf["codec"])
    if conf["tls"]["enabled"]:
        problems.append("tls is not supported by benthic's socket output")
    return problems


SPEC.lint = _lint


class _Datagrams(asyncio.DatagramProtocol):
    pass


class SocketOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.network = conf["network"]
        self.address = conf["address"]
        self.suffix, _ = encoder(conf["codec"])
        self.writer: asyncio.StreamWriter | None = None
        self.transport: asyncio.DatagramTransport | None = None

    def _host_port(self) -> tuple[str, int]:
        host, _, port = self.address.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)

    async def connect(self) -> None:
        if self.network == "udp":
            loop = asyncio.get_running_loop()
            self.transport, _ = await loop.create_datagram_endpoint(_Datagrams, remote_addr=self._host_port())
        elif self.network == "unix":
            _, self.writer = await asyncio.open_unix_connection(self.address)
        else:
            _, self.writer = await asyncio.open_connection(*self._host_port())

    async def write_batch(self, batch: list[Message]) -> None:
        if self.transport is not None:
            for msg in batch:
                self.transport.sendto(encode_batch([msg], self.suffix))
            return
        if self.writer is None:
            raise NotConnectedError("socket is not connected")
        try:
            self.writer.write(encode_batch(batch, self.suffix))
            await self.writer.drain()
        except (ConnectionError, OSError) as err:
            self.writer = None
            raise NotConnectedError(f"socket write failed: {err}") from None

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


register_output(SPEC, SocketOutput)
