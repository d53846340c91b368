"""The ``http_server`` input: receive messages POSTed over HTTP and answer each request once its
data was taken care of.

Each request becomes one transaction: one message (or one per part of a ``multipart/*`` body),
with the request's headers (Go-canonical names, first value), query parameters, cookies and
``http_server_*`` fields as metadata. The request is answered after the transaction is
acknowledged: with what ``sync_response`` processors or outputs stored for it (status and
headers interpolated from ``sync_response`` against the first stored message), else ``200`` and
an empty body. Timeouts give ``408``, a nack ``502`` with the error, as upstream.

With an empty ``address`` the endpoint lives on the service-wide HTTP server (prefixed with
``/<stream>`` in streams mode); otherwise the input runs a server of its own.

``ws_path`` (``/post/ws``) takes websocket clients, as upstream: ``ws_welcome_message`` is sent
to each new client (a binary message); each message a client sends becomes a message of its own,
with the handshake request's user agent, headers, query, path parameters and cookies as metadata,
and the next is read only once it is acknowledged; a nack sends the same message again (the first
three at once, then once a second). What ``sync_response`` stored is sent back as text messages.
With ``rate_limit``, a message arriving while the limit is reached waits for it, and the client is
sent ``ws_rate_limit_message``. Websockets need the ``websockets`` extra (see
``pipeline/http/websocket.py``); without it, configuring a websocket field fails lint and the
default path answers 501. Where we differ: upstream's rate-limited loop retries at once, sending
the rate-limit message again and again; here it is sent once and the message waits for the limit.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import re
import secrets
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

from pipeline.http import websocket
from pipeline.http.server import HTTPServer, Request, Response
from pipeline.http.tls import server_tls_context
from pipeline.message import Message
from pipeline.metadata import HTTP_TOKEN, MetadataFilter, canonical_header, metadata_filter_field
from pipeline.plugin import AckFn, register_input
from pipeline.spec import ComponentSpec, boolean, duration, interp, obj, string, string_list
from pipeline.sync_response import RESULT_STORE

SPEC = ComponentSpec(
    "http_server",
    "input",
    summary="Takes messages from HTTP requests (POST unless `allowed_verbs` says otherwise); serves HTTPS when `cert_file` and `key_file` are set.",
    description=(
        "With `address` empty, the endpoint is served by the service-wide HTTP server. `rate_limit` names a "
        "rate limit resource consulted for every request. The reply to a request can carry what "
        "`sync_response` processors or outputs stored for its message."
    ),
    fields=[
        string(
            "address",
            "Address for a server of this input's own; empty means the service-wide server.",
            default="",
        ),
        string("path", "URL path that accepts messages.", default="/post"),
        string(
            "ws_path",
            "URL path for websocket clients; each message they send is a message.",
            default="/post/ws",
        ),
        string(
            "ws_welcome_message",
            "Text sent to each websocket client when it connects.",
            default="",
            advanced=True,
        ),
        string(
            "ws_rate_limit_message",
            "Text sent to a websocket client that hits the rate limit.",
            default="",
            advanced=True,
        ),
        string_list("allowed_verbs", "HTTP methods `path` accepts.", default=["POST"]),
        duration(
            "timeout",
            "How long a request waits for its message to be delivered. When it runs out the request is answered and closed, though the message may still be delivered later.",
            default="5s",
        ),
        string("rate_limit", "Label of a rate limit resource that paces requests.", default=""),
        string(
            "cert_file",
            "Certificate file; with `key_file`, turns on TLS. Needs an `address` of this input's own.",
            default="",
            advanced=True,
        ),
        string(
            "key_file",
            "Private key file; with `cert_file`, turns on TLS. Needs an `address` of this input's own.",
            default="",
            advanced=True,
        ),
        obj(
            "cors",
            [
                boolean("enabled", "Answer cross-origin (CORS) requests.", default=False),
                string_list(
                    "allowed_origins",
                    "Origins allowed to make cross-origin requests.",
                    default=[],
                ),
            ],
            "Cross-Origin Resource Sharing headers on replies. Needs an `address` of this input's own.",
            advanced=True,
        ),
        obj(
            "sync_response",
            [
                interp("status", "Status code of the reply, interpolated.", default="200"),
                interp(
                    "headers",
                    "Headers of the reply, values interpolated.",
                    kind="map",
                    default={"Content-Type": "application/octet-stream"},
                ),
                metadata_filter_field(
                    "metadata_headers",
                    "Which metadata keys of the stored message are copied into the reply as headers.",
                ),
            ],
            "Shape of the reply sent back to the client.",
            advanced=True,
        ),
        obj(
            "tcp",
            [
                boolean(
                    "reuse_addr",
                    "Set SO_REUSEADDR so the port can be bound again while old connections are in TIME_WAIT.",
                    default=False,
                ),
                boolean("reuse_port", "Enable SO_REUSEPORT (not supported by benthic).", default=False),
            ],
            "Socket options of the listener. Needs an `address` of this input's own.",
            advanced=True,
            optional=True,
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    problems = []
    uses_ws = conf.get("ws_path") not in ("/post/ws", "")
    if (
        uses_ws or conf.get("ws_welcome_message") or conf.get("ws_rate_limit_message")
    ) and not websocket.available():
        problems.append(websocket.EXTRA_HINT)
    if not conf.get("allowed_verbs"):
        problems.append("must specify at least one allowed verb")
    cors = conf.get("cors") or {}
    if cors.get("enabled") and not cors.get("allowed_origins"):
        problems.append("must specify at least one allowed origin")
    if bool(conf.get("cert_file")) != bool(conf.get("key_file")):
        problems.append("both cert_file and key_file must be set to enable TLS")
    # set to their defaults (as upstream's full config listing shows them) they ask for nothing
    tcp = conf.get("tcp") or {}
    if not conf.get("address") and (
        conf.get("cert_file") or cors.get("enabled") or tcp.get("reuse_addr") or tcp.get("reuse_port")
    ):
        problems.append("cert_file, key_file, cors and tcp apply only to a custom address: set address")
    if (conf.get("tcp") or {}).get("reuse_port"):
        problems.append("tcp.reuse_port is not supported by benthic")
    return problems


SPEC.lint = _lint


def parse_media_type(value: str) -> str:
    """The media type of a Content-Type header, as Go's ``mime.ParseMediaType`` reads it."""
    media = value.split(";", 1)[0].strip().lower()
    if not media:
        raise ValueError("mime: no media type")
    major, slash, minor = media.partition("/")
    if not slash:
        raise ValueError("mime: expected slash after first token")
    if not HTTP_TOKEN.match(major) or not HTTP_TOKEN.match(minor):
        raise ValueError(
            "mime: expected token after slash" if HTTP_TOKEN.match(major) else "mime: invalid media parameter"
        )
    return media


