"""The ``http_client`` output: sends each batch to an HTTP server.

Behaviour follows Redpanda Connect's ``http_client`` output (``internal/httpclient``):

- ``url`` and header values are interpolated against the batch's first message; a ``Host`` header
  sets the request host.
- A batch of one message is one request whose body is the message. A larger batch is one
  ``multipart/form-data`` request with ``batch_as_multipart``, otherwise one request per message in
  order, stopping at the first failure.
- Each write makes one attempt and up to ``retries`` more. The wait before a retry comes from a
  throttle shared by every concurrent write of this output: ``retry_period`` for ordinary
  failures, doubled (up to ``max_retry_backoff``) from the second consecutive retry when the last
  status was in ``backoff_on``. Only a successful request resets it. A ``drop_on`` status ends
  the write at once.
- Errors read as upstream's, since ``drop_on.error_patterns`` match on them:
  ``<url>: HTTP request returned unexpected response code (400): 400 Bad Request, Error: <body>``
  and ``<url>: Post "<url>": <reason>``.

Where we differ: ``dump_request_log_level`` redacts ``Authorization`` and other secret headers
(upstream logs them as sent), and requests always use HTTP/1.1 (``disable_http2`` is therefore
always honoured; HTTP/2 is never negotiated).
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import ssl
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from pipeline.http.tls import tls_context, tls_problems
from pipeline.message import Message
from pipeline.metadata import MetadataFilter, canonical_header, metadata_filter_field
from pipeline.plugin import register_output
from pipeline.resources import Resources
from pipeline.spec import (
    SECRET_MASK,
    ComponentSpec,
    Field,
    any_field,
    batching_field,
    boolean,
    duration,
    enum,
    int_list,
    integer,
    interp,
    max_in_flight_field,
    obj,
    obj_list,
    string,
    string_list,
    string_map,
    tls_fields,
)

# -- spec -------------------------------------------------------------------------------------------

DUMP_LEVELS = ("", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def _lint(conf: dict[str, Any]) -> list[str]:
    problems = []
    if conf["oauth"]["enabled"]:
        problems.append(
            "field 'oauth': OAuth v1 request signing is not supported by benthic; use oauth2, basic_auth "
            "or an Authorization header instead"
        )
    if conf["jwt"]["enabled"]:
        problems.append(
            "field 'jwt': JWT request signing is not supported by benthic; use oauth2, basic_auth "
            "or an Authorization header instead"
        )
    problems.extend(tls_problems(conf["tls"]))
    for key in ("metadata", "extract_headers"):
        for i, pattern in enumerate((conf.get(key) or {}).get("include_patterns") or []):
            try:
                re.compile(pattern)
            except re.error as err:
                problems.append(
                    f"field '{key}.include_patterns.{i}': failed to compile regular expression: {err}"
                )
    return problems


SPEC = ComponentSpec(
    "http_client",
    "output",
    summary="Sends messages to an HTTP server.",
    description=(
        "When the number of retries expires the output rejects the message, and what happens next is "
        "decided by the input (or a wrapping output such as drop_on). The URL and header values may be "
        "interpolated, evaluated against the first message of each batch."
    ),
    categories=("Network",),
    fields=[
        interp("url", "The URL to connect to.", examples=("http://localhost:4195/post",)),
        string("verb", "A verb to connect with.", default="POST"),
        string_map(
            "headers",
            "A map of headers to add to the request. A Host header sets the request host.",
            default={},
            interpolated=True,
        ),
        metadata_filter_field(
            "metadata",
            "Specify optional matching rules to determine which metadata keys should be added to the HTTP request as headers.",
        ),
        enum(
            "dump_request_log_level",
            DUMP_LEVELS,
            "EXPERIMENTAL: Optionally set a level at which the request and response payload of each request "
            "made will be logged (secret headers are redacted).",
            default="",
            advanced=True,
        ),
        obj(
            "oauth",
            [
                boolean(
                    "enabled",
                    "Whether to use OAuth version 1 in requests (not supported by benthic).",
                    default=False,
                ),
                string(
                    "consumer_key", "A value used to identify the client to the service provider.", default=""
                ),
                string(
                    "consumer_secret",
                    "A secret used to establish ownership of the consumer key.",
                    default="",
                    secret=True,
                ),
                string(
                    "access_token",
                    "A value used to gain access to the protected resources on behalf of the user.",
                    default="",
                ),
                string(
                    "access_token_secret",
                    "A secret provided in order to establish ownership of a given access token.",
                    default="",
                    secret=True,
                ),
            ],
            "Allows you to specify open authentication via OAuth version 1.",
            advanced=True,
        ),
        obj(
            "oauth2",
            [
                boolean("enabled", "Whether to use OAuth version 2 in requests.", default=False),
                string(
                    "client_key", "A value used to identify the client to the token provider.", default=""
                ),
                string(
                    "client_secret",
                    "A secret used to establish ownership of the client key.",
                    default="",
                    secret=True,
                ),
                string("token_url", "The URL of the token provider.", default=""),
                string_list("scopes", "A list of optional requested permissions.", default=[]),
                Field(
                    "endpoint_params",
                    "any",
                    "map",
                    default={},
                    description="A list of optional endpoint parameters, values should be arrays of strings.",
                ),
            ],
            "Allows you to specify open authentication via OAuth version 2 using the client credentials token flow.",
            advanced=True,
        ),
        obj(
            "basic_auth",
            [
                boolean("enabled", "Whether to use basic authentication in requests.", default=False),
                string("username", "A username to authenticate as.", default=""),
                string("password", "A password to authenticate with.", default="", secret=True),
            ],
            "Allows you to specify basic authentication.",
            advanced=True,
        ),
        obj(
            "jwt",
            [
                boolean(
                    "enabled",
                    "Whether to use JWT authentication in requests (not supported by benthic).",
                    default=False,
                ),
                string(
                    "private_key_file",
                    "A file with the PEM encoded via PKCS1 or PKCS8 as private key.",
                    default="",
                ),
                string(
                    "signing_method",
                    "A method used to sign the token such as RS256, RS384, RS512 or EdDSA.",
                    default="",
                ),
                any_field("claims", "A value used to identify the claims that issued the JWT.", default={}),
                any_field("headers", "Add optional key/value headers to the JWT.", default={}),
            ],
            "BETA: Allows you to specify JWT authentication.",
            advanced=True,
        ),
        tls_fields(),
        metadata_filter_field(
            "extract_headers",
            "Specify which response headers should be added to resulting synchronous response messages as metadata.",
        ),
        string("rate_limit", "An optional rate limit to throttle requests by.", optional=True),
        duration("timeout", "A static timeout to apply to requests.", default="5s"),
        duration(
            "retry_period", "The base period to wait between failed requests.", default="1s", advanced=True
        ),
        duration(
            "max_retry_backoff",
            "The maximum period to wait between failed requests.",
            default="300s",
            advanced=True,
        ),
        integer("retries", "The maximum number of retry attempts to make.", default=3, advanced=True),
        boolean(
            "follow_redirects",
            "Whether or not to transparently follow redirects.",
            default=True,
            advanced=True,
        ),
        int_list(
            "backoff_on",
            "A list of status codes whereby the request should be considered to have failed and retries should be attempted, but the period between them should be increased gradually.",
            default=[429],
            advanced=True,
        ),
        int_list(
            "drop_on",
            "A list of status codes whereby the request should be considered to have failed but retries should not be attempted.",
            default=[],
            advanced=True,
        ),
        int_list(
            "successful_on",
            "A list of status codes whereby the attempt should be considered successful.",
            default=[],
            advanced=True,
        ),
        string("proxy_url", "An optional HTTP proxy URL.", optional=True, advanced=True),
        boolean(
            "disable_http2",
            "Whether or not to disable HTTP/2 (benthic always uses HTTP/1.1).",
            default=False,
            advanced=True,
        ),
        boolean(
            "batch_as_multipart",
            "Send message batches as a single request using RFC1341.",
            default=False,
            advanced=True,
        ),
        boolean(
            "propagate_response",
            "Whether responses from the server should be propagated back to the input.",
            default=False,
            advanced=True,
        ),
        max_in_flight_field(64),
        batching_field(),
        obj_list(
            "multipart",
            [
                interp("content_type", "The content type of the individual message part.", default=""),
                interp(
                    "content_disposition",
                    "The content disposition of the individual message part.",
                    default="",
                ),
                interp("body", "The body of the individual message part.", default=""),
            ],
            "EXPERIMENTAL: Create explicit multipart HTTP requests by specifying an array of parts to add to the request.",
            default=[],
            advanced=True,
        ),
    ],
    lint=_lint,
)

# -- errors -----------------------------------------------------------------------------------------


class HTTPStatusError(Exception):
    """The server answered with a status that is not a success."""

    def __init__(self, url: str, code: int, status: str, body: bytes) -> None:
        text = body.decode("utf-8", "replace").replace("\n", "")
        super().__init__(
            f"{url}: HTTP request returned unexpected response code ({code}): {status}, Error: {text}"
        )
        self.code = code
        self.body = body


class HTTPTransportError(Exception):
    """The request did not get a response (refused, reset, timed out, TLS...)."""


class RequestBuildError(Exception):
    """The request could not be built (an interpolation failed)."""


# -- the shared retry throttle -----------------------------------------------------------------------


class Throttle:
    """Upstream's retry throttle, shared by every concurrent write of one output.

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


