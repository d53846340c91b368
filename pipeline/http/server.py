"""A small asyncio HTTP/1.1 server on h11.

One server serves the service endpoints (``/ping``, ``/metrics``...), ``http_server`` inputs that
share it, the Run:ai simulator and the OpenMeter-compatible sink. Handlers are plain async
functions ``handler(request) -> Response``; routes match an exact path, and a path may carry
several verbs.

Hostile clients are bounded: a connection must send a request head within ``header_timeout`` of
connecting (or of the previous answer; an idle keep-alive connection is closed after
``idle_timeout``), each read of a body must bring data within ``body_timeout``, and at most
``max_connections`` are served at once (beyond that a connection is answered 503 and closed).
A request with both ``Content-Length`` and ``Transfer-Encoding`` is refused with 400, as Go's
server does, since two framings invite request smuggling. When the process runs out of file
descriptors, accepting fails: that is logged as one line at most every few seconds, not as a
traceback per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import resource
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import h11

MAX_HEADER_BYTES = 64 * 1024
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
IDLE_TIMEOUT = 60.0
ACCEPT_ERROR_EVERY = 10.0  # seconds between two log lines about failing accepts


def default_max_connections() -> int:
    """Half of the process's file descriptor limit (the rest stays for outputs and files)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return 4096
    return max(16, min(4096, soft // 2))


class _Timeout(Exception):
    """A client was too slow sending a request head or body: the connection is closed."""


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]  # names lower-cased, in arrival order
    body: bytes
    client: tuple[str, int] | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def query_value(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return default


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None
    # a body written as it is produced (chunked); the stream ends the response when it ends
    stream: AsyncIterator[bytes] | None = None
    # a 101 answer: the connection is handed over to this once the answer is written
    # (reader, writer, bytes the client sent after its request); see pipeline/http/websocket.py
    upgrade: Upgrade | None = None

    @classmethod
    def text(cls, body: str, status: int = 200) -> Response:
        return cls(status, body.encode(), content_type="text/plain; charset=utf-8")

    @classmethod
    def json(cls, body: bytes, status: int = 200, content_type: str = "application/json") -> Response:
        return cls(status, body, content_type=content_type)


Handler = Callable[[Request], Awaitable[Response]]
Upgrade = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[None]]
Middleware = Callable[[Request, Handler], Awaitable[Response]]


def _bind(middleware: Middleware, handle: Handler) -> Handler:
    async def bound(request: Request) -> Response:
        return await middleware(request, handle)

    return bound


class HTTPServer:
    """Routes requests to handlers; ``start()`` binds, ``close()`` stops accepting and waits."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_body: int = 16 * 1024 * 1024,
        ssl: object | None = None,
        header_timeout: float = HEADER_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int | None = None,
        log_error: Callable[[str], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.max_body = max_body
        self.ssl = ssl
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections or default_max_connections()
        self.log_error = log_error or _stderr_line
        self._last_accept_error = 0.0
        self._routes: dict[str, dict[str, Handler]] = {}
        self._prefix_routes: list[tuple[str, Handler]] = []
        # wrappers around every request (service-wide basic auth and CORS), outermost first
        self._middleware: list[Middleware] = []
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @classmethod
    def from_address(cls, address: str, **kw: object) -> HTTPServer:
        host, _, port = address.rpartition(":")
        host = host.strip("[]") or "0.0.0.0"
        return cls(host, int(port or 0), **kw)  # type: ignore[arg-type]

    def route(self, path: str, handler: Handler, methods: tuple[str, ...] | list[str] | None = None) -> None:
        verbs = self._routes.setdefault(path, {})
        for verb in methods or ("*",):
            verbs[verb.upper()] = handler

    def route_prefix(self, prefix: str, handler: Handler) -> None:
        self._prefix_routes.append((prefix, handler))

    def use(self, middleware: Middleware) -> None:
        """Wrap every request: ``middleware(request, handle)`` may answer itself or call
        ``await handle(request)`` and adjust the response."""
        self._middleware.append(middleware)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve,
            self.host,
            self.port,
            ssl=self.ssl,
            reuse_address=True,
        )
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()

        def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
            message = str(context.get("message", ""))
            if message.startswith("socket.accept() out of system resource"):
                now = time.monotonic()
                if now - self._last_accept_error >= ACCEPT_ERROR_EVERY:
                    self._last_accept_error = now
                    self.log_error(
                        f"HTTP server {self.address} cannot accept connections: {context.get('exception')}"
                        " (out of file descriptors; retrying)"
                    )
                return
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        loop.set_exception_handler(on_loop_error)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        peer = writer.get_extra_info("peername")
        if len(self._connections) > self.max_connections:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                await self._send(conn, writer, Response.text("too many connections", 503))
            with contextlib.suppress(Exception):
                writer.close()
            return
        first = True
        try:
            while True:
                request = await self._read_request(conn, reader, writer, peer, first)
                first = False
                if request is None:
                    break
                try:
                    response = await self._dispatch(request)
                except Exception as err:  # a handler bug must not kill the connection loop
                    response = Response.text(f"internal error: {err}", 500)
                if response.upgrade is not None and response.status == 101:
                    await self._switch_protocols(conn, reader, writer, response)
                    break
                await self._send(conn, writer, response, head=request.method == "HEAD")
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    break
                try:
                    conn.start_next_cycle()
                except h11.LocalProtocolError:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, h11.ProtocolError, _Timeout):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read_request(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: object,
        first: bool = True,
    ) -> Request | None:
        head: h11.Request | None = None
        body = bytearray()
        loop = asyncio.get_running_loop()
        # A new connection has header_timeout to send its request head; a kept-alive one may idle
        # for idle_timeout, then has header_timeout from its first byte.
        idle_deadline = loop.time() + self.idle_timeout
        head_deadline = loop.time() + self.header_timeout if first else None
        received_any = False
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as err:
                status = err.error_status_hint
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._send(conn, writer, Response.text(f"bad request: {err}", status))
                return None
            if event is h11.NEED_DATA:
                if head is None:
                    wait = (head_deadline or idle_deadline) - loop.time()
                else:
                    wait = self.body_timeout
                try:
                    async with asyncio.timeout(max(wait, 0.001)):
                        data = await reader.read(65536)
                except TimeoutError:
                    if not received_any:
                        return None  # nothing was asked: close quietly
                    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                        with contextlib.suppress(Exception):
                            await self._send(conn, writer, Response.text("request timeout", 408))
                    raise _Timeout() from None
                if data and not received_any:
                    received_any = True
                    if head_deadline is None:
                        head_deadline = loop.time() + self.header_timeout
                conn.receive_data(data)
                if not data and conn.their_state in (h11.IDLE, h11.DONE):
                    return None
                continue
            if isinstance(event, h11.Request):
                head = event
                fields = dict(event.headers)  # h11 lower-cases names
                if b"content-length" in fields and b"transfer-encoding" in fields:
                    await self._send(
                        conn,
                        writer,
                        Response.text("bad request: both Content-Length and Transfer-Encoding", 400),
                    )
                    return None
                length = fields.get(b"content-length")
                if length is not None and int(length) > self.max_body:
                    await self._send(conn, writer, Response.text("request body too large", 413))
                    return None
                if event.method == b"POST" and fields.get(b"expect", b"").lower() == b"100-continue":
                    conn.send(h11.InformationalResponse(status_code=100, headers=[]))
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > self.max_body:
                    await self._send(conn, writer, Response.text("request body too large", 413))
                    return None
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                target = head.target.decode("latin-1")
                if "?" in target or "#" in target or not target.startswith("/") or target.startswith("//"):
                    parts = urlsplit(target)
                    path = parts.path
                    query = parse_qsl(parts.query, keep_blank_values=True)
                else:  # the common case: a plain path, nothing to split
                    path, query = target, []
                return Request(
                    method=head.method.decode("ascii"),
                    target=target,
                    path=path,
                    query=query,
                    headers=[(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in head.headers],
                    body=bytes(body),
                    client=peer if isinstance(peer, tuple) else None,
                )
            elif isinstance(event, h11.ConnectionClosed):
                return None

    async def _switch_protocols(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        response: Response,
    ) -> None:
        """Answer 101 and hand the connection to ``response.upgrade`` (a websocket session), with
        whatever the client sent after its request; it runs until that session ends."""
        assert response.upgrade is not None
        writer.write(
            conn.send(
                h11.InformationalResponse(
                    status_code=101, headers=response.headers, reason=b"Switching Protocols"
                )
            )
        )
        await writer.drain()
        await response.upgrade(reader, writer, conn.trailing_data[0])

    async def _dispatch(self, request: Request) -> Response:
        if not self._middleware:
            return await self._route(request)
        handle: Handler = self._route
        for middleware in reversed(self._middleware):
            handle = _bind(middleware, handle)
        return await handle(request)

    async def _route(self, request: Request) -> Response:
        verbs = self._routes.get(request.path)
        if verbs is None:
            for prefix, prefix_handler in self._prefix_routes:
                if request.path.startswith(prefix):
                    return await prefix_handler(request)
            return Response.text("404 page not found", 404)
        handler = verbs.get(request.method) or verbs.get("*")
        if handler is None and request.method == "HEAD":
            handler = verbs.get("GET")
        if handler is None:
            return Response.text("method not allowed", 405)
        return await handler(request)

    async def _send(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, response: Response, head: bool = False
    ) -> None:
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
        if response.content_type and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", response.content_type))
        if response.stream is not None and not head:
            await self._send_stream(conn, writer, response, headers)
            return
        headers.append(("Content-Length", str(len(response.body))))
        data = conn.send(
            h11.Response(status_code=response.status, headers=headers, reason=_reason(response.status))
        )
        if response.body and not head:
            data += conn.send(h11.Data(data=response.body))
        data += conn.send(h11.EndOfMessage())
        writer.write(data)
        await writer.drain()

    async def _send_stream(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        response: Response,
        headers: list[tuple[str, str]],
    ) -> None:
        assert response.stream is not None
        headers.append(("Transfer-Encoding", "chunked"))
        writer.write(
            conn.send(
                h11.Response(status_code=response.status, headers=headers, reason=_reason(response.status))
            )
        )
        await writer.drain()
        async for chunk in response.stream:
            if chunk:
                writer.write(conn.send(h11.Data(data=chunk)))
                await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr)


@functools.lru_cache(maxsize=128)
def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""