def sniff_content_type(body: bytes) -> str:
    """Go's ``http.DetectContentType`` for the common cases (JSON text is ``text/plain``)."""
    head = body[:512]
    stripped = head.lstrip(b"\t\n\x0c\r ")
    lowered = stripped[:14].lower()
    for tag in (
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<script",
        b"<p",
        b"<div",
        b"<table",
        b"<!--",
    ):
        if lowered.startswith(tag):
            return "text/html; charset=utf-8"
    if stripped.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    signatures = (
        (b"%PDF-", "application/pdf"),
        (b"\x1f\x8b\x08", "application/x-gzip"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
    )
    for magic, kind in signatures:
        if head.startswith(magic):
            return kind
    if head.startswith(b"\xef\xbb\xbf"):
        return "text/plain; charset=utf-8"
    if any(b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D, 0x1B) for b in head):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


def go_error(text: str, status: int) -> Response:
    """Go's ``http.Error``: the text and a newline, as plain text, no sniffing."""
    return Response(
        status, (text + "\n").encode(), [("X-Content-Type-Options", "nosniff")], "text/plain; charset=utf-8"
    )


class _Closing(Exception):
    """The input shut down before the pipeline took the request."""


# request headers become metadata keys in Go's canonical form; names repeat from request to request
_canonical_header = functools.lru_cache(maxsize=512)(canonical_header)


