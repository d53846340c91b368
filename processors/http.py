"""The ``http`` processor: sends messages to an HTTP server and carries on with the responses.

Upstream (``internal/impl/pure/processor_http.go`` in benthos) builds on the same client config as
the ``http_client`` output:

- each message is its own request, sent one after another, or all at once with ``parallel``;
  with ``batch_as_multipart`` the whole batch is one multipart request whose response parts
  replace the batch;
- a successful response replaces the message: its body becomes the content, ``http_status_code``
  and the headers picked by ``extract_headers`` are added to the metadata; a ``multipart/*``
  response becomes one message per part;
- a failed request (after ``retries``, or at once for a ``drop_on`` status) leaves the message as
  it was, flagged with the error, with ``http_status_code`` when the server answered.

Where we differ: the response message keeps the request message's metadata and adds the response's
(upstream's docs leave this unsaid); secrets are hidden from errors and dumps as in the output.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.http.client import Exchange
from pipeline.http.requester import Requester, client_fields, client_lint, response_bodies, response_metadata
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, boolean

SPEC = ComponentSpec(
    "http",
    "processor",
    summary="Sends each message to an HTTP server and replaces it with the server's response.",
    description=(
        "The request body is the message; the response body becomes the new message, with the "
        "status code in the `http_status_code` metadata key and the headers chosen by `extract_headers` "
        "as metadata too. A request that still fails after its retries leaves the message unchanged and "
        "flagged as errored, so that `catch` or `switch` can route it. To keep the original message and "
        "merge only part of the response into it, wrap this processor in a `branch`."
    ),
    categories=("Integration",),
    fields=[
        *client_fields("POST"),
        boolean(
            "batch_as_multipart",
            "Send the whole batch as one multipart request (RFC 1341).",
            default=False,
        ),
        boolean(
            "parallel",
            "Send the messages of a batch at the same time rather than one after another.",
            default=False,
        ),
    ],
    lint=client_lint,
)


class HTTPProcessor(Requester):
    """Replaces each message (or the batch, with ``batch_as_multipart``) with its response."""

    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        super().__init__(conf, res)
        self.parallel = bool(conf["parallel"])

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if not batch:
            return []
        if self.client is None:
            await self.connect()
        if self.conf["batch_as_multipart"] and len(batch) > 1:
            try:
                exchange = await self.send(batch)
            except Exception as err:
                return [[self._failed(msg, err) for msg in batch]]
            return [self._responses(batch[0], exchange)]
        if self.parallel:
            results = await asyncio.gather(*(self._one(msg) for msg in batch))
        else:
            results = [await self._one(msg) for msg in batch]
        return [[out for result in results for out in result]]

    async def _one(self, msg: Message) -> list[Message]:
        try:
            exchange = await self.send([msg])
        except Exception as err:
            return [self._failed(msg, err)]
        return self._responses(msg, exchange)

    def _failed(self, msg: Message, err: Exception) -> Message:
        failed = msg.copy()
        failed.error = str(err)
        code = getattr(err, "code", None)
        if isinstance(code, int):
            failed.metadata["http_status_code"] = code
        return failed

    def _responses(self, origin: Message, exchange: Exchange) -> list[Message]:
        response = exchange.response
        if response is None:
            return [origin.copy()]
        metadata = {**origin.metadata, **response_metadata(response, self.extract_headers)}
        out = []
        for body in response_bodies(response, exchange.body):
            reply = origin.copy(dict(metadata))
            reply.content = body
            out.append(reply)
        return out


register_processor(SPEC, HTTPProcessor)

__all__ = ["SPEC", "HTTPProcessor"]
