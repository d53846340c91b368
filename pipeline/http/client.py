"""The HTTP client every HTTP component shares: one exchange with a deadline, error text in Go's
words, retry waits, multipart bodies, and request dumps with secrets hidden.

Upstream's components share ``internal/httpclient``: a Go ``http.Client`` whose errors read as
Go's (``Post "<url>": dial tcp ...: connect: connection refused``), a retry throttle, an
``Authorization`` header that wins over a URL's user-info (Go only turns user-info into basic
auth when no ``Authorization`` header is set), and dumps that print the exchange as sent. Here:

- :class:`HTTPClient` wraps one ``httpx.AsyncClient`` and makes one exchange at a time
  (:meth:`HTTPClient.send`): it never raises for a failed exchange, it returns an
  :class:`Exchange` whose ``error`` says what went wrong, with every URL redacted. Requests
  httpx is not needed for (no proxy, no URL credentials, not ``HEAD``, no redirect to follow) go
  over the lean kept-alive connections of :mod:`pipeline.http.keepalive`, which cost a fraction
  of httpx's CPU per request;
- :class:`Throttle` is upstream's shared retry period; :func:`jittered_backoff` and
  :func:`retry_after_seconds` serve clients that retry per request (the ``run_ai`` input);
- :func:`send_with_retries` is the retry loop of the ``http_client`` output, driven by
  :class:`StatusRules` (``backoff_on``, ``drop_on``, ``successful_on``).

Where we differ: every URL, header and body that reaches an error, a log line or a dump goes
through :mod:`pipeline.redact` (upstream dumps ``Authorization`` and repeats URLs with their
credentials), and requests always use HTTP/1.1.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from pipeline.errors import NoResponseError, RequestBuildError, UnexpectedResponseError
from pipeline.http.keepalive import KeepAliveError, KeepAlivePool, usable_for
from pipeline.metadata import canonical_header
from pipeline.redact import SECRET_MASK, is_sensitive_name, redact_text, redact_url

# Headers Go's transport adds when the request does not set them.
GO_DEFAULT_HEADERS = {"User-Agent": "Go-http-client/1.1", "Accept-Encoding": "gzip"}
# Retry-After values longer than this are cut short.
MAX_RETRY_AFTER = 300.0
# How much of a response body an error quotes.
BODY_EXCERPT = 200


# -- waiting between attempts ------------------------------------------------------------------------


class Throttle:
    """Upstream's retry throttle, shared by every concurrent request of one component.

    A linear retry sleeps the current period; an exponential one (the last status was in
    ``backoff_on``) first doubles it, capped, unless it is the first consecutive retry. Only a
    successful request resets it, so a redelivered batch keeps waiting the grown period.
    """

    def __init__(self, base: float, maximum: float) -> None:
        self.base = base
        self.maximum = maximum
        self.consecutive_retries = 0
        self.period = base

    async def retry(self) -> None:
        self.consecutive_retries += 1
        await asyncio.sleep(self.period)

    async def exponential_retry(self) -> None:
        if self.consecutive_retries > 0:
            self.period = min(self.period * 2, self.maximum)
        self.consecutive_retries += 1
        await asyncio.sleep(self.period)

    def reset(self) -> None:
        self.consecutive_retries = 0
        self.period = self.base


def jittered_backoff(attempt: int, base: float, cap: float) -> float:
    """resty's jittered exponential wait before the ``attempt``-th retry (0-based)."""
    centre: float = min(cap, base * (2**attempt)) / 2
    return max(base, centre + random.random() * centre)


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds to wait, capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


# -- bodies and text ---------------------------------------------------------------------------------


def go_multipart(parts: list[tuple[list[tuple[str, str]], bytes]]) -> tuple[bytes, str]:
    """A body as Go's ``multipart.Writer`` writes it; returns (body, content type)."""
    boundary = os.urandom(30).hex()
    out = bytearray()
    for i, (headers, body) in enumerate(parts):
        out += (b"\r\n--" if i else b"--") + boundary.encode() + b"\r\n"
        for key, value in sorted(headers):
            out += f"{key}: {value}\r\n".encode()
        out += b"\r\n" + body
    out += b"\r\n--" + boundary.encode() + b"--\r\n"
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def body_excerpt(body: bytes, limit: int = BODY_EXCERPT) -> str:
    """The start of a response body for an error or a log line, secrets redacted."""
    text = body[:limit].decode("utf-8", "replace").strip()
    if len(body) > limit:
        text += "..."
    return redact_text(text) or "(empty body)"


def go_transport_reason(err: Exception, url: str) -> str:
    """Go's wording for common transport failures (``drop_on`` patterns may match on it)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 443 if parts.scheme == "https" else 80
    text = str(err) or type(err).__name__
    causes: list[BaseException] = []
    cause: BaseException | None = err
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    lowered = " ".join(str(c) for c in causes).lower()
    if isinstance(err, httpx.ConnectError):
        if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in lowered:
            return f"dial tcp {host}:{port}: connect: connection refused"
        if (
            "name or service not known" in lowered
            or "nodename" in lowered
            or "temporary failure in name" in lowered
        ):
            return f"dial tcp: lookup {host}: no such host"
    if isinstance(err, (httpx.RemoteProtocolError, httpx.ReadError)) and (
        "disconnected" in lowered or "reset" in lowered or not text
    ):
        return "EOF"
    return redact_text(text)


def go_verb(method: str) -> str:
    """``POST`` as Go's errors spell it (``Post``)."""
    return method[:1].upper() + method[1:].lower()


