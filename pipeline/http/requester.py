"""The request side every HTTP client component shares: the common fields, and how a batch
becomes an authenticated, rate-limited, retried request.

Upstream's ``http_client`` output and input and its ``http`` processor are built on one
``internal/httpclient`` config (url, verb, headers, metadata, auth, TLS, retry and status rules).
Here :func:`client_fields` declares those fields once (each component adds its own), and
:class:`Requester` turns a batch into a request (url and headers interpolated against the first
message; one message is the body, several become a multipart body), sends it through the shared
:class:`~pipeline.http.client.HTTPClient` with the throttle and status rules, and fetches OAuth 2
tokens. Where we differ is as the client module says: secrets are hidden from errors, dumps and
logs, and requests always use HTTP/1.1.
"""

from __future__ import annotations

import asyncio
import base64
import email.parser
import email.policy
import re
import ssl
import time
from typing import Any

import httpx
import orjson

from pipeline.errors import NoResponseError, UnwritableError
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
from pipeline.metadata import HTTP_TOKEN, MetadataFilter, canonical_header, metadata_filter_field
from pipeline.redact import redact_text
from pipeline.resources import Resources
from pipeline.spec import (
    Field,
    any_field,
    boolean,
    duration,
    enum,
    int_list,
    integer,
    interp,
    obj,
    string,
    string_list,
    string_map,
    tls_fields,
)

DUMP_LEVELS = ("", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def client_lint(conf: dict[str, Any]) -> list[str]:
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


def client_fields(default_verb: str = "POST") -> list[Field]:
    """The fields of upstream's HTTP client config, in its order (url to disable_http2)."""
    return [
        interp("url", "Where requests are sent; interpolated.", examples=("http://localhost:4195/post",)),
        string("verb", "HTTP method of each request.", default=default_verb),
        string_map(
            "headers",
            "Headers set on every request, values interpolated; a `Host` entry overrides the request's host.",
            default={},
            interpolated=True,
        ),
        metadata_filter_field(
            "metadata",
            "Which message metadata keys are sent along as request headers.",
        ),
        enum(
            "dump_request_log_level",
            DUMP_LEVELS,
            "EXPERIMENTAL: log every request and its response, bodies included, at this level (secret "
            "headers are redacted); empty turns it off.",
            default="",
            advanced=True,
        ),
        obj(
            "oauth",
            [
                boolean(
                    "enabled",
                    "Sign requests with OAuth 1 (not supported by benthic).",
                    default=False,
                ),
                string("consumer_key", "The client's identity at the service provider.", default=""),
                string(
                    "consumer_secret",
                    "Secret that proves the client holds the consumer key.",
                    default="",
                    secret=True,
                ),
                string(
                    "access_token",
                    "Token granting access to the user's protected resources.",
                    default="",
                ),
                string(
                    "access_token_secret",
                    "Secret that proves the client holds the access token.",
                    default="",
                    secret=True,
                ),
            ],
            "OAuth 1 request signing.",
            advanced=True,
        ),
        obj(
            "oauth2",
            [
                boolean("enabled", "Authenticate requests with an OAuth 2 bearer token.", default=False),
                string("client_key", "The client's identity at the token provider.", default=""),
                string(
                    "client_secret",
                    "Secret that proves the client holds the client key.",
                    default="",
                    secret=True,
                ),
                string("token_url", "Token endpoint of the provider.", default=""),
                string_list("scopes", "Scopes asked for with the token.", default=[]),
                Field(
                    "endpoint_params",
                    "any",
                    "map",
                    default={},
                    description="Extra parameters sent to the token endpoint, each mapped to an array of strings.",
                ),
            ],
            "OAuth 2 authentication using the client credentials grant.",
            advanced=True,
        ),
        obj(
            "basic_auth",
            [
                boolean("enabled", "Send HTTP basic authentication.", default=False),
                string("username", "User name sent.", default=""),
                string("password", "Password sent.", default="", secret=True),
            ],
            "A user name and password sent in the Authorization header.",
            advanced=True,
        ),
        obj(
            "jwt",
            [
                boolean(
                    "enabled",
                    "Sign requests with a JWT (not supported by benthic).",
                    default=False,
                ),
                string(
                    "private_key_file",
                    "PEM file holding the PKCS1 or PKCS8 private key that signs the token.",
                    default="",
                ),
                string(
                    "signing_method",
                    "Signing algorithm, such as RS256, RS384, RS512 or EdDSA.",
                    default="",
                ),
                any_field("claims", "Claims placed in the token.", default={}),
                any_field("headers", "Extra header fields placed in the token.", default={}),
            ],
            "BETA: JWT authentication.",
            advanced=True,
        ),
        tls_fields(),
        metadata_filter_field(
            "extract_headers",
            "Which response headers are copied into the metadata of the synchronous response's messages.",
        ),
        string("rate_limit", "Label of a rate limit resource that paces requests.", optional=True),
        duration("timeout", "How long one request may take.", default="5s"),
        duration(
            "retry_period",
            "Wait before a retry; waits after backoff_on statuses grow from it.",
            default="1s",
            advanced=True,
        ),
        duration(
            "max_retry_backoff",
            "Longest wait between retries.",
            default="300s",
            advanced=True,
        ),
        integer(
            "retries", "Further attempts after a failed request before giving up.", default=3, advanced=True
        ),
        boolean(
            "follow_redirects",
            "Follow redirect responses automatically.",
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
            "Status codes that count as success besides 2xx (a code also in backoff_on or drop_on is treated as listed there).",
            default=[],
            advanced=True,
        ),
        string("proxy_url", "HTTP proxy to send requests through.", optional=True, advanced=True),
        boolean(
            "disable_http2",
            "Turn HTTP/2 off (benthic always speaks HTTP/1.1).",
            default=False,
            advanced=True,
        ),
    ]


# -- the requester --------------------------------------------------------------------------------


class Requester:
    """Builds and sends the requests of one HTTP client component (see the module docstring)."""

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
            for p in conf.get("multipart") or []
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
            max_keepalive_connections=max(int(self.conf.get("max_in_flight") or 0), 10),
            go_headers=True,
        )

    async def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.aclose()

    # -- sending -----------------------------------------------------------------------------------

    async def send(self, batch: list[Message], body: bytes | None = None) -> Exchange:
        """Send one request for ``batch`` with retries; raise the last error."""
        first_request: httpx.Request | None = self._build_request(batch, body)

        async def attempt() -> Exchange:
            nonlocal first_request
            request = first_request if first_request is not None else self._build_request(batch, body)
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

    def _build_request(self, batch: list[Message], body_override: bytes | None = None) -> httpx.Request:
        """The request for ``batch``: url and headers rendered against its first message; the body is
        ``body_override`` when given (an input's payload), else the message(s)."""
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
            body, multipart_type = go_multipart(parts)
            headers = [(k, v) for k, v in headers if k != "Content-Type"] + [("Content-Type", multipart_type)]
        elif body_override is not None:
            body = body_override
            if not any(k == "Content-Type" for k, _ in headers):
                headers.append(("Content-Type", "application/octet-stream"))
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
            body, multipart_type = go_multipart(parts)
            headers = [(k, v) for k, v in headers if k != "Content-Type"] + [("Content-Type", multipart_type)]
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
        return build_request(self.verb, url, _sendable(headers), body)

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


