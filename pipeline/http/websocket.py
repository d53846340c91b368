"""Websocket endpoints on benthic's own HTTP server, for the ``http_server`` input and output.

Upstream serves websockets with gorilla/websocket's default upgrader: only ``GET`` (else 405), a
browser's ``Origin`` must name the request's own host (else 403), any other handshake fault is a
400; no compression; text and binary messages alike are read as bytes. Here the handshake and the
framing come from the ``websockets`` package's sans-I/O protocol (an optional extra:
``pip install 'benthic[websockets]'``), and the connection stays on our server
(``Response.upgrade``), so its connection limit and TLS apply.

Where we differ, to bound hostile clients: a message larger than ``max_size`` closes the
connection (code 1009; upstream reads any size), and a write that a client does not take within
``WRITE_TIMEOUT`` fails and closes that connection (upstream waits on it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from pipeline.http.server import Request, Response

try:  # optional dependency: the "websockets" extra
    from websockets.datastructures import Headers
    from websockets.frames import Frame, Opcode
    from websockets.http11 import Request as HandshakeRequest
    from websockets.protocol import State
    from websockets.server import ServerProtocol
except ImportError:  # pragma: no cover - exercised by a test that hides the package
    ServerProtocol = None  # type: ignore[assignment,misc]

EXTRA_HINT = "websocket endpoints need the websockets package: pip install 'benthic[websockets]'"
WRITE_TIMEOUT = 30.0
READ_CHUNK = 65536
CLOSE_TIMEOUT = 2.0


def available() -> bool:
    """Whether the ``websockets`` package is installed."""
    return ServerProtocol is not None


class WebSocket:
    """One open websocket connection: ``receive()`` the next message, ``send()`` one."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, leftover: bytes, max_size: int
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = ServerProtocol(state=State.OPEN, max_size=max_size)
        self._pending = leftover
        self._fragments: list[bytes] = []
        self._queued: list[bytes] = []
        self.closed = False

    async def _flush(self) -> None:
        writes = self.protocol.data_to_send()
        data = b"".join(writes)
        if data:
            self.writer.write(data)
            async with asyncio.timeout(WRITE_TIMEOUT):
                await self.writer.drain()
        if b"" in writes and self.writer.can_write_eof():  # the protocol asks for a half-close
            self.writer.write_eof()
        if self.protocol.close_expected() or self.protocol.state is State.CLOSED:
            self.closed = True

    async def receive(self) -> bytes | None:
        """The next text or binary message as bytes, or None once the connection is closed."""
        while True:
            for event in self.protocol.events_received():
                if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                    self._fragments.append(bytes(event.data))
                    if event.fin:
                        message = b"".join(self._fragments)
                        self._fragments = []
                        self._queued.append(message)
            await self._flush()  # pongs and close replies
            if self._queued:
                return self._queued.pop(0)
            if self.closed or self.protocol.state is State.CLOSED:
                return None
            if self._pending:
                data, self._pending = self._pending, b""
            else:
                try:
                    data = await self.reader.read(READ_CHUNK)
                except ConnectionError:
                    data = b""
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
                self.closed = True
                return None

    async def send(self, data: bytes, *, text: bool = False) -> None:
        """Write one message; ConnectionError when the client is gone or does not take it."""
        if self.closed:
            raise ConnectionError("websocket closed")
        try:
            if text:
                self.protocol.send_text(data)
            else:
                self.protocol.send_binary(data)
            await self._flush()
        except Exception as err:  # a timeout, a reset, or a protocol already closing
            self.closed = True
            self.writer.close()
            raise ConnectionError(f"websocket write failed: {err or 'timed out'}") from None

    async def close(self, code: int = 1000) -> None:
        """The closing handshake: send a close frame unless one was sent (ours, or the protocol's
        on a fault such as an oversized message), then take what the client still sends until it
        closes, for at most ``CLOSE_TIMEOUT``. Closing a socket with unread data resets it, and a
        reset can lose the close frame (its code is the client's only clue) and messages sent
        just before it."""
        with contextlib.suppress(Exception):
            if not self.closed:
                self.protocol.send_close(code)
                await self._flush()
            async with asyncio.timeout(CLOSE_TIMEOUT):
                while self.protocol.state is not State.CLOSED:
                    data = await self.reader.read(READ_CHUNK)
                    if not data:
                        break
                    self.protocol.receive_data(data)  # after a fault, the protocol discards it
                    self.protocol.events_received()
                    await self._flush()
        self.closed = True
        self.writer.close()


def _origin_allowed(request: Request) -> bool:
    """gorilla's default check: no ``Origin``, or one whose host is the request's ``Host``."""
    origin = request.header("origin")
    if not origin:
        return True
    return urlsplit(origin).netloc.lower() == (request.header("host") or "").lower()


def _error(text: str, status: int) -> Response:
    return Response(
        status,
        (text + "\n").encode(),
        [("X-Content-Type-Options", "nosniff"), ("Sec-Websocket-Version", "13")],
        "text/plain; charset=utf-8",
    )


def upgrade(request: Request, session: Callable[[WebSocket], Awaitable[None]], *, max_size: int) -> Response:
    """The answer to a websocket handshake: a 101 whose connection runs ``session``, or the
    error gorilla would give."""
    if not available():
        return _error(EXTRA_HINT, 501)
    if request.method != "GET":
        return _error("Method Not Allowed", 405)
    if not _origin_allowed(request):
        return _error("Forbidden", 403)
    headers = Headers()
    for name, value in request.headers:
        headers[name] = value
    handshake = ServerProtocol()
    answer = handshake.accept(HandshakeRequest(request.target, headers))
    if answer.status_code != 101:
        return _error("Bad Request", 400)

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, leftover: bytes) -> None:
        ws = WebSocket(reader, writer, leftover, max_size)
        try:
            await session(ws)
        finally:
            await ws.close()

    return Response(101, headers=list(answer.headers.raw_items()), upgrade=run)


__all__ = ["EXTRA_HINT", "WebSocket", "available", "upgrade"]
