"""A lean HTTP/1.1 client for many small GETs to one origin over kept-alive connections.

The ``run_ai`` input sends thousands of small metric requests per scrape to one host, and the
``http_client`` output one request per batch, all day. Through
httpx each one costs about a millisecond of CPU on a small machine (the request and URL models,
httpcore's pool bookkeeping, anyio's wrappers), which made the collector, not Run:ai, the limit of
a scrape. This client writes the request line and headers itself and reads the response straight
from an ``asyncio`` stream, with one connection per concurrent caller; it measured at about a
third of httpx's CPU per request (``bench/run_ai_scrape.py``).

What it does: HTTP/1.1 requests (not ``HEAD``) with keep-alive, ``Content-Length``, chunked and close-delimited
bodies, TLS (the caller's ``SSLContext``), a deadline over the whole exchange, and one silent
retry on a fresh connection when a kept-alive one turns out to be closed before any response byte
arrived (what httpcore does too). What it does not: proxies, redirects, compression, HTTP/2;
:func:`usable_for` says when a caller must use :class:`pipeline.http.client.HTTPClient` instead.
Status lines and headers are bounded in size, and so is the body (:data:`MAX_BODY`), so a hostile
server cannot make it hold unbounded memory. Transport errors use Go's words, as the shared client
does (:func:`pipeline.http.client.go_transport_reason` for the common ones).
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from pipeline.redact import redact_text

# A response's status line and headers together may not exceed this.
MAX_HEAD = 64 * 1024
# A response body may not exceed this (Run:ai metric answers are a few kB).
MAX_BODY = 64 * 1024 * 1024


class KeepAliveError(Exception):
    """The exchange failed before a complete response arrived; the text is Go's wording of why."""


@dataclass
class Reply:
    """A complete response: status, headers (names lower-cased, repeated ones joined), the headers
    as sent, and the body as it came (not decompressed)."""

    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    raw_headers: list[tuple[str, str]] = field(default_factory=list)