def build_request(
    method: str, url: str, headers: list[tuple[str, str]] | dict[str, str], content: bytes | None
) -> httpx.Request:
    """An ``httpx.Request``, or :class:`RequestBuildError` naming what is wrong (URL redacted)."""
    try:
        return httpx.Request(method, url, headers=headers, content=content)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as err:
        raise RequestBuildError(f"failed to create request: {redact_text(str(err))}") from None


# Go sends a URL's user-info as basic auth only when no ``Authorization`` header is set; httpx would
# overwrite the header with it. Sending with this (do-nothing) auth keeps the header.
_KEEP_AUTHORIZATION = httpx.Auth()


# -- one exchange ------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request and what came of it: a response with its body, or an error."""

    request: httpx.Request
    response: httpx.Response | None = None
    body: bytes = b""
    error: Exception | None = None
    elapsed_ns: int = 0
    backoff: bool = False  # the status asks for a growing wait (``backoff_on``)
    drop: bool = False  # the status ends the write at once (``drop_on``)

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class HTTPClient:
    """One connection pool and how requests are sent through it.

    ``timeout`` bounds the whole exchange (headers and body), as Go's ``Client.Timeout``;
    ``go_headers`` makes the defaults Go's (``User-Agent: Go-http-client/1.1``, ``Accept-Encoding:
    gzip``, no ``Accept``) instead of httpx's.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        timeout: float | None = None,
        follow_redirects: bool = True,
        max_redirects: int = 10,
        proxy: str | None = None,
        max_connections: int | None = None,
        max_keepalive_connections: int | None = None,
        go_headers: bool = False,
    ) -> None:
        self.timeout = timeout or None
        self.follow_redirects = follow_redirects
        client = httpx.AsyncClient(
            verify=verify,
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
            timeout=None,  # the deadline in send() covers the whole exchange
            proxy=proxy or None,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_keepalive_connections
            ),
        )
        if go_headers:
            client.headers.update(GO_DEFAULT_HEADERS)
            for default in ("Accept", "Connection"):
                client.headers.pop(default, None)
        self.client = client
        # requests go through the lean kept-alive client where it can serve them (see send())
        self._verify = verify
        self._lean_allowed = not proxy
        self._lean_pools: dict[tuple[str, str, int | None], KeepAlivePool | None] = {}

    def _lean_pool(self, request: httpx.Request) -> KeepAlivePool | None:
        """The kept-alive pool for the request's origin, or None when httpx must send it (HEAD,
        a proxy, credentials in the URL, a scheme other than http/https)."""
        if not self._lean_allowed or request.method == "HEAD":
            return None
        try:
            request.content  # noqa: B018 - a streamed body (not read yet) goes through httpx
        except httpx.RequestNotRead:
            return None
        url = request.url
        key = (url.scheme, url.host, url.port)
        try:
            return self._lean_pools[key]
        except KeyError:
            pass
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        pool = (
            KeepAlivePool(origin, verify=self._verify)
            if not (url.username or url.password) and usable_for(origin)
            else None
        )
        self._lean_pools[key] = pool
        return pool

    async def aclose(self) -> None:
        for pool in self._lean_pools.values():
            if pool is not None:
                pool.close()
        self._lean_pools.clear()
        await self.client.aclose()

    async def send(self, request: httpx.Request) -> Exchange:
        """Send ``request`` and read its body within the deadline; never raises for a failure."""
        url = request.url
        auth = (
            _KEEP_AUTHORIZATION
            if (url.username or url.password) and "authorization" in request.headers
            else None
        )
        exchange = Exchange(request)
        started = time.perf_counter_ns()
        stage = "awaiting headers"
        pool = self._lean_pool(request) if auth is None else None
        try:
            async with asyncio.timeout(self.timeout):
                if pool is not None:
                    try:
                        reply = await pool.request(
                            request.method, url.raw_path.decode("ascii"), request.headers.raw, request.content
                        )
                    except KeepAliveError as err:
                        exchange.error = transport_error(request, str(err))
                        exchange.elapsed_ns = time.perf_counter_ns() - started
                        return exchange
                    if not (
                        self.follow_redirects
                        and 300 <= reply.status_code < 400
                        and "location" in reply.headers
                    ):
                        stage = "reading body"
                        # httpx decodes the body as it would have (Content-Encoding)
                        response = httpx.Response(
                            reply.status_code,
                            headers=reply.raw_headers,
                            content=reply.content,
                            request=request,
                        )
                        exchange.body = response.content
                        exchange.response = response
                        exchange.elapsed_ns = time.perf_counter_ns() - started
                        return exchange
                    # a redirect to follow: httpx sends the request again and follows it
                if auth is None:
                    response = await self.client.send(request, stream=True)
                else:
                    response = await self.client.send(request, stream=True, auth=auth)
                stage = "reading body"
                try:
                    exchange.body = await response.aread()
                finally:
                    await response.aclose()
            exchange.response = response
        except TimeoutError:
            reason = (
                "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                if stage == "awaiting headers"
                else "context deadline exceeded (Client.Timeout or context cancellation while reading body)"
            )
            exchange.error = transport_error(request, reason)
        except httpx.HTTPError as err:
            exchange.error = transport_error(request, go_transport_reason(err, str(request.url)))
        exchange.elapsed_ns = time.perf_counter_ns() - started
        return exchange


def transport_error(request: httpx.Request, reason: str) -> NoResponseError:
    """Go's ``<url>: Post "<url>": <reason>`` with the URL redacted."""
    url = redact_url(str(request.url))
    url_error = f'{go_verb(request.method)} "{url}": {reason}'
    return NoResponseError(f"{url}: {url_error}", url_error)