# control characters other than tab: Go's transport refuses a header value carrying one
_BAD_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _sendable(headers: list[tuple[str, str]]) -> Any:
    """The headers as Go's transport would write them, or :class:`UnwritableError` when one can
    never be sent (a name that is not an HTTP token, a value with a control character, after
    interpolation): retrying would fail the same way. Values are sent as UTF-8, as Go sends them;
    the error names the header, never its value (it may be a credential)."""
    sendable = []
    for name, value in headers:
        if not HTTP_TOKEN.match(name):
            raise UnwritableError(f"net/http: invalid header field name {redact_text(name)!r}")
        if _BAD_HEADER_VALUE.search(value):
            raise UnwritableError(f"net/http: invalid header field value for {name!r}")
        sendable.append((name, value.encode()))
    return sendable


# -- responses as messages ---------------------------------------------------------------------------


def response_metadata(response: httpx.Response, extract_headers: MetadataFilter) -> dict[str, Any]:
    """``http_status_code`` and the response headers ``extract_headers`` picks (lower-cased)."""
    metadata: dict[str, Any] = {"http_status_code": response.status_code}
    if extract_headers.is_set:
        for key, value in response.headers.items():
            if extract_headers.matches(key.lower()):
                metadata[key.lower()] = value
    return metadata


def response_bodies(response: httpx.Response, body: bytes) -> list[bytes]:
    """The body of a response as message contents: one per part of a ``multipart/*`` response,
    otherwise the whole body."""
    content_type = response.headers.get("content-type", "")
    if not content_type.startswith("multipart/"):
        return [body]
    raw = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not parsed.is_multipart():
        return [body]
    parts = []
    for part in parsed.iter_parts():
        payload = part.get_payload(decode=True)
        parts.append(payload if isinstance(payload, bytes) else b"")
    return parts or [body]