def usable_for(url: str) -> bool:
    """Whether a request to ``url`` can go through :class:`KeepAlivePool`: http or https, and no
    proxy from the environment applies (those go through httpx, which honours them)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return False
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return True
    return bool(urllib.request.proxy_bypass(parts.hostname))


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class KeepAlivePool:
    """Kept-alive connections to the origin of ``base_url``; :meth:`get` takes an idle one (or
    opens one) and returns it afterwards, so concurrency is bounded by the callers."""

    def __init__(self, base_url: str, *, verify: ssl.SSLContext | bool = True, timeout: float | None = None):
        parts = urlsplit(base_url)
        self.host = parts.hostname or ""
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        default_port = 443 if self.tls else 80
        self.authority = parts.netloc if self.port != default_port else self.host
        self.ssl: ssl.SSLContext | None = None
        if self.tls:
            # the same trust store as the httpx clients when the caller gives no context
            self.ssl = (
                verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
            )
        self.timeout = timeout or None
        self._idle: list[_Connection] = []

    def close(self) -> None:
        """Close the idle connections (one in use closes when its exchange ends)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    async def get(self, target: str, headers: dict[str, str]) -> Reply:
        """``GET target`` (path and query) with ``headers``; raises :class:`KeepAliveError`."""
        head = f"GET {target} HTTP/1.1\r\nHost: {self.authority}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        return await self.send(head.encode("latin-1"))

    async def request(
        self, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Reply:
        """Any method but ``HEAD`` with headers as given (``Host`` and ``Content-Length`` added when
        missing); raises :class:`KeepAliveError`."""
        out = bytearray(f"{method} {target} HTTP/1.1\r\n".encode("latin-1"))
        names = set()
        for name, value in headers:
            names.add(name.lower())
            out += name + b": " + value + b"\r\n"
        if b"host" not in names:
            out += f"Host: {self.authority}\r\n".encode("latin-1")
        if body and b"content-length" not in names and b"transfer-encoding" not in names:
            out += b"Content-Length: %d\r\n" % len(body)
        out += b"\r\n"
        out += body
        return await self.send(bytes(out))

    async def send(self, request: bytes) -> Reply:
        """Send a complete request (head and body) and read its response."""
        stage = ["awaiting headers"]
        try:
            async with asyncio.timeout(self.timeout):
                while self._idle:
                    conn = self._idle.pop()
                    try:
                        return await self._exchange(conn, request, stage, reused=True)
                    except _StaleConnection:
                        conn.close()
                conn = await self._connect()
                try:
                    return await self._exchange(conn, request, stage, reused=False)
                except _StaleConnection as err:
                    conn.close()
                    raise KeepAliveError("EOF") from err
        except TimeoutError:
            if stage[0] == "awaiting headers":
                reason = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            else:
                reason = (
                    "context deadline exceeded (Client.Timeout or context cancellation while reading body)"
                )
            raise KeepAliveError(reason) from None

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.open_connection(
                self.host,
                self.port,
                ssl=self.ssl,
                limit=MAX_HEAD,
                server_hostname=self.host if self.tls else None,
            )
        except ConnectionRefusedError:
            raise KeepAliveError(f"dial tcp {self.host}:{self.port}: connect: connection refused") from None
        except OSError as err:
            text = str(err).lower()
            if (
                "name or service not known" in text
                or "nodename" in text
                or "temporary failure in name" in text
            ):
                raise KeepAliveError(f"dial tcp: lookup {self.host}: no such host") from None
            raise KeepAliveError(redact_text(str(err) or type(err).__name__)) from None
        return _Connection(reader, writer)

    async def _exchange(self, conn: _Connection, request: bytes, stage: list[str], *, reused: bool) -> Reply:
        reader = conn.reader
        try:
            conn.writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as err:
                if not err.partial and reused:
                    raise _StaleConnection from None
                raise KeepAliveError("EOF") from None
            except asyncio.LimitOverrunError:
                raise KeepAliveError(f"net/http: server response headers exceeded {MAX_HEAD} bytes") from None
            stage[0] = "reading body"
            reply, keep_alive, length, chunked = _parse_head(head)
            if chunked:
                reply.content = await _read_chunked(reader)
            elif length is not None:
                if length > MAX_BODY:
                    raise KeepAliveError(f"response body of {length} bytes exceeds {MAX_BODY}")
                reply.content = await reader.readexactly(length)
            else:
                keep_alive = False
                reply.content = await reader.read(MAX_BODY + 1)
                while not reader.at_eof() and len(reply.content) <= MAX_BODY:
                    reply.content += await reader.read(MAX_BODY + 1 - len(reply.content))
                if len(reply.content) > MAX_BODY:
                    raise KeepAliveError(f"response body exceeds {MAX_BODY} bytes")
        except (ConnectionResetError, BrokenPipeError) as err:
            conn.close()
            if reused and stage[0] == "awaiting headers":
                raise _StaleConnection from err
            raise KeepAliveError("EOF") from None
        except asyncio.IncompleteReadError:
            conn.close()
            raise KeepAliveError("unexpected EOF") from None
        except asyncio.LimitOverrunError:
            conn.close()
            raise KeepAliveError("malformed chunked encoding: line too long") from None
        except BaseException:
            conn.close()
            raise
        if keep_alive:
            self._idle.append(conn)
        else:
            conn.close()
        return reply


class _StaleConnection(Exception):
    """A kept-alive connection was closed by the server before it answered: retry on a new one."""


def _parse_head(head: bytes) -> tuple[Reply, bool, int | None, bool]:
    """(reply without body, keep-alive, Content-Length, chunked) from a status line and headers."""
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/1.") or not status_line[1].isdigit():
        raise KeepAliveError(f"malformed HTTP response {redact_text(lines[0][:80])!r}")
    headers: dict[str, str] = {}
    raw_headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise KeepAliveError(f"malformed MIME header line: {redact_text(line[:80])}")
        name = name.strip()
        value = value.strip()
        raw_headers.append((name, value))
        name = name.lower()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (status_line[0] != "HTTP/1.0" or "keep-alive" in connection)
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length: int | None = None
    if not chunked and "content-length" in headers:
        raw = headers["content-length"]
        if not raw.isdigit():
            raise KeepAliveError(f"bad Content-Length {redact_text(raw[:40])!r}")
        length = int(raw)
    status = int(status_line[1])
    if status in (204, 304) or 100 <= status < 200:
        length, chunked = 0, False
    return Reply(status, headers, raw_headers=raw_headers), keep_alive, length, chunked


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise KeepAliveError("malformed chunked encoding") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise KeepAliveError(f"response body exceeds {MAX_BODY} bytes")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise KeepAliveError("malformed chunked encoding")