# -- helpers ----------------------------------------------------------------------------------------


# headers whose values never reach the request dump (upstream logs them; we redact)
_SECRET_HEADER = re.compile(
    r"authorization|cookie|token|secret|api[-_]?key|password|signature|credential", re.I
)


def redact_url(url: str) -> str:
    """The URL with any password replaced, as Go's ``URL.Redacted``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:xxxxx@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


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


def _go_transport_reason(err: Exception, url: str) -> str:
    """Go's wording for common transport failures (``drop_on`` patterns may match on it)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
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
    return text


class _Attempt:
    """One request and what came of it."""

    __slots__ = ("response", "body", "error", "backoff", "drop")

    def __init__(self) -> None:
        self.response: httpx.Response | None = None
        self.body = b""
        self.error: Exception | None = None
        self.backoff = False
        self.drop = False


# -- the output -------------------------------------------------------------------------------------


class HTTPClientOutput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.conf = conf
        self.res = res
        self.url = res.interpolation(conf["url"])
        self.verb = conf["verb"]
        self.host: Any = None
        self.headers: list[tuple[str, Any]] = []
        for key, value in (conf["headers"] or {}).items():
            if key.lower() == "host":
                self.host = res.interpolation(value)
            else:
                self.headers.append((key, res.interpolation(value)))
        self.metadata = MetadataFilter(conf["metadata"])
        self.extract_headers = MetadataFilter(conf["extract_headers"])
        self.multipart = [
            (
                res.interpolation(p["content_type"]),
                res.interpolation(p["content_disposition"]),
                res.interpolation(p["body"]),
            )
            for p in conf["multipart"] or []
        ]
        self.timeout = conf["timeout"] or None
        self.retries = max(0, conf["retries"])
        self.backoff_on = set(conf["backoff_on"])
        self.drop_on = set(conf["drop_on"])
        self.successful_on = set(conf["successful_on"])
        self.follow_redirects = conf["follow_redirects"]
        self.throttle = Throttle(conf["retry_period"] or 0.0, conf["max_retry_backoff"] or 0.0)
        self.dump_level = {"FATAL": "ERROR"}.get(
            conf["dump_request_log_level"], conf["dump_request_log_level"]
        )
        self.ssl_context = tls_context(conf["tls"])
        self.rate_limit: Any = None
        if conf.get("rate_limit"):
            try:
                self.rate_limit = res.rate_limit(conf["rate_limit"])
            except Exception as err:
                raise ValueError(f"rate limit resource '{conf['rate_limit']}' was not found: {err}") from None
            if self.rate_limit is None:
                raise ValueError(f"rate limit resource '{conf['rate_limit']}' was not found")
        self.oauth2 = conf["oauth2"] if conf["oauth2"]["enabled"] else None
        self._oauth2_token: str | None = None
        self._oauth2_expiry = 0.0
        self._oauth2_lock = asyncio.Lock()
        self.client: httpx.AsyncClient | None = None
        self._latency = res.metrics.timer("http_request_latency_ns")
        self._codes = {tier: res.metrics.counter(f"http_request_code_{tier}xx") for tier in range(1, 6)}

    # -- lifecycle ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        if self.client is not None:
            return
        verify: ssl.SSLContext | bool = self.ssl_context if self.ssl_context is not None else True
        client = httpx.AsyncClient(
            verify=verify,
            follow_redirects=self.follow_redirects,
            max_redirects=10,
            timeout=None,  # the per-attempt deadline below covers the whole exchange, as Go's
            proxy=self.conf.get("proxy_url") or None,
            limits=httpx.Limits(
                max_connections=None, max_keepalive_connections=max(self.conf["max_in_flight"], 10)
            ),
            headers={"User-Agent": "Go-http-client/1.1", "Accept-Encoding": "gzip"},
        )
        for default in ("Accept", "Connection"):
            client.headers.pop(default, None)
        self.client = client

    async def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.aclose()

    # -- writing -----------------------------------------------------------------------------------

    async def write_batch(self, batch: list[Message]) -> None:
        if self.client is None:
            await self.connect()
        if len(batch) == 1 or self.conf["batch_as_multipart"] or self.multipart:
            attempt = await self.send(batch)
            if self.conf["propagate_response"]:
                self._propagate(batch, attempt)
            return
        for msg in batch:
            attempt = await self.send([msg])
            if self.conf["propagate_response"]:
                self._propagate([msg], attempt)

    async def send(self, batch: list[Message]) -> _Attempt:
        """Send one request for ``batch`` with retries; raise the last error."""
        request = self._build_request(batch)
        await self._wait_rate_limit()
        attempt = await self._attempt(request)
        retries = 0 if attempt.drop else self.retries
        done = 0
        while attempt.error is not None and done < retries:
            request = self._build_request(batch)
            if attempt.backoff:
                await self.throttle.exponential_retry()
            else:
                await self.throttle.retry()
            await self._wait_rate_limit()
            attempt = await self._attempt(request)
            if attempt.drop:
                break
            done += 1
        if attempt.error is not None:
            raise attempt.error
        self.throttle.reset()
        return attempt

    async def _wait_rate_limit(self) -> None:
        if self.rate_limit is None:
            return
        while True:
            wait = await self.rate_limit.access()
            if not wait or wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _attempt(self, request: httpx.Request) -> _Attempt:
        assert self.client is not None
        attempt = _Attempt()
        url = str(request.url)
        if self.oauth2 is not None:
            try:
                await self._refresh_oauth2()
            except HTTPTransportError as err:
                attempt.error = err
                return attempt
            request.headers["Authorization"] = f"Bearer {self._oauth2_token}"
        started = time.perf_counter_ns()
        stage = "awaiting headers"
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.client.send(request, stream=True)
                stage = "reading body"
                try:
                    attempt.body = await response.aread()
                finally:
                    await response.aclose()
            attempt.response = response
        except TimeoutError:
            reason = (
                "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                if stage == "awaiting headers"
                else "context deadline exceeded (Client.Timeout or context cancellation while reading body)"
            )
            attempt.error = self._transport_error(request, reason)
        except httpx.HTTPError as err:
            attempt.error = self._transport_error(request, _go_transport_reason(err, url))
        elapsed = time.perf_counter_ns() - started
        self._latency.timing(elapsed)
        if attempt.response is not None:
            self._classify(attempt, url)
        if self.dump_level:
            self._dump(request, attempt, elapsed)
        return attempt

    def _transport_error(self, request: httpx.Request, reason: str) -> HTTPTransportError:
        url = redact_url(str(request.url))
        verb = request.method[:1].upper() + request.method[1:].lower()
        return HTTPTransportError(f'{url}: {verb} "{url}": {reason}')

    def _classify(self, attempt: _Attempt, url: str) -> None:
        response = attempt.response
        assert response is not None
        code = response.status_code
        tier = self._codes.get(code // 100)
        if tier is not None:
            tier.incr()
        if code in self.drop_on:
            attempt.drop = True
        elif code in self.backoff_on:
            attempt.backoff = True
        elif code in self.successful_on:
            return
        elif not self.follow_redirects and 300 <= code <= 399:
            return
        elif 200 <= code <= 299:
            return
        reason = response.reason_phrase or ""
        status = f"{code} {reason}" if reason else str(code)
        attempt.error = HTTPStatusError(redact_url(url), code, status, attempt.body)

    # -- building requests -------------------------------------------------------------------------

    def _render(self, what: str, interpolation: Any, batch: list[Message], index: int = 0) -> str:
        try:
            return str(interpolation.render(batch[index], batch, index))
        except Exception as err:
            raise RequestBuildError(f"{what} interpolation error: {err}") from None

    def _build_request(self, batch: list[Message]) -> httpx.Request:
        first = batch[0]
        url = self._render("url", self.url, batch)
        headers: list[tuple[str, str]] = []
        for key, value in self.headers:
            headers.append((canonical_header(key), self._render(f"header '{key}'", value, batch)))
        if self.host is not None:
            headers.append(("Host", self._render("header 'Host'", self.host, batch)))
        if self.metadata.is_set:
            for key in sorted(first.metadata):
                if self.metadata.matches(key):
                    headers.append((canonical_header(key), first.meta_str(key) or ""))
        body: bytes
        if self.multipart:
            parts = []
            for content_type, disposition, part_body in self.multipart:
                part_headers = [
                    ("Content-Type", self._render("multipart content type", content_type, batch)),
                    (
                        "Content-Disposition",
                        self._render("multipart content disposition", disposition, batch),
                    ),
                ]
                parts.append((part_headers, self._render("multipart body", part_body, batch).encode()))
            body, content_type = go_multipart(parts)
            headers = [(k, v) for k, v in headers if k != "Content-Type"] + [("Content-Type", content_type)]
        elif len(batch) > 1:
            configured_type = next(
                (value for key, value in self.headers if canonical_header(key) == "Content-Type"), None
            )
            parts = []
            for i, msg in enumerate(batch):
                part_type = (
                    self._render("header 'Content-Type'", configured_type, batch, i)
                    if configured_type
                    else "application/octet-stream"
                )
                part_headers = [("Content-Type", part_type)]
                if self.metadata.is_set:
                    part_headers += [
                        (canonical_header(k), msg.meta_str(k) or "")
                        for k in sorted(msg.metadata)
                        if self.metadata.matches(k)
                    ]
                parts.append((part_headers, msg.content))
            body, content_type = go_multipart(parts)
            headers = [(k, v) for k, v in headers if k != "Content-Type"] + [("Content-Type", content_type)]
        else:
            body = first.content
            if not any(k == "Content-Type" for k, _ in headers):
                headers.append(("Content-Type", "application/octet-stream"))
        if self.conf["basic_auth"]["enabled"]:
            auth = self.conf["basic_auth"]
            token = base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()
            headers = [(k, v) for k, v in headers if k != "Authorization"] + [
                ("Authorization", f"Basic {token}")
            ]
        # what Go's transport adds, unless configured; Go also trims header values as it writes
        # them (so "Bearer ${TOKEN:}" with an empty token is sent as "Bearer")
        names = {k.lower() for k, _ in headers}
        if "user-agent" not in names:
            headers.append(("User-Agent", "Go-http-client/1.1"))
        if "accept-encoding" not in names:
            headers.append(("Accept-Encoding", "gzip"))
        headers = [(k, v.strip(" \t")) for k, v in headers]
        try:
            request = httpx.Request(self.verb, url, headers=headers, content=body)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as err:
            raise RequestBuildError(f"failed to create request: {err}") from None
        return request

    # -- oauth2 (client credentials) ---------------------------------------------------------------

    async def _refresh_oauth2(self) -> None:
        if self.oauth2 is None:
            return
        async with self._oauth2_lock:
            if self._oauth2_token is not None and time.monotonic() < self._oauth2_expiry:
                return
            conf = self.oauth2
            form: dict[str, Any] = {"grant_type": "client_credentials"}
            if conf["scopes"]:
                form["scope"] = " ".join(conf["scopes"])
            for key, value in (conf["endpoint_params"] or {}).items():
                form[key] = value if isinstance(value, list) else [value]
            assert self.client is not None
            try:
                response = await self.client.post(
                    conf["token_url"],
                    data=form,
                    auth=(conf["client_key"], conf["client_secret"]),
                    timeout=self.timeout,
                )
            except httpx.HTTPError as err:
                raise HTTPTransportError(
                    f"oauth2: cannot fetch token: {_go_transport_reason(err, conf['token_url'])}"
                ) from None
            if response.status_code < 200 or response.status_code > 299:
                raise HTTPTransportError(
                    f"oauth2: cannot fetch token: {response.status_code} {response.reason_phrase}"
                )
            try:
                token = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise HTTPTransportError("oauth2: cannot parse token response") from None
            self._oauth2_token = str(token.get("access_token") or "")
            expires_in = float(token.get("expires_in") or 3600)
            # refresh slightly before expiry, as golang.org/x/oauth2 does (10s delta)
            self._oauth2_expiry = time.monotonic() + max(0.0, expires_in - 10)

    # -- propagate_response ------------------------------------------------------------------------

    def _propagate(self, batch: list[Message], attempt: _Attempt) -> None:
        """Hand the response back towards the input (``sync_response``) through message context."""
        response = attempt.response
        if response is None:
            return
        metadata: dict[str, Any] = {"http_status_code": response.status_code}
        if self.extract_headers.is_set:
            for key, value in response.headers.items():
                if self.extract_headers.matches(key.lower()):
                    metadata[key.lower()] = value
        reply = Message(attempt.body, metadata)
        for msg in batch:
            ctx = msg.context
            if ctx is None:
                continue
            store = ctx.get("sync_response")
            if store is not None and hasattr(store, "add"):
                store.add([reply.copy()])
            else:
                ctx.setdefault("responses", []).append(reply.copy())
            break  # one response per request: stored once, against the first message's context

    # -- dump_request_log_level --------------------------------------------------------------------

    def _dump(self, request: httpx.Request, attempt: _Attempt, elapsed: int) -> None:
        record: dict[str, Any] = {
            "elapsed_ns": elapsed,
            "request": {
                "url": redact_url(str(request.url)),
                "method": request.method,
                "header": _header_map(request.headers.multi_items()),
                "body": _loggable_body(request.content),
            },
        }
        if attempt.response is not None:
            record["response"] = {
                "status_code": attempt.response.status_code,
                "content_length": len(attempt.body),
                "header": _header_map(attempt.response.headers.multi_items()),
                "body": _loggable_body(attempt.body),
            }
        if attempt.error is not None and attempt.response is None:
            record["error"] = str(attempt.error)
        self.res.logger.log(self.dump_level, "http request log", access_log=record)


def _header_map(items: list[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for key, value in items:
        name = canonical_header(key)
        joined.setdefault(name, []).append(SECRET_MASK if _SECRET_HEADER.search(name) else value)
    return {k: " ".join(v) for k, v in joined.items()}


def _loggable_body(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")


register_output(SPEC, HTTPClientOutput)

__all__ = [
    "SPEC",
    "HTTPClientOutput",
    "HTTPStatusError",
    "HTTPTransportError",
    "Throttle",
    "canonical_header",
    "go_multipart",
]
