"""The ``http_client`` output: sends each batch to an HTTP server.

Behaviour follows Redpanda Connect's ``http_client`` output (``internal/httpclient``):

- ``url`` and header values are interpolated against the batch's first message; a ``Host`` header
  sets the request host.
- A batch of one message is one request whose body is the message. A larger batch is one
  ``multipart/form-data`` request with ``batch_as_multipart``, otherwise one request per message in
  order, stopping at the first failure. The messages sent before it were delivered: the
  ``BatchError`` names the failed one and those after it, and only they are sent again (upstream
  sends the whole batch again).
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
- A header Go's transport would refuse to write (a name that is not an HTTP token, a value with a
  control character after interpolation) fails the write with ``UnwritableError``: the engine
  hands those messages back as failed rather than retrying them forever. Other values are sent
  as UTF-8 bytes, as Go sends them.

The fields and request building it shares with the ``http`` processor and the ``http_client``
input live in ``pipeline.http.requester``, the sending itself (deadline, Go's error text, the
throttle, multipart, dumps) in ``pipeline.http.client``; this module is the output's own fields,
how a batch is split into requests, and ``propagate_response``. Where we differ: dumps, errors and log lines hide secrets (sensitive headers masked,
URLs and bodies redacted; upstream logs them as sent), and requests always use HTTP/1.1
(``disable_http2`` is therefore always honoured; HTTP/2 is never negotiated).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.errors import BatchError, NotConnectedError
from pipeline.http.client import Exchange
from pipeline.http.requester import Requester, client_fields, client_lint
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import (
    ComponentSpec,
    batching_field,
    boolean,
    interp,
    max_in_flight_field,
    obj_list,
)
from pipeline.sync_response import store_sync_response

# -- spec -------------------------------------------------------------------------------------------

SPEC = ComponentSpec(
    "http_client",
    "output",
    summary="Delivers messages as HTTP requests.",
    description=(
        "Once `retries` further attempts have failed, the output rejects the message, and the input (or "
        "a wrapping output such as drop_on) decides what happens to it next. The URL and header values may be "
        "interpolated, evaluated against the first message of each batch."
    ),
    categories=("Network",),
    fields=[
        *client_fields("POST"),
        boolean(
            "batch_as_multipart",
            "Send a whole batch as one multipart request (RFC 1341).",
            default=False,
            advanced=True,
        ),
        boolean(
            "propagate_response",
            "Hand the server's response back to the input as the synchronous response.",
            default=False,
            advanced=True,
        ),
        max_in_flight_field(64),
        batching_field(),
        obj_list(
            "multipart",
            [
                interp("content_type", "Content-Type of this part.", default=""),
                interp(
                    "content_disposition",
                    "Content-Disposition of this part.",
                    default="",
                ),
                interp("body", "Content of this part.", default=""),
            ],
            "EXPERIMENTAL: build multipart requests from the parts listed here.",
            default=[],
            advanced=True,
        ),
    ],
    lint=client_lint,
)

# -- the output -------------------------------------------------------------------------------------


class HTTPClientOutput(Requester):
    """Writes each batch as one request, or one request per message (see the module docstring)."""

    async def write_batch(self, batch: list[Message]) -> None:
        if self.client is None:
            await self.connect()
        if len(batch) == 1 or self.conf["batch_as_multipart"] or self.multipart:
            exchange = await self.send(batch)
            if self.conf["propagate_response"]:
                self._propagate(batch, exchange)
            return
        # one request per message, in order, stopping at the first failure as upstream does; the
        # messages sent before it were delivered, so only it and those after it are named failed
        for index, msg in enumerate(batch):
            try:
                exchange = await self.send([msg])
            except (NotConnectedError, asyncio.CancelledError):
                raise
            except Exception as err:
                if index == 0:
                    raise
                raise BatchError(batch, err).failed_from(index, err) from None
            if self.conf["propagate_response"]:
                self._propagate([msg], exchange)

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
