"""The ``http_server`` output: HTTP clients come and fetch the messages.

Upstream (``internal/impl/pure/output_http_server.go`` in benthos) registers endpoints on its own
``address`` or, with ``address`` empty, on the service-wide HTTP server:

- ``path``: each request (a verb of ``allowed_verbs``) takes the next batch, waiting up to
  ``timeout`` (then ``408``); one message is the body, a larger batch a multipart body;
- ``stream_path``: the response stays open and every batch taken is written to it, each message
  followed by a newline;
- ``ws_path``: each websocket client takes batches as they come and gets every message of a
  batch as a binary websocket message. Clients compete: each batch goes to one of them.

A batch is delivered once it has been written to a client; while no client asks, writes wait
(back pressure). A websocket write that fails (the client left, or did not take it within
``pipeline/http/websocket.py``'s write timeout) nacks the batch, which is then served again.
Websockets need the ``websockets`` extra: without it a ``ws_path`` other than the default fails
lint and the default path answers 501. Where we differ: batches still waiting when the output
closes fail, and go back to the input, instead of being dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from pipeline.http import websocket
from pipeline.http.access import cors
from pipeline.http.client import go_multipart
from pipeline.http.server import HTTPServer, Request, Response
from pipeline.http.tls import server_tls_context
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, boolean, duration, obj, string, string_list

DEFAULT_WS_PATH = "/get/ws"
WS_MAX_MESSAGE = 1024 * 1024  # what a client may send here (upstream reads nothing from it)


def _lint(conf: dict[str, Any]) -> list[str]:
    problems = []
    if conf.get("ws_path") not in (DEFAULT_WS_PATH, "") and not websocket.available():
        problems.append(f"ws_path: {websocket.EXTRA_HINT}")
    cors_conf = conf.get("cors") or {}
    if cors_conf.get("enabled") and not cors_conf.get("allowed_origins"):
        problems.append("cors: must specify at least one allowed origin")
    if not conf.get("address") and (
        conf.get("cert_file") or conf.get("key_file") or cors_conf.get("enabled")
    ):
        problems.append("cert_file, key_file and cors apply only to a custom address: set address")
    if bool(conf.get("cert_file")) != bool(conf.get("key_file")):
        problems.append("cert_file and key_file must be set together")
    return problems


SPEC = ComponentSpec(
    "http_server",
    "output",
    summary="Serves messages to HTTP clients that fetch them, one batch per request or as a stream.",
    description=(
        "A GET on `path` takes the next batch (a multipart body when it holds more than one message); "
        "a GET on `stream_path` keeps the response open and writes every batch to it, a message per "
        "line. A batch counts as delivered once written to a client, and writes wait while no client "
        "is asking. With `address` empty, the endpoints live on the service-wide HTTP server."
    ),
    categories=("Network",),
    fields=[
        string("address", "Address to listen on; empty uses the service-wide HTTP server.", default=""),
        string("path", "Path where each request takes one batch.", default="/get"),
        string(
            "stream_path", "Path where a response streams every batch as it comes.", default="/get/stream"
        ),
        string(
            "ws_path",
            "Path where websocket clients take batches, a websocket message per message.",
            default=DEFAULT_WS_PATH,
        ),
        string_list("allowed_verbs", "Methods accepted on `path` and `stream_path`.", default=["GET"]),
        duration("timeout", "How long a request on `path` waits for a batch.", default="5s", advanced=True),
        string(
            "cert_file",
            "Certificate file; with `key_file`, turns on TLS (custom address only).",
            default="",
            advanced=True,
        ),
        string(
            "key_file",
            "Private key file; with `cert_file`, turns on TLS (custom address only).",
            default="",
            advanced=True,
        ),
        obj(
            "cors",
            [
                boolean("enabled", "Answer cross-origin (CORS) requests.", default=False),
                string_list("allowed_origins", "Origins allowed to make cross-origin requests.", default=[]),
            ],
            "Cross-Origin Resource Sharing headers on replies (custom address only).",
            advanced=True,
        ),
    ],
    lint=_lint,
)


class _Pending:
    """A batch waiting for a client, and the write waiting for it to be written."""

    __slots__ = ("batch", "written")

    def __init__(self, batch: list[Message]) -> None:
        self.batch = batch
        self.written: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class HTTPServerOutput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        self.conf = conf
        self.res = res
        self.timeout = conf["timeout"] or None
        self.verbs = tuple(v.upper() for v in conf["allowed_verbs"]) or ("GET",)
        self._queue: asyncio.Queue[_Pending] | None = None
        self._closing = asyncio.Event()
        self._started = False
        prefix = ""
        if conf["address"]:
            self.server: HTTPServer | None = HTTPServer.from_address(
                conf["address"],
                ssl=server_tls_context(conf["cert_file"], conf["key_file"]),
                log_error=res.logger.error,
            )
            if conf["cors"]["enabled"]:
                self.server.use(cors(conf["cors"]))
            self._own_server = True
        else:
            self.server = res.http_server
            self._own_server = False
            if self.server is None:
                raise ValueError(
                    "the service-wide HTTP server is disabled (http.enabled: false): set address"
                )
            # streams mode: endpoints under /<stream id>, as the http_server input's
            configured = getattr(res.manager, "endpoint_prefix", None)
            stream_name = str(getattr(res.manager, "stream_name", "") or "")
            if configured is not None:
                prefix = str(configured)
            elif stream_name:
                prefix = f"/{stream_name}"
        if conf["path"]:
            self.server.route(prefix + conf["path"], self._get, self.verbs)
        if conf["stream_path"]:
            self.server.route(prefix + conf["stream_path"], self._stream, self.verbs)
        if conf["ws_path"]:
            self.server.route(prefix + conf["ws_path"], self._ws)
        self.paths = [prefix + p for p in (conf["path"], conf["stream_path"], conf["ws_path"]) if p]

    # -- the pipeline side ---------------------------------------------------------------------------

    def _pending(self) -> asyncio.Queue[_Pending]:
        if self._queue is None:
            self._queue = asyncio.Queue()
        return self._queue

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
        self.res.logger.info(f"Serving messages over HTTP at: {', '.join(self.paths)}")

    async def write_batch(self, batch: list[Message]) -> None:
        if self._closing.is_set():
            raise ConnectionError("http_server output is closing")
        pending = _Pending(batch)
        await self._pending().put(pending)
        await pending.written

    async def close(self) -> None:
        self._closing.set()
        queue = self._pending()
        while not queue.empty():
            waiting = queue.get_nowait()
            if not waiting.written.done():
                waiting.written.set_exception(
                    ConnectionError("http_server output closed before a client took the batch")
                )
        if self._own_server and self.server is not None and self._started:
            await self.server.close()

    async def _take(self, timeout: float | None) -> _Pending | None:
        """The next batch no one has taken, or None on timeout or close."""
        queue = self._pending()
        getter = asyncio.ensure_future(queue.get())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            done, _ = await asyncio.wait(
                {getter, closing}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closing.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        return None

    # -- the HTTP side -------------------------------------------------------------------------------

    async def _get(self, request: Request) -> Response:
        pending = await self._take(self.timeout)
        if pending is None:
            return Response.text("Timed out waiting for message", 408)
        batch = pending.batch
        if len(batch) == 1:
            response = Response(200, batch[0].content, content_type="application/octet-stream")
        else:
            body, content_type = go_multipart(
                [([("Content-Type", "application/octet-stream")], m.content) for m in batch]
            )
            response = Response(200, body, content_type=content_type.replace("form-data", "mixed", 1))
        # written as soon as the handler returns; the server sends it right after
        if not pending.written.done():
            pending.written.set_result(None)
        return response

    async def _stream(self, request: Request) -> Response:
        return Response(200, content_type="application/octet-stream", stream=self._stream_batches())

    async def _stream_batches(self) -> AsyncIterator[bytes]:
        while not self._closing.is_set():
            pending = await self._take(None)
            if pending is None:
                return
            try:
                yield b"".join(m.content + b"\n" for m in pending.batch)
            except BaseException:
                # the client went away before the batch was written: it goes back to the front
                if not pending.written.done():
                    pending.written.set_exception(ConnectionError("http_server stream client went away"))
                raise
            if not pending.written.done():
                pending.written.set_result(None)

    # -- websocket clients ------------------------------------------------------------------------

    async def _ws(self, request: Request) -> Response:
        if self._closing.is_set():
            return Response.text("Server closed", 503)
        return websocket.upgrade(request, self._ws_session, max_size=WS_MAX_MESSAGE)

    async def _ws_session(self, ws: websocket.WebSocket) -> None:
        # read what the client sends (pings, close) so that its leaving is noticed
        gone = asyncio.ensure_future(_drain(ws))
        try:
            while not self._closing.is_set() and not gone.done():
                pending = await self._take_unless(gone)
                if pending is None:
                    return
                try:
                    for msg in pending.batch:
                        await ws.send(msg.content)
                except ConnectionError as err:
                    if not pending.written.done():
                        pending.written.set_exception(err)
                    return
                if not pending.written.done():
                    pending.written.set_result(None)
        finally:
            gone.cancel()

    async def _take_unless(self, gone: asyncio.Future[None]) -> _Pending | None:
        """The next batch, or None when the output closes or the client leaves first."""
        getter = asyncio.ensure_future(self._pending().get())
        closing = asyncio.ensure_future(self._closing.wait())
        waiters: set[asyncio.Future[Any]] = {getter, closing, gone}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
        if getter.done():
            return getter.result()  # taken: a write to a client that left fails and nacks it
        getter.cancel()
        return None


async def _drain(ws: websocket.WebSocket) -> None:
    while await ws.receive() is not None:
        pass  # upstream reads nothing from these clients: their messages are ignored


register_output(SPEC, HTTPServerOutput)

__all__ = ["SPEC", "HTTPServerOutput"]
