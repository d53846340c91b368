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

Speed: h11 costs more per request than everything else on an ingest request together, so a plain
request (an HTTP/1.1 head in CRLF lines that are all well-formed, one ``Host``, at most one
all-digit ``Content-Length``, no ``Transfer-Encoding``, ``Expect`` or ``Upgrade``, and no
``Connection`` but ``keep-alive``) is read and answered by a few regular expressions here; so is a plain response (a
final status, a body of known length, header names and values h11 would accept). Anything else
goes to h11 exactly as before: a request that is not plain is handed over with the bytes already
read, and a response that is not plain is written by an h11 connection that was given the
request first. The plain path accepts a strict subset of what h11 accepts, so it never takes a
request that h11 would refuse or frame differently.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
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

# The plain path's grammar: subsets of h11's (``h11._abnf``), so h11 would read a request that
# matches the same way.
_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
_PLAIN_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/1\.1")
_PLAIN_HEADER_LINE = re.compile(
    rb"(" + _TOKEN + rb"):[ \t]*((?:[\x21-\x7e\x80-\xff]+(?:[ \t]+[\x21-\x7e\x80-\xff]+)*)?)[ \t]*"
)
# what h11 takes for the end of a head: a blank line, with or without its CR
_HEAD_END = re.compile(rb"\n\r?\n")
# headers whose requests h11 reads: other framings, connection handling, 100-continue, upgrades
_NOT_PLAIN_HEADERS = frozenset({"transfer-encoding", "connection", "expect", "upgrade"})
_PLAIN_FIELD_NAME = re.compile(_TOKEN.decode())
_PLAIN_FIELD_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")


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


class _NotPlain:
    """Marks a request head that h11 has to read."""


class _ReadDeadline:
    """The deadline of a connection's pending read on the plain path. One timer per connection
    enforces it, re-armed only when it fires before the current deadline, so a kept-alive
    connection answering many requests schedules a timer now and then rather than one per read.
    When a read is overdue the reader is given ``_Timeout``, which that read raises."""

    __slots__ = ("_loop", "_reader", "_when", "_timer")

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._loop = asyncio.get_running_loop()
        self._reader = reader
        self._when: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self, when: float) -> None:
        self._when = when
        if self._timer is None or self._timer.when() > when:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(when, self._fire)

    def stop(self) -> None:
        self._when = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        if self._when is None:
            return  # no read pending: the next one arms the timer again
        if self._loop.time() < self._when:
            self._timer = self._loop.call_at(self._when, self._fire)
            return
        self._reader.set_exception(_Timeout())


NOT_PLAIN = _NotPlain()


def _path_and_query(target: str) -> tuple[str, list[tuple[str, str]]]:
    if "?" in target or "#" in target or not target.startswith("/") or target.startswith("//"):
        parts = urlsplit(target)
        return parts.path, parse_qsl(parts.query, keep_blank_values=True)
    return target, []  # the common case: a plain path, nothing to split


def _parse_plain_head(head: bytes) -> tuple[str, str, list[tuple[str, str]], int] | None:
    """(method, target, headers, body length) of a plain request head (without its blank line),
    or None when h11 has to read it."""
    lines = head.split(b"\r\n")
    request_line = _PLAIN_REQUEST_LINE.fullmatch(lines[0])
    if request_line is None or request_line[1] == b"CONNECT":
        return None
    headers: list[tuple[str, str]] = []
    length = -1
    hosts = 0
    for line in lines[1:]:
        field = _PLAIN_HEADER_LINE.fullmatch(line)
        if field is None:
            return None
        name = field[1].decode("ascii").lower()
        value = field[2]
        if name in _NOT_PLAIN_HEADERS and not (name == "connection" and value.lower() == b"keep-alive"):
            return None  # (keep-alive is HTTP/1.1's default, so it changes nothing)
        if name == "content-length":
            if length >= 0 or not value.isdigit() or len(value) > 18:
                return None
            length = int(value)
        elif name == "host":
            hosts += 1
        headers.append((name, value.decode("latin-1")))
    if hosts != 1:
        return None
    return request_line[1].decode("ascii"), request_line[2].decode("ascii"), headers, max(length, 0)