def status_error(exchange: Exchange) -> UnexpectedResponseError:
    """Upstream's ``<url>: HTTP request returned unexpected response code (<code>): <status>,
    Error: <body>``, with the URL and the body redacted."""
    response = exchange.response
    assert response is not None
    code = response.status_code
    reason = response.reason_phrase or ""
    status = f"{code} {reason}" if reason else str(code)
    text = redact_text(exchange.body.decode("utf-8", "replace").replace("\n", ""))
    return UnexpectedResponseError(redact_url(str(exchange.request.url)), code, status, text)


# -- the retry loop ----------------------------------------------------------------------------------


@dataclass
class StatusRules:
    """Which statuses succeed, fail, fail with a growing wait, or fail without retrying."""

    backoff_on: set[int] = field(default_factory=lambda: {429})
    drop_on: set[int] = field(default_factory=set)
    successful_on: set[int] = field(default_factory=set)
    redirects_succeed: bool = False  # a 3xx counts as success when redirects are not followed

    def classify(self, exchange: Exchange) -> None:
        """Set ``exchange.error`` (and ``backoff``/``drop``) from its status, as upstream."""
        code = exchange.status
        if code is None:
            return
        if code in self.drop_on:
            exchange.drop = True
        elif code in self.backoff_on:
            exchange.backoff = True
        elif code in self.successful_on:
            return
        elif self.redirects_succeed and 300 <= code <= 399:
            return
        elif 200 <= code <= 299:
            return
        exchange.error = status_error(exchange)


async def send_with_retries(
    attempt: Callable[[], Awaitable[Exchange]],
    rules: StatusRules,
    retries: int,
    throttle: Throttle,
) -> Exchange:
    """One attempt and up to ``retries`` more, waiting on ``throttle`` between them; a ``drop_on``
    status ends at once. Raises the last attempt's error; a success resets the throttle."""
    exchange = await attempt()
    rules.classify(exchange)
    done = 0
    while exchange.error is not None and not exchange.drop and done < retries:
        if exchange.backoff:
            await throttle.exponential_retry()
        else:
            await throttle.retry()
        exchange = await attempt()
        rules.classify(exchange)
        done += 1
    if exchange.error is not None:
        raise exchange.error
    throttle.reset()
    return exchange


# -- request dumps -----------------------------------------------------------------------------------


def dump_record(exchange: Exchange) -> dict[str, Any]:
    """The exchange as a log record: sensitive headers masked, URLs and bodies redacted."""
    request = exchange.request
    record: dict[str, Any] = {
        "elapsed_ns": exchange.elapsed_ns,
        "request": {
            "url": redact_url(str(request.url)),
            "method": request.method,
            "header": _header_map(request.headers.multi_items()),
            "body": loggable_body(request.content),
        },
    }
    if exchange.response is not None:
        record["response"] = {
            "status_code": exchange.response.status_code,
            "content_length": len(exchange.body),
            "header": _header_map(exchange.response.headers.multi_items()),
            "body": loggable_body(exchange.body),
        }
    if exchange.error is not None and exchange.response is None:
        record["error"] = str(exchange.error)
    return record


def _header_map(items: list[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for key, value in items:
        name = canonical_header(key)
        joined.setdefault(name, []).append(SECRET_MASK if is_sensitive_name(name) else redact_text(value))
    return {k: " ".join(v) for k, v in joined.items()}


def loggable_body(body: bytes) -> Any:
    """A body for a log record: decoded JSON when it is JSON, else text; secrets redacted."""
    text = redact_text(body.decode("utf-8", "replace"))
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


__all__ = [
    "BODY_EXCERPT",
    "Exchange",
    "HTTPClient",
    "RequestBuildError",
    "StatusRules",
    "Throttle",
    "body_excerpt",
    "build_request",
    "dump_record",
    "go_multipart",
    "go_transport_reason",
    "jittered_backoff",
    "retry_after_seconds",
    "send_with_retries",
    "status_error",
    "transport_error",
]
