"""The ``socket`` output: write messages to a TCP, UDP or Unix socket.

As upstream: ``network`` is ``tcp``, ``udp`` or ``unix`` and ``address`` the peer; messages are
framed with ``codec`` (``lines`` by default, ``delim:x``, ``append`` or ``all-bytes``). A failed
write drops the connection, nacks the batch and reconnects. UDP sends one datagram per message.
``tls.enabled`` wraps a TCP or Unix connection in TLS with the ``tls`` block's settings.

Where we differ: upstream's TLS client is given no server name, so Go refuses every handshake
unless ``skip_cert_verify`` is on; benthic checks the server's certificate against the host of
``address`` (a Unix socket, having none, needs ``skip_cert_verify`` as upstream). TLS with
``network: udp`` (TLS over datagrams, which no server speaks) is refused at lint.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from outputs.writers import CODEC_DESCRIPTION, check_codec, encode_batch, encoder
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.http.tls import socket_tls, tls_problems
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
    problems.extend(tls_problems(conf["tls"]))
    if conf["tls"]["enabled"] and conf["network"] == "udp":
        problems.append("tls: TLS needs a stream connection (tcp or unix), not network udp")
    return problems


SPEC.lint = _lint


class _Datagrams(asyncio.DatagramProtocol):
    pass


class SocketOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.network = conf["network"]
        self.address = conf["address"]
        self.tls = conf["tls"]
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
            return
        if self.network == "unix":
            ctx, name = socket_tls(self.tls, None)
            _, self.writer = await asyncio.open_unix_connection(self.address, ssl=ctx, server_hostname=name)
        else:
            host, port = self._host_port()
            ctx, name = socket_tls(self.tls, host)
            _, self.writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=name)

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
