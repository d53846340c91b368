"""The ``socket_server`` input: listen on a TCP, TLS, UDP or Unix socket and read what clients send.

As upstream: every TCP, TLS or Unix stream connection is read concurrently and cut into messages
by ``scanner`` (lines by default). The ``tls`` network is TCP with TLS: the certificate comes from
``tls.cert_file`` and ``tls.key_file``, or is made up at start with ``tls.self_signed``, and
``tls.client_auth`` says whether client certificates are asked for and checked (against the
system's certificate authorities, as Go). ``udp`` and ``unixgram`` receive datagrams.
``tcp.reuse_addr`` and ``tcp.reuse_port`` set the listening socket's options. Once listening, the
bound address (``127.0.0.1:41234``, or the socket's path) is written to the ``address_cache``
cache, if set, under ``<label>_address`` (``socket_server_address`` without a label). Messages
cannot be handed back to a client, so nacks are replayed while ``auto_replay_nacks`` is on.

Where we differ: each datagram is scanned on its own (upstream runs one scanner across all
datagrams, so a line may span two of them, and a datagram longer than its read buffer is cut);
``tls.client_auth`` ``request`` and ``require_any``, which accept a certificate without checking
it, are refused at lint (Python's ssl cannot); a missing ``address_cache`` resource fails at start
rather than being ignored; a self-signed certificate is valid for a year from start (upstream's
has no validity period).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from typing import Any

from inputs.scanners import build_scanner, limit_of, to_messages
from pipeline import spec as s
from pipeline.cache_access import find_cache
from pipeline.http.tls import CLIENT_AUTH_MODES, listener_tls_context
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
            "A cache resource to write the bound address to, once listening, under the key `<label>_address` (`socket_server_address` without a label): useful with port 0.",
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
                s.string("cert_file", "File holding the server's certificate (PEM).", optional=True),
                s.string("key_file", "File holding the certificate's private key (PEM).", optional=True),
                s.boolean(
                    "self_signed",
                    "Without cert_file and key_file, make up a self-signed certificate at start.",
                    default=False,
                ),
                s.enum(
                    "client_auth",
                    ("no", "request", "require_any", "require_valid", "verify_if_given"),
                    "Whether client certificates are asked for and checked: no, verify_if_given (checked when sent) or require_valid (required and checked); request and require_any are not supported by benthic.",
                    default="no",
                ),
            ],
            "TLS settings, used by the tls network.",
            advanced=True,
        ),
        s.auto_replay_nacks_field(),
        s.component(
            "scanner", "scanner", "How the bytes received are cut into messages.", default={"lines": {}}
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    problems = []
    tls = conf.get("tls") or {}
    if conf["network"] == "tls":
        if not (tls.get("cert_file") and tls.get("key_file")) and not tls.get("self_signed"):
            problems.append("tls: must specify either a certificate file or enable self signed")
        client_auth = tls.get("client_auth", "no")
        if client_auth not in CLIENT_AUTH_MODES:
            problems.append(
                f"tls.client_auth {client_auth} is not supported by benthic: Python's ssl cannot accept a "
                "client certificate without checking it (use verify_if_given or require_valid)"
            )
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
        self.label = res.label
        self.queue: asyncio.Queue[list[Message]] = asyncio.Queue(64)
        self.server: asyncio.AbstractServer | None = None
        self.transport: asyncio.BaseTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.address_cache = find_cache(res, conf["address_cache"]) if conf.get("address_cache") else None
        self.ssl: ssl.SSLContext | None = None
        if conf["network"] == "tls":
            tls = conf.get("tls") or {}
            self.ssl = listener_tls_context(
                tls.get("cert_file"),
                tls.get("key_file"),
                tls.get("self_signed", False),
                tls.get("client_auth", "no"),
            )

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

    def _inet_socket(self, kind: int) -> socket.socket:
        """A bound TCP or UDP socket with the ``tcp`` options (upstream applies them to both)."""
        host, port = self._host_port()
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, kind)
        try:
            if self.conf["tcp"]["reuse_addr"]:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.conf["tcp"]["reuse_port"]:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
        except BaseException:
            sock.close()
            raise
        return sock

    async def connect(self) -> None:
        if self.server is not None or self.transport is not None:
            return
        network = self.conf["network"]
        loop = asyncio.get_running_loop()
        limit = limit_of(self._scanner())
        if network == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.conf["address"])
            self.server = await asyncio.start_unix_server(self._handle, self.conf["address"], limit=limit)
        elif network == "unixgram":
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.conf["address"])
            # bound here: asyncio takes a path as local_addr only from Python 3.12 on
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(self.conf["address"])
            except OSError:
                sock.close()
                raise
            sock.setblocking(False)
            self.transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), sock=sock)
        elif network == "udp":
            self.transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), sock=self._inet_socket(socket.SOCK_DGRAM)
            )
        else:  # tcp, tls
            self.server = await asyncio.start_server(
                self._handle, sock=self._inet_socket(socket.SOCK_STREAM), limit=limit, ssl=self.ssl
            )
        address = self.bound_address()
        self.logger.info(f"Receiving {network} socket messages from address: {address}")
        if self.address_cache is not None:
            key = f"{self.label}_address" if self.label else "socket_server_address"
            try:
                await self.address_cache.set(key, address.encode())
            except Exception as err:
                self.logger.error(f"Failed to set address in cache: {err}")

    def bound_address(self) -> str:
        """The address as Go prints it: ``host:port`` (IPv6 hosts in brackets), or the path."""
        sockets = getattr(self.server, "sockets", None)
        if sockets:
            name = sockets[0].getsockname()
        elif self.transport is not None:
            name = self.transport.get_extra_info("sockname")
        else:
            return str(self.conf["address"])
        if not isinstance(name, tuple):
            return name.decode() if isinstance(name, bytes) else str(name)
        host = f"[{name[0]}]" if ":" in name[0] else name[0]
        return f"{host}:{name[1]}"

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
