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

- ``basic_auth`` (and any ``Authorization`` header) wins over user-info in the URL, as Go's
  transport only turns user-info into credentials when no ``Authorization`` header is set.

The sending itself (deadline, Go's error text, the throttle, multipart, dumps) is the shared
client in ``pipeline.http.client``; this module is the output's spec and how a batch becomes
requests. Where we differ: dumps, errors and log lines hide secrets (sensitive headers masked,
URLs and bodies redacted; upstream logs them as sent), and requests always use HTTP/1.1
(``disable_http2`` is therefore always honoured; HTTP/2 is never negotiated).
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import time
from typing import Any

import httpx
import orjson

from pipeline.errors import NoResponseError
from pipeline.http.client import (
    Exchange,
    HTTPClient,
    RequestBuildError,
    StatusRules,
    Throttle,
    build_request,
    dump_record,
    go_multipart,
    go_transport_reason,
    send_with_retries,
)
from pipeline.http.tls import tls_context, tls_problems
from pipeline.message import Message
from pipeline.metadata import MetadataFilter, canonical_header, metadata_filter_field
from pipeline.plugin import register_output
from pipeline.redact import redact_text
from pipeline.resources import Resources
from pipeline.spec import (
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
from pipeline.sync_response import store_sync_response

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
            "Status codes that count as a failure to retry with a wait that grows between attempts.",
            default=[429],
            advanced=True,
        ),
        int_list(
            "drop_on",
            "Status codes that count as a failure to report at once, without retrying.",
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
        self.follow_redirects = conf["follow_redirects"]
        self.rules = StatusRules(
            backoff_on=set(conf["backoff_on"]),
            drop_on=set(conf["drop_on"]),
            successful_on=set(conf["successful_on"]),
            redirects_succeed=not self.follow_redirects,
        )
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
        self.client: HTTPClient | None = None
        self._latency = res.metrics.timer("http_request_latency_ns")
        self._codes = {tier: res.metrics.counter(f"http_request_code_{tier}xx") for tier in range(1, 6)}

    # -- lifecycle ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        if self.client is not None:
            return
        verify: ssl.SSLContext | bool = self.ssl_context if self.ssl_context is not None else True
        self.client = HTTPClient(
            verify=verify,
            timeout=self.timeout,
            follow_redirects=self.follow_redirects,
            proxy=self.conf.get("proxy_url") or None,
            max_keepalive_connections=max(self.conf["max_in_flight"], 10),
            go_headers=True,
        )

    async def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.aclose()

    # -- writing -----------------------------------------------------------------------------------

    async def write_batch(self, batch: list[Message]) -> None:
        if self.client is None:
            await self.connect()
        if len(batch) == 1 or self.conf["batch_as_multipart"] or self.multipart:
            exchange = await self.send(batch)
            if self.conf["propagate_response"]:
                self._propagate(batch, exchange)
            return
        for msg in batch:
            exchange = await self.send([msg])
            if self.conf["propagate_response"]:
                self._propagate([msg], exchange)

    async def send(self, batch: list[Message]) -> Exchange:
        """Send one request for ``batch`` with retries; raise the last error."""
        first_request: httpx.Request | None = self._build_request(batch)

        async def attempt() -> Exchange:
            nonlocal first_request
            request = first_request if first_request is not None else self._build_request(batch)
            first_request = None
            await self._wait_rate_limit()
            return await self._attempt(request)

        return await send_with_retries(attempt, self.rules, self.retries, self.throttle)

    async def _wait_rate_limit(self) -> None:
        if self.rate_limit is None:
            return
        while True:
            wait = await self.rate_limit.access()
            if not wait or wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _attempt(self, request: httpx.Request) -> Exchange:
        assert self.client is not None
        if self.oauth2 is not None:
            try:
                await self._refresh_oauth2()
            except NoResponseError as err:
                return Exchange(request, error=err)
            request.headers["Authorization"] = f"Bearer {self._oauth2_token}"
        exchange = await self.client.send(request)
        self._latency.timing(exchange.elapsed_ns)
        if exchange.response is not None:
            tier = self._codes.get(exchange.response.status_code // 100)
            if tier is not None:
                tier.incr()
        if self.dump_level:
            self.res.logger.log(self.dump_level, "http request log", access_log=dump_record(exchange))
        return exchange

    # -- building requests -------------------------------------------------------------------------

    def _render(self, what: str, interpolation: Any, batch: list[Message], index: int = 0) -> str:
        try:
            return str(interpolation.render(batch[index], batch, index))
        except Exception as err:
            raise RequestBuildError(redact_text(f"{what} interpolation error: {err}")) from None

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
            # as Go's SetBasicAuth: replaces an Authorization header, and wins over URL user-info
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
        return build_request(self.verb, url, headers, body)

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
                response = await self.client.client.post(
                    conf["token_url"],
                    data=form,
                    auth=(conf["client_key"], conf["client_secret"]),
                    timeout=self.timeout,
                )
            except httpx.HTTPError as err:
                raise NoResponseError(
                    f"oauth2: cannot fetch token: {go_transport_reason(err, conf['token_url'])}"
                ) from None
            if response.status_code < 200 or response.status_code > 299:
                raise NoResponseError(
                    f"oauth2: cannot fetch token: {response.status_code} {response.reason_phrase}"
                )
            try:
                token = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise NoResponseError("oauth2: cannot parse token response") from None
            self._oauth2_token = str(token.get("access_token") or "")
            expires_in = float(token.get("expires_in") or 3600)
            # refresh slightly before expiry, as golang.org/x/oauth2 does (10s delta)
            self._oauth2_expiry = time.monotonic() + max(0.0, expires_in - 10)

    # -- propagate_response ------------------------------------------------------------------------

    def _propagate(self, batch: list[Message], exchange: Exchange) -> None:
        """Hand the response back towards the input (``sync_response``) through message context."""
        response = exchange.response
        if response is None:
            return
        metadata: dict[str, Any] = {"http_status_code": response.status_code}
        if self.extract_headers.is_set:
            for key, value in response.headers.items():
                if self.extract_headers.matches(key.lower()):
                    metadata[key.lower()] = value
        reply = Message(exchange.body, metadata)
        for msg in batch:
            ctx = msg.context
            if ctx is None:
                continue
            # one response per request: stored once, against the first message with a context
            reply.context = ctx
            if not store_sync_response([reply]):
                ctx.setdefault("responses", []).append(reply.copy())
            break


register_output(SPEC, HTTPClientOutput)

__all__ = ["SPEC", "HTTPClientOutput"]
