"""The ``http_client`` input: polls an HTTP server, or holds one streamed response open.

Upstream (``internal/impl/pure/input_http_client.go`` in benthos) shares the ``http_client``
output's client config, with ``GET`` as the default verb, and adds:

- ``payload``: an optional request body, interpolated;
- each read makes one request (waiting on ``rate_limit``); the response is one message, or one per
  part of a ``multipart/*`` response, with ``http_status_code`` and the ``extract_headers`` headers
  as metadata. An empty body is skipped when ``drop_empty_bodies`` is set. ``url``, ``headers`` and
  ``payload`` are interpolated against the last message read, which is how simple pagination works;
- ``stream.enabled``: one request whose body is read as it arrives and cut into messages by
  ``stream.scanner``; when the body ends the request is made again (``stream.reconnect``) or the
  input ends;
- a failed request is an error for the engine, which waits and reads again; ``auto_replay_nacks``
  as every input.

Where we differ: errors and dumps hide secrets as the output's do, and requests use HTTP/1.1.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from inputs.scanners import build_scanner, limit_of, to_messages
from pipeline.errors import EndOfInputError, NotConnectedError
from pipeline.http.client import RequestBuildError, go_transport_reason
from pipeline.http.requester import Requester, client_fields, client_lint, response_bodies, response_metadata
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.redact import redact_text
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, boolean, component, interp, obj

# how much of a streamed body is read at a time
STREAM_CHUNK = 65536


def _lint(conf: dict[str, Any]) -> list[str]:
    return client_lint(conf)


SPEC = ComponentSpec(
    "http_client",
    "input",
    summary="Reads messages from an HTTP server, by polling it or by keeping a streamed response open.",
    description=(
        "Without streaming, every read is a request and its response body a message (a multipart "
        "response gives one message per part). The `url`, `headers` and `payload` are interpolated "
        "against the previous message read, so a cursor from one page can pick the next. With "
        "`stream.enabled`, one response is read as it arrives and cut into messages by the scanner."
    ),
    categories=("Network",),
    fields=[
        *client_fields("GET"),
        interp("payload", "A body sent with every request; interpolated.", optional=True),
        boolean("drop_empty_bodies", "Skip responses whose body is empty.", default=True),
        obj(
            "stream",
            [
                boolean("enabled", "Keep one request open and read its body as a stream.", default=False),
                boolean("reconnect", "Make the request again once a streamed body ends.", default=True),
                component(
                    "scanner",
                    "scanner",
                    "How the streamed body is cut into messages.",
                    default={"lines": {}},
                ),
            ],
            "Streaming mode: the response body is read as it arrives and cut into messages.",
        ),
        boolean(
            "auto_replay_nacks",
            "Whether messages rejected at the output are replayed until delivered (otherwise they are dropped).",
            default=True,
        ),
    ],
    lint=_lint,
)


class HTTPClientInput(Requester):
    """Polls, or streams, the configured URL (see the module docstring)."""

    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        super().__init__(conf, res)
        self.payload = res.interpolation(conf["payload"]) if conf.get("payload") is not None else None
        self.drop_empty = bool(conf["drop_empty_bodies"])
        stream = conf["stream"] or {}
        self.streaming = bool(stream.get("enabled"))
        self.reconnect = bool(stream.get("reconnect", True))
        self.scanner_conf = {"scanner": stream.get("scanner") or {"lines": {}}}
        self.last: Message = Message(b"")
        self._response: httpx.Response | None = None
        self._reader: asyncio.StreamReader | None = None
        self._scanner: Any = None
        self._pump: asyncio.Task[None] | None = None
        self._opened_once = False

    # -- polling -----------------------------------------------------------------------------------

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        if self.client is None:
            await self.connect()
        if self.streaming:
            return await self._read_stream()
        while True:
            exchange = await self.send([self.last], self._payload() or b"")
            batch = self._to_messages(exchange.response, exchange.body)
            if not batch:
                continue
            self.last = batch[-1]
            return batch, _ack

    def _payload(self) -> bytes | None:
        """The request body: ``payload`` rendered against the last message read, or none."""
        if self.payload is None:
            return None
        try:
            return str(self.payload.render(self.last, [self.last], 0)).encode()
        except Exception as err:
            raise RequestBuildError(redact_text(f"payload interpolation error: {err}")) from None

    def _to_messages(self, response: httpx.Response | None, body: bytes) -> list[Message]:
        if response is None:
            bodies, metadata = [body], {}
        else:
            bodies, metadata = (
                response_bodies(response, body),
                response_metadata(response, self.extract_headers),
            )
        return [Message(b, dict(metadata)) for b in bodies if b or not self.drop_empty]

    # -- streaming ---------------------------------------------------------------------------------

    async def _read_stream(self) -> tuple[list[Message], AckFn]:
        while True:
            if self._reader is None:
                if self._opened_once and not self.reconnect:
                    raise EndOfInputError()
                await self._open_stream()
            assert self._reader is not None and self._scanner is not None
            try:
                parts = await self._scanner.next(self._reader)
            except ValueError:
                await self._close_stream()
                raise
            if parts is None:
                await self._close_stream()
                continue
            metadata: dict[str, Any] = {}
            if self._response is not None:
                metadata = response_metadata(self._response, self.extract_headers)
            batch = [m for m in to_messages(parts, metadata) if m.content or not self.drop_empty]
            if batch:
                self.last = batch[-1]
                return batch, _ack

    async def _open_stream(self) -> None:
        assert self.client is not None
        request = self._build_request([self.last], self._payload() or b"")
        await self._wait_rate_limit()
        try:
            response = await self.client.client.send(request, stream=True)
        except httpx.HTTPError as err:
            url = str(request.url)
            raise NotConnectedError(
                f'{url}: {request.method.title()} "{url}": {go_transport_reason(err, url)}'
            ) from None
        if response.status_code < 200 or response.status_code > 299:
            body = await response.aread()
            await response.aclose()
            raise NotConnectedError(
                redact_text(
                    f"{request.url}: HTTP request returned unexpected response code "
                    f"({response.status_code}): {body[:200].decode('utf-8', 'replace')}"
                )
            )
        self._opened_once = True
        self._response = response
        self._scanner = build_scanner(self.scanner_conf, str(response.url))
        self._reader = asyncio.StreamReader(limit=limit_of(self._scanner))
        self._pump = asyncio.get_running_loop().create_task(self._feed(response, self._reader))

    async def _feed(self, response: httpx.Response, reader: asyncio.StreamReader) -> None:
        try:
            async for chunk in response.aiter_bytes(STREAM_CHUNK):
                reader.feed_data(chunk)
                # hold back while the scanner catches up (bounded memory)
                while len(reader._buffer) > 4 * STREAM_CHUNK:  # type: ignore[attr-defined]
                    await asyncio.sleep(0.01)
        except httpx.HTTPError as err:
            self.res.logger.warn(f"Streamed response ended early: {redact_text(str(err))}")
        finally:
            reader.feed_eof()

    async def _close_stream(self) -> None:
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            try:
                await pump
            except (asyncio.CancelledError, Exception):
                pass
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()
        self._reader = None
        self._scanner = None

    async def close(self) -> None:
        await self._close_stream()
        await super().close()


async def _ack(_: BaseException | None) -> None:
    return None


register_input(SPEC, lambda conf, res: (HTTPClientInput(conf, res), conf["auto_replay_nacks"]))

__all__ = ["SPEC", "HTTPClientInput"]
