"""The ``nats_jetstream`` output: publish each message to a JetStream subject and wait for the
stream's acknowledgement.

As upstream (``internal/impl/nats/output_jetstream.go``): ``subject`` and ``headers`` are
interpolated per message, the metadata that ``metadata`` selects is added as headers, and a write
succeeds only when JetStream acknowledged the message (so an ``http_server`` input answers its
client only once the event is stored). A ``Nats-Msg-Id`` header lets JetStream drop a message it
already stored within the stream's duplicate window: a client retry is absorbed without losing an
event. ``max_in_flight`` (default 1024) publishes run at once.

A batch is published concurrently, message by message, as upstream breaks a batch up for this
single-message output: the messages whose publish failed are named in a ``BatchError``, so only
they are published again (or passed on by a ``fallback``). ``inject_tracing_map`` works as
upstream's (see ``pipeline/tracing.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline import nats_conn
from pipeline import spec as s
from pipeline.errors import BatchError, NotConnectedError
from pipeline.message import Message
from pipeline.metadata import MetadataFilter, metadata_filter_field
from pipeline.plugin import register_output
from pipeline.redact import redact_text
from pipeline.tracing import TracingMapInjector, inject_tracing_map_field, tracing_map_problems

SPEC = s.ComponentSpec(
    "nats_jetstream",
    "output",
    summary="Publishes each message to a JetStream subject and waits for the stream to acknowledge storing it.",
    description=(
        "Each message is published and the write completes once JetStream acknowledged it. Give messages "
        "a Nats-Msg-Id header (from headers or metadata) to let the stream de-duplicate retries within "
        "its duplicate window.\n\n"
        + nats_conn.CONNECTION_NAME_DESCRIPTION
        + "\n\n"
        + nats_conn.AUTH_DESCRIPTION
    ),
    categories=("Services",),
    requires=nats_conn.REQUIRES,
    fields=[
        *nats_conn.head_fields(),
        s.interp(
            "subject",
            "Where each message is published; interpolated per message.",
            examples=("foo.bar.baz", '${! meta("kafka_topic") }', 'foo.${! json("meta.type") }'),
        ),
        s.string_map(
            "headers",
            "Headers to add to each message (interpolated).",
            default={},
            interpolated=True,
            examples=({"Content-Type": "application/json", "Timestamp": '${!meta("Timestamp")}'},),
        ),
        metadata_filter_field(
            "metadata", "Which metadata values to add to messages as headers.", optional=True
        ),
        s.max_in_flight_field(1024),
        inject_tracing_map_field(),
        *nats_conn.tail_fields(),
    ],
    lint=lambda conf: nats_conn.connection_problems(conf) + tracing_map_problems(conf),
)


class JetStreamOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.res = res
        self.subject = res.interpolation(conf["subject"])
        self.headers = {k: res.interpolation(v) for k, v in conf["headers"].items()}
        self.metadata = MetadataFilter(conf["metadata"]) if conf["metadata"] else None
        source = conf.get("inject_tracing_map")
        self.injector = TracingMapInjector(source, res) if source else None
        self.client: Any = None
        self.js: Any = None

    async def connect(self) -> None:
        if self.client is not None:
            return
        self.client = await nats_conn.connect(self.conf, self.res)
        self.js = self.client.jetstream()

    async def write_batch(self, batch: list[Message]) -> None:
        if self.js is None or self.client is None or self.client.is_closed:
            await self._disconnect()
            raise NotConnectedError()
        if self.injector is not None:  # on copies: a retry sends what the first attempt sent
            batch = [self.injector.apply(msg) for msg in batch]
        if len(batch) == 1:
            await self._publish(batch, 0)
            return
        results = await asyncio.gather(
            *(self._publish(batch, i) for i in range(len(batch))), return_exceptions=True
        )
        # as upstream, each message is published on its own: those that failed are named, and
        # only they are published again
        problem: BatchError | None = None
        for index, result in enumerate(results):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, Exception):
                problem = (problem or BatchError(batch, result)).failed(index, result)
        if problem is not None:
            raise problem

    async def _publish(self, batch: list[Message], index: int) -> None:
        msg = batch[index]
        try:
            subject = str(self.subject.render(msg, batch, index))
        except Exception as err:
            raise ValueError(f'failed string interpolation on field "subject": {err}') from None
        try:
            headers = nats_conn.headers_for(msg, batch, index, self.headers, self.metadata)
        except Exception as err:
            raise ValueError(f"failed string interpolation on a header: {err}") from None
        try:
            await self.js.publish(subject, msg.content, headers=headers)
        except Exception as err:
            if self.client is None or self.client.is_closed:
                await self._disconnect()
                raise NotConnectedError() from None
            reason = redact_text(str(err) or type(err).__name__)
            raise RuntimeError(f"publishing to JetStream subject {subject}: {reason}") from None

    async def _disconnect(self) -> None:
        client, self.client, self.js = self.client, None, None
        if client is not None:
            try:
                await client.close()
            except Exception:  # noqa: BLE001 - already broken
                pass

    async def close(self) -> None:
        await self._disconnect()


register_output(SPEC, JetStreamOutput)
