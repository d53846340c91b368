"""A small asyncio HTTP/1.1 server on h11.

One server serves the service endpoints (``/ping``, ``/metrics``...), ``http_server`` inputs that
share it, the Run:ai simulator and the OpenMeter-compatible sink. Handlers are plain async
functions ``handler(request) -> Response``; routes match an exact path, and a path may carry
several verbs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import h11

MAX_HEADER_BYTES = 64 * 1024


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

    @classmethod
    def text(cls, body: str, status: int = 200) -> Response:
        return cls(status, body.encode(), content_type="text/plain; charset=utf-8")

    @classmethod
    def json(cls, body: bytes, status: int = 200, content_type: str = "application/json") -> Response:
        return cls(status, body, content_type=content_type)


Handler = Callable[[Request], Awaitable[Response]]
Middleware = Callable[[Request, Handler], Awaitable[Response]]


def _bind(middleware: Middleware, handle: Handler) -> Handler:
    async def bound(request: Request) -> Response:
        return await middleware(request, handle)

    return bound


class HTTPServer:
    """Routes requests to handlers; ``start()`` binds, ``close()`` stops accepting and waits."""

    def __init__(
        self, host: str, port: int, *, max_body: int = 16 * 1024 * 1024, ssl: object | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.max_body = max_body
        self.ssl = ssl
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

    def has_route(self, path: str) -> bool:
        return path in self._routes

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve,
            self.host,
            self.port,
            ssl=self.ssl,
            reuse_address=True,  # type: ignore[arg-type]
        )
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]

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
        try:
            while True:
                request = await self._read_request(conn, reader, writer, peer)
                if request is None:
                    break
                try:
                    response = await self._dispatch(request)
                except Exception as err:  # a handler bug must not kill the connection loop
                    response = Response.text(f"internal error: {err}", 500)
                await self._send(conn, writer, response, head=request.method == "HEAD")
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    break
                try:
                    conn.start_next_cycle()
                except h11.LocalProtocolError:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, h11.ProtocolError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object
    ) -> Request | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as err:
                status = err.error_status_hint
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._send(conn, writer, Response.text(f"bad request: {err}", status))
                return None
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                if not data and conn.their_state in (h11.IDLE, h11.DONE):
                    return None
                continue
            if isinstance(event, h11.Request):
                head = event
                length = dict(event.headers).get(b"content-length")
                if length is not None and int(length) > self.max_body:
                    await self._send(conn, writer, Response.text("request body too large", 413))
                    return None
                if (
                    event.method == b"POST"
                    and dict(event.headers).get(b"expect", b"").lower() == b"100-continue"
                ):
                    conn.send(h11.InformationalResponse(status_code=100, headers=[]))
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > self.max_body:
                    await self._send(conn, writer, Response.text("request body too large", 413))
                    return None
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                target = head.target.decode("latin-1")
                parts = urlsplit(target)
                return Request(
                    method=head.method.decode("ascii"),
                    target=target,
                    path=parts.path,
                    query=parse_qsl(parts.query, keep_blank_values=True),
                    headers=[(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in head.headers],
                    body=bytes(body),
                    client=peer if isinstance(peer, tuple) else None,
                )
            elif isinstance(event, h11.ConnectionClosed):
                return None

    async def _dispatch(self, request: Request) -> Response:
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
        headers.append(("Content-Length", str(len(response.body))))
        data = conn.send(
            h11.Response(status_code=response.status, headers=headers, reason=_reason(response.status))
        )
        if response.body and not head:
            data += conn.send(h11.Data(data=response.body))  # type: ignore[operator]
        data += conn.send(h11.EndOfMessage())  # type: ignore[operator]
        writer.write(data)  # type: ignore[arg-type]
        await writer.drain()


def _reason(status: int) -> bytes:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""
