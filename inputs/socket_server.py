"""The ``socket_server`` input: listen on a TCP, UDP or Unix socket and read what clients send.

As upstream: every TCP or Unix connection is read concurrently and cut into messages by
``scanner`` (lines by default); each UDP datagram is scanned on its own. ``tcp.reuse_addr`` and
``tcp.reuse_port`` set the listening socket's options. Messages cannot be handed back to a
client, so nacks are replayed while ``auto_replay_nacks`` is on. Where we differ: the ``tls`` and
``unixgram`` networks and ``address_cache`` are refused at lint.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

from inputs.scanners import build_scanner, check_scanner, limit_of, to_messages
from pipeline import spec as s
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "socket_server",
    "input",
    summary="Listens on a TCP, UDP or Unix socket and emits what clients send as messages.",
    categories=("Network",),
    fields=[
        s.enum("network", ("unix", "tcp", "udp", "tls", "unixgram"), "The kind of socket to listen on."),
        s.string(
            "address",
            "Where to listen: host:port (port 0 picks a free one), or a path.",
            examples=("0.0.0.0:6000",),
        ),
        s.string(
            "address_cache",
            "A cache to store the bound address in (not supported by benthic).",
            optional=True,
            advanced=True,
        ),
        s.obj(
            "tcp",
            [
                s.boolean("reuse_addr", "Set SO_REUSEADDR on the listening socket.", default=False),
                s.boolean("reuse_port", "Set SO_REUSEPORT on the listening socket.", default=False),
            ],
            "Options of the TCP listener.",
            advanced=True,
        ),
        s.obj(
            "tls",
            [
                s.string("cert_file", "Server certificate file.", optional=True),
                s.string("key_file", "Server key file.", optional=True),
                s.boolean("self_signed", "Make up a self-signed certificate.", default=False),
                s.enum(
                    "client_auth",
                    ("no", "request", "require_any", "require_valid", "verify_if_given"),
                    "Client certificates.",
                    default="no",
                ),
            ],
            "TLS settings for the tls network (not supported by benthic).",
            advanced=True,
        ),
        s.auto_replay_nacks_field(),
        s.any_field("scanner", "How the bytes received are cut into messages.", default={"lines": {}}),
    ],
)


def _lint(conf: Any) -> list[str]:
    problems = []
    problems.extend(check_scanner({"scanner": conf["scanner"]}))
    if conf["network"] in ("tls", "unixgram"):
        problems.append(f"network {conf['network']} is not supported by benthic's socket_server")
    if conf.get("address_cache"):
        problems.append("address_cache is not supported by benthic")
    return problems


SPEC.lint = _lint


async def _ack(_: BaseException | None) -> None:
    return None


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, server: SocketServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.server.spawn(self.server.scan_bytes(data))


class SocketServer:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.logger = res.logger
        self.queue: asyncio.Queue[list[Message]] = asyncio.Queue(64)
        self.server: asyncio.AbstractServer | None = None
        self.transport: asyncio.BaseTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def _scanner(self) -> Any:
        return build_scanner({"scanner": self.conf["scanner"]})

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def scan_bytes(self, data: bytes) -> None:
        scanner = self._scanner()
        reader = asyncio.StreamReader(limit=limit_of(scanner))
        reader.feed_data(data)
        reader.feed_eof()
        await self._scan(reader, scanner)

    async def _scan(self, reader: asyncio.StreamReader, scanner: Any) -> None:
        while True:
            try:
                parts = await scanner.next(reader)
            except (ValueError, ConnectionError) as err:
                self.logger.error(f"Connection error due to: {err}")
                return
            if parts is None:
                return
            await self.queue.put(to_messages(parts, {}))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._scan(reader, self._scanner())
        finally:
            writer.close()

    def _host_port(self) -> tuple[str, int]:
        host, _, port = self.conf["address"].rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port or 0)

    async def connect(self) -> None:
        if self.server is not None or self.transport is not None:
            return
        network = self.conf["network"]
        limit = limit_of(self._scanner())
        if network == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.conf["address"])
            self.server = await asyncio.start_unix_server(self._handle, self.conf["address"], limit=limit)
        elif network == "udp":
            loop = asyncio.get_running_loop()
            self.transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=self._host_port()
            )
        else:
            host, port = self._host_port()
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            if self.conf["tcp"]["reuse_addr"]:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.conf["tcp"]["reuse_port"]:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            self.server = await asyncio.start_server(self._handle, sock=sock, limit=limit)
        self.logger.info(f"Receiving {network} socket messages from address {self.bound_address()}")

    def bound_address(self) -> str:
        sockets = getattr(self.server, "sockets", None)
        if sockets:
            name = sockets[0].getsockname()
        elif self.transport is not None:
            name = self.transport.get_extra_info("sockname")
        else:
            return self.conf["address"]
        return f"{name[0]}:{name[1]}" if isinstance(name, tuple) else str(name)

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        return await self.queue.get(), _ack

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.transport is not None:
            self.transport.close()
        for task in list(self.tasks):
            task.cancel()


register_input(SPEC, lambda conf, res: (SocketServer(conf, res), conf["auto_replay_nacks"]))