class _Transaction:
    """One request's messages on their way to the pipeline: ``taken`` completes when the pipeline
    read them, ``result`` when they were acknowledged. Each wait may last ``timeout``; one timer
    serves both (it is re-armed only when it fires before the current wait's deadline, so a
    request that is answered in time costs one timer, not two)."""

    __slots__ = ("batch", "taken", "result", "deadline", "_timer", "_loop")

    def __init__(self, batch: list[Message], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.batch = batch
        self.taken: asyncio.Future[None] = loop.create_future()
        self.result: asyncio.Future[BaseException | None] = loop.create_future()
        self.deadline = loop.time() + timeout if timeout else None
        self._timer = loop.call_at(self.deadline, self._expire) if self.deadline is not None else None

    def restart_deadline(self, timeout: float) -> None:
        if self.deadline is not None:
            self.deadline = self._loop.time() + timeout

    def _expire(self) -> None:
        """A wait ran out: the stage waited on fails with TimeoutError (``read_batch`` skips a
        transaction whose ``taken`` is done; a late ack finds ``result`` done and does nothing)."""
        assert self.deadline is not None
        if self._loop.time() < self.deadline:
            self._timer = self._loop.call_at(self.deadline, self._expire)
            return
        self._timer = None
        waiting = self.taken if not self.taken.done() else self.result
        if not waiting.done():
            waiting.set_exception(TimeoutError())

    def finish(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class HTTPServerInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        self.res = res
        self.conf = conf
        self.timeout = conf["timeout"] or 0.0
        self.allowed_verbs = set(conf["allowed_verbs"])
        sync = conf["sync_response"]
        self.status = res.interpolation(sync["status"])
        # a fixed status (the usual case) is parsed once, not per request
        self.fixed_status = _parse_status(self.status.render()) if self.status.is_static else None
        self.headers = {canonical_header(k): (k, res.interpolation(v)) for k, v in sync["headers"].items()}
        # upstream looks up a per-part content type under the lower-case key only
        self.part_content_type = (
            res.interpolation(sync["headers"]["content-type"]) if "content-type" in sync["headers"] else None
        )
        self.metadata_headers = MetadataFilter(sync["metadata_headers"])
        self.rate_limit = res.rate_limit(conf["rate_limit"]) if conf["rate_limit"] else None
        self.cors_origins = set(conf["cors"]["allowed_origins"]) if conf["cors"]["enabled"] else None
        self._transactions: asyncio.Queue[_Transaction] = asyncio.Queue()
        self._closing = False
        self.server: HTTPServer | None = None
        self.path = conf["path"]
        if conf["address"]:
            ssl_context = server_tls_context(conf["cert_file"], conf["key_file"])
            self.server = HTTPServer.from_address(
                conf["address"], ssl=ssl_context, log_error=res.logger.error
            )
            self.scheme = "https" if ssl_context else "http"
            self._own_server = True
        else:
            self.server = res.http_server
            self.scheme = "http"
            self._own_server = False
            if self.server is None:
                raise ValueError(
                    "the service-wide HTTP server is disabled (http.enabled: false): set address"
                )
            # streams mode: /<stream id><path>, unless --prefix-stream-endpoints=false
            prefix = getattr(res.manager, "endpoint_prefix", None)
            if prefix is None:
                stream = getattr(res.manager, "stream_name", "")
                prefix = f"/{stream}" if stream else ""
            if self.path:
                self.path = prefix + self.path
        if self.path:
            self._register(self.path, self._handle)
        self._register_websocket("" if conf["address"] else str(prefix or ""))
        self._started = False

    def _register(self, path: str, handler: Any) -> None:
        assert self.server is not None
        if "{" in path:
            static = path.split("{", 1)[0]
            pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")

            async def templated(request: Request) -> Response:
                match = pattern.match(request.path)
                if match is None:
                    return go_error("404 page not found", 404)
                return await handler(request, match.groupdict())

            self.server.route_prefix(static, templated)
        elif path.endswith("/"):
            self.server.route_prefix(path, lambda request: handler(request, {}))
        else:
            self.server.route(path, lambda request: handler(request, {}))

    # -- websocket clients -----------------------------------------------------------------------------

    def _register_websocket(self, prefix: str) -> None:
        ws_path = self.conf["ws_path"]
        if not ws_path or ws_path == self.conf["path"]:
            return  # upstream's router would send the shared path to the POST endpoint
        self._register(prefix + ws_path, self._ws_handle)

    async def _ws_handle(self, request: Request, path_params: dict[str, str]) -> Response:
        if self._closing:
            return go_error("Server closing", 503)

        async def session(ws: websocket.WebSocket) -> None:
            await self._ws_session(ws, request, path_params)

        assert self.server is not None
        return websocket.upgrade(request, session, max_size=self.server.max_body)

    async def _ws_send(self, ws: websocket.WebSocket, data: bytes, what: str, *, text: bool = False) -> None:
        try:
            await ws.send(data, text=text)
        except ConnectionError as err:
            self.res.logger.error(f"Failed to send {what}: {err}")

    async def _ws_session(
        self, ws: websocket.WebSocket, request: Request, path_params: dict[str, str]
    ) -> None:
        welcome = self.conf["ws_welcome_message"]
        if welcome:
            await self._ws_send(ws, welcome.encode(), "welcome message")
        metadata = self._metadata(request, path_params)
        for key in ("http_server_request_path", "http_server_verb", "http_server_remote_ip"):
            metadata.pop(key, None)  # upstream's websocket messages do not carry these
        payload: bytes | None = None
        retries = 0
        while not self._closing:
            if payload is None:
                payload = await ws.receive()
                if payload is None:
                    return
            if self.rate_limit is not None and await self._ws_rate_limited(ws):
                continue
            msg = Message(payload)
            msg.metadata = dict(metadata)
            store: list[list[Message]] = []
            msg.context = {RESULT_STORE: store}
            transaction = _Transaction([msg], 0)  # a websocket message waits as long as it takes
            await self._transactions.put(transaction)
            try:
                await transaction.taken
            except _Closing:
                return
            if await transaction.result is None:
                payload, retries = None, 0
            else:
                retries += 1
                if retries > 3:  # upstream's throttle: three retries at once, then one a second
                    await asyncio.sleep(1.0)
            for stored in store:
                for part in stored:
                    await self._ws_send(ws, part.content, "sync response over websocket", text=True)

    async def _ws_rate_limited(self, ws: websocket.WebSocket) -> bool:
        """Whether the rate limit held the message back (after waiting for it)."""
        assert self.rate_limit is not None
        try:
            wait = await self.rate_limit.access()
        except Exception as err:
            self.res.logger.warn(f"Failed to access rate limit: {err}")
            wait = 1.0
        if not wait or wait <= 0:
            return False
        if self.conf["ws_rate_limit_message"]:
            await self._ws_send(ws, self.conf["ws_rate_limit_message"].encode(), "rate limit message")
        await asyncio.sleep(wait)
        return True

    async def connect(self) -> None:
        if self._own_server and not self._started:
            assert self.server is not None
            try:
                await self.server.start()
            except OSError as err:
                raise ConnectionError(
                    f"failed to bind to address {self.conf['address']}: {err.strerror or err}"
                ) from None
            self._started = True
        where = self.conf["address"] or (self.server.address if self.server else "")
        self.res.logger.info(
            f"Receiving {self.scheme.upper()} messages at: {self.scheme}://{where}{self.path}"
        )

    # -- the pipeline side ----------------------------------------------------------------------------

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while True:
            transaction = await self._transactions.get()
            if transaction.taken.done():  # the client gave up before we got to it
                continue
            transaction.taken.set_result(None)
            break

        async def ack(err: BaseException | None) -> None:
            if not transaction.result.done():
                transaction.result.set_result(err)

        return transaction.batch, ack

    async def close(self) -> None:
        self._closing = True
        # requests still waiting for the pipeline are answered now rather than timing out
        while not self._transactions.empty():
            waiting = self._transactions.get_nowait()
            if not waiting.taken.done():
                waiting.taken.set_exception(_Closing())
        if self._own_server and self.server is not None:
            await self.server.close()

    # -- the HTTP side ----------------------------------------------------------------------------------

    async def _handle(self, request: Request, path_params: dict[str, str]) -> Response:
        response = await self._respond(request, path_params)
        if self.cors_origins is not None:
            origin = request.header("origin")
            if origin and ("*" in self.cors_origins or origin in self.cors_origins):
                response.headers.append(("Access-Control-Allow-Origin", origin))
        accept = request.header("accept-encoding") or ""
        if "gzip" in accept:
            response = _gzipped(response)
        return response

    async def _respond(self, request: Request, path_params: dict[str, str]) -> Response:
        if self._closing:
            return go_error("Server closing", 503)
        if (
            self.cors_origins is not None
            and request.method == "OPTIONS"
            and request.header("access-control-request-method")
        ):
            return Response(
                200, headers=[("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")]
            )
        if request.method not in self.allowed_verbs:
            return go_error("Incorrect method", 405)
        if self.rate_limit is not None:
            try:
                wait = await self.rate_limit.access()
            except Exception as err:
                self.res.logger.warn(f"Failed to access rate limit: {err}")
                return go_error("Server error", 502)
            if wait and wait > 0:
                response = go_error("Too Many Requests", 429)
                response.headers.append(("Retry-After", str(int(wait))))
                return response
        try:
            batch = self._messages(request)
        except ValueError as err:
            self.res.logger.warn(f"Request read failed: {err}")
            return go_error("Bad request", 400)
        metadata = self._metadata(request, path_params)
        store: list[list[Message]] = []
        context = {RESULT_STORE: store}
        for msg in batch:
            msg.metadata = dict(metadata)
            msg.context = context
        transaction = _Transaction(batch, self.timeout)
        await self._transactions.put(transaction)
        # Waiting on the futures themselves (no shield): a timeout fails ``taken``, which tells
        # read_batch to skip the transaction, and a failed ``result`` makes the ack a no-op.
        try:
            try:
                await transaction.taken
            except _Closing:
                return go_error("Server closing", 503)
            except TimeoutError:
                return go_error("Request timed out", 408)
            transaction.restart_deadline(self.timeout)
            try:
                delivery_error = await transaction.result
            except TimeoutError:
                # the message may still be delivered: the transaction is not cancelled
                return go_error("Request timed out", 408)
        finally:
            transaction.finish()
        if delivery_error is not None:
            return go_error(str(delivery_error), 502)
        return self._sync_response([m for entry in store for m in entry])

    def _messages(self, request: Request) -> list[Message]:
        content_type = request.header("content-type")
        media = parse_media_type(content_type) if content_type is not None else "application/octet-stream"
        if not media.startswith("multipart/"):
            return [Message(request.body)]
        parsed = message_from_bytes(
            b"Content-Type: " + (content_type or "").encode("latin-1") + b"\r\n\r\n" + request.body,
            policy=email_policy.HTTP,
        )
        if not parsed.is_multipart() or parsed.defects:
            raise ValueError("multipart: malformed body")
        parts = []
        for part in parsed.iter_parts():
            payload = part.get_payload(decode=True)
            parts.append(Message(payload if isinstance(payload, bytes) else b""))
        return parts

    def _metadata(self, request: Request, path_params: dict[str, str]) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "http_server_user_agent": request.header("user-agent", "") or "",
            "http_server_request_path": request.path,
            "http_server_verb": request.method,
            "http_server_remote_ip": request.client[0] if request.client else "",
        }
        seen: set[str] = set()
        for name, value in request.headers:
            if name in ("host", "transfer-encoding") or name in seen:
                continue
            seen.add(name)
            meta[_canonical_header(name)] = value
        seen_query: set[str] = set()
        for key, value in request.query:
            if key not in seen_query:
                seen_query.add(key)
                meta[key] = value
        meta.update(path_params)
        for cookie in (request.header("cookie") or "").split(";"):
            name, sep, value = cookie.strip().partition("=")
            if sep and name:
                meta[name] = value.strip('"')
        return meta

    def _sync_response(self, stored: list[Message]) -> Response:
        if not stored:
            return Response(200)  # nothing stored: Go writes no status, so 200 and no body
        first = stored[0]
        headers: list[tuple[str, str]] = []
        for name, (_, value) in self.headers.items():
            try:
                headers.append((name, str(value.render(first, stored, 0))))
            except Exception as err:
                self.res.logger.error(f"Interpolation of response header {name} error: {err}")
        status = self.fixed_status
        if status is None:
            try:
                status_text = str(self.status.render(first, stored, 0))
            except Exception as err:
                self.res.logger.error(f"Interpolation of response status code error: {err}")
                return Response(502)
            status = _parse_status(status_text)
            if status is None:
                self.res.logger.error(f"Failed to parse sync response status code: {status_text!r}")
                return Response(502)
        if len(stored) == 1:
            headers.extend(self._metadata_headers(first))
            body = first.content
            if not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("Content-Type", sniff_content_type(body)))
        else:
            for msg in stored:
                headers.extend(self._metadata_headers(msg))
            boundary = secrets.token_hex(30)
            chunks = []
            for index, msg in enumerate(stored):
                part_type = None
                if self.part_content_type is not None:
                    try:
                        part_type = str(self.part_content_type.render(msg, stored, index))
                    except Exception:
                        part_type = None
                part_type = part_type or sniff_content_type(msg.content)
                lead = b"--" if index == 0 else b"\r\n--"
                chunks.append(
                    lead
                    + boundary.encode()
                    + b"\r\nContent-Type: "
                    + part_type.encode()
                    + b"\r\n\r\n"
                    + msg.content
                )
            chunks.append(b"\r\n--" + boundary.encode() + b"--\r\n")
            body = b"".join(chunks)
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", f"multipart/form-data; boundary={boundary}"))
        if status in (204, 304):
            body = b""
        return Response(status, body, headers)

    def _metadata_headers(self, msg: Message) -> list[tuple[str, str]]:
        if not self.metadata_headers.is_set:
            return []
        return [
            (canonical_header(key), msg.meta_str(key) or "")
            for key in msg.metadata
            if self.metadata_headers.matches(key)
        ]


def _parse_status(text: str) -> int | None:
    if text == "200":
        return 200
    if not re.fullmatch(r"[+-]?\d+", text):
        return None
    status = int(text)
    return status if 100 <= status <= 999 else None


def _gzipped(response: Response) -> Response:
    headers = [*response.headers, ("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    content_type = response.content_type
    if content_type is None and not any(k.lower() == "content-type" for k, _ in headers):
        content_type = "application/x-gzip"  # Go sniffs the compressed bytes
    body = b"" if response.status in (204, 304) else gzip.compress(response.body, mtime=0)
    return Response(response.status, body, headers, content_type)


register_input(SPEC, lambda conf, res: HTTPServerInput(conf, res))