def _encode_plain(response: Response, head: bool) -> bytes | None:
    """The bytes of a plain response (what h11 would write for it), or None when h11 has to write
    it: a streamed body, a status below 200, a body on a 204 or 304, framing or connection headers
    of the handler's own, or a header h11 would refuse."""
    status = response.status
    if response.stream is not None or not 200 <= status <= 999 or (status in (204, 304) and response.body):
        return None
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _reason(status))]
    has_type = False
    for name, value in response.headers:
        lowered = name.lower()
        if lowered == "content-length":
            continue
        if lowered in ("transfer-encoding", "connection"):
            return None
        if _PLAIN_FIELD_NAME.fullmatch(name) is None or _PLAIN_FIELD_VALUE.fullmatch(value) is None:
            return None
        has_type = has_type or lowered == "content-type"
        lines.append(f"{name}: {value}\r\n".encode("ascii"))
    if response.content_type and not has_type:
        if _PLAIN_FIELD_VALUE.fullmatch(response.content_type) is None:
            return None
        lines.append(f"Content-Type: {response.content_type}\r\n".encode("ascii"))
    lines.append(b"Content-Length: %d\r\n\r\n" % len(response.body))
    if response.body and not head:
        lines.append(response.body)
    return b"".join(lines)


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
        peer = writer.get_extra_info("peername")
        if len(self._connections) > self.max_connections:
            self._connections.discard(task)
            await self._answer(writer, Response.text("too many connections", 503))
            with contextlib.suppress(Exception):
                writer.close()
            return
        received = bytearray()  # bytes read but not yet taken by a request
        deadline = _ReadDeadline(reader)
        first = True
        try:
            while True:
                plain = await self._read_plain_request(reader, writer, received, peer, first, deadline)
                first = False
                if plain is None:
                    break
                if plain is NOT_PLAIN:
                    if not await self._serve_with_h11(reader, writer, received, peer):
                        break
                    continue
                assert not isinstance(plain, _NotPlain)
                request, raw_head = plain
                try:
                    response = await self._dispatch(request)
                except Exception as err:  # a handler bug must not kill the connection loop
                    response = Response.text(f"internal error: {err}", 500)
                if response.upgrade is not None:
                    break  # only an Upgrade request (read by h11) can switch protocols
                encoded = _encode_plain(response, head=request.method == "HEAD")
                if encoded is None:
                    if not await self._answer_with_h11(writer, raw_head, request, response):
                        break
                    continue
                writer.write(encoded)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, h11.ProtocolError, _Timeout):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            deadline.close()
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read_plain_request(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        received: bytearray,
        peer: object,
        first: bool,
        deadline: _ReadDeadline,
    ) -> tuple[Request, bytes] | _NotPlain | None:
        """The next request and its raw head when it is plain; NOT_PLAIN when h11 has to read it
        (``received`` then holds what was read of it); None when the connection is to be closed.
        The timeouts are those of ``_read_request``."""
        loop = asyncio.get_running_loop()
        received_any = bool(received)
        idle_deadline = loop.time() + self.idle_timeout
        head_deadline = loop.time() + self.header_timeout if first or received_any else None
        while True:
            end = _HEAD_END.search(received)
            if end is not None:
                break
            if len(received) > MAX_HEADER_BYTES:
                return NOT_PLAIN  # h11 answers 431
            data = await self._receive(reader, writer, deadline, head_deadline or idle_deadline, received_any)
            if not data:
                return None
            if not received_any:
                received_any = True
                if head_deadline is None:
                    head_deadline = loop.time() + self.header_timeout
            received += data
        start = end.start()
        if end.end() - start != 3 or start == 0 or received[start - 1] != 13 or start > MAX_HEADER_BYTES:
            return NOT_PLAIN  # a head ending in bare line feeds, or too long
        parsed = _parse_plain_head(bytes(received[: start - 1]))
        if parsed is None:
            return NOT_PLAIN
        method, target, headers, length = parsed
        if length > self.max_body:
            await self._answer(writer, Response.text("request body too large", 413))
            return None
        body_start = end.end()
        body_end = body_start + length
        while len(received) < body_end:
            data = await self._receive(reader, writer, deadline, loop.time() + self.body_timeout, True)
            if not data:
                return None
            received += data
        raw_head = bytes(received[:body_start])
        body = bytes(received[body_start:body_end])
        del received[:body_end]
        path, query = _path_and_query(target)
        request = Request(
            method=method,
            target=target,
            path=path,
            query=query,
            headers=headers,
            body=body,
            client=peer if isinstance(peer, tuple) else None,
        )
        return request, raw_head

    async def _receive(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        deadline: _ReadDeadline,
        when: float,
        received_any: bool,
    ) -> bytes:
        """One read that must bring data by ``when`` (event loop time); on a timeout a connection
        that sent part of a request is answered 408, and the connection is closed either way."""
        deadline.start(when)
        try:
            return await reader.read(65536)
        except _Timeout:
            if received_any:
                await self._answer(writer, Response.text("request timeout", 408))
            raise
        finally:
            deadline.stop()

    async def _answer(self, writer: asyncio.StreamWriter, response: Response) -> None:
        """Answer outside a request cycle (an error before the connection is closed)."""
        with contextlib.suppress(Exception):
            await self._send(h11.Connection(h11.SERVER), writer, response)

    async def _serve_with_h11(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, received: bytearray, peer: object
    ) -> bool:
        """One request cycle read and answered by h11, starting with the bytes in ``received``
        (which then holds what arrived after the request); False when the connection is to be
        closed."""
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        conn.receive_data(bytes(received))
        received.clear()
        request = await self._read_request(conn, reader, writer, peer, buffered=True)
        if request is None:
            return False
        try:
            response = await self._dispatch(request)
        except Exception as err:  # a handler bug must not kill the connection loop
            response = Response.text(f"internal error: {err}", 500)
        if response.upgrade is not None and response.status == 101:
            await self._switch_protocols(conn, reader, writer, response)
            return False
        await self._send(conn, writer, response, head=request.method == "HEAD")
        return self._next_cycle(conn, received)

    async def _answer_with_h11(
        self, writer: asyncio.StreamWriter, raw_head: bytes, request: Request, response: Response
    ) -> bool:
        """Write a response that is not plain with an h11 connection that read the request first;
        False when the connection is to be closed."""
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        conn.receive_data(raw_head + request.body)
        for _ in range(3):  # the request, its body, its end
            if type(conn.next_event()) is h11.EndOfMessage:
                break
        await self._send(conn, writer, response, head=request.method == "HEAD")
        return self._next_cycle(conn, bytearray())

    @staticmethod
    def _next_cycle(conn: h11.Connection, received: bytearray) -> bool:
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            return False
        try:
            conn.start_next_cycle()
        except h11.LocalProtocolError:
            return False
        data, _ = conn.trailing_data
        received += data
        return True

    async def _read_request(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: object,
        first: bool = True,
        buffered: bool = False,
    ) -> Request | None:
        """The next request read by h11; ``buffered`` when h11 was given part of it already."""
        head: h11.Request | None = None
        body = bytearray()
        loop = asyncio.get_running_loop()
        # A new connection has header_timeout to send its request head; a kept-alive one may idle
        # for idle_timeout, then has header_timeout from its first byte.
        idle_deadline = loop.time() + self.idle_timeout
        head_deadline = loop.time() + self.header_timeout if first else None
        received_any = buffered
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
                if conn.they_are_waiting_for_100_continue:
                    # what h11 returns has to be written: the client may wait for it to send the body
                    writer.write(
                        conn.send(h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue"))
                    )
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > self.max_body:
                    await self._send(conn, writer, Response.text("request body too large", 413))
                    return None
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                target = head.target.decode("latin-1")
                path, query = _path_and_query(target)
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
