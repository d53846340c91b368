"""The ``nats`` output: publish each message to a core NATS subject.

As upstream (``internal/impl/nats/output.go``): ``subject`` and ``headers`` are interpolated per
message and the metadata ``metadata`` selects is added as headers. Core NATS does not confirm a
publish: a write succeeds once the message is in the client's outgoing buffer, and what no
subscriber listens for is dropped by the server. Use ``nats_jetstream`` for storage and
acknowledgement.

Where we differ: each batch is flushed to the server before the write completes, so that a write
that could not reach the server fails instead of waiting in memory. ``inject_tracing_map`` works
as upstream's (see ``pipeline/tracing.py``).
"""

from __future__ import annotations

from typing import Any

from pipeline import nats_conn
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.metadata import MetadataFilter, metadata_filter_field
from pipeline.plugin import register_output
from pipeline.redact import redact_text
from pipeline.tracing import TracingMapInjector, inject_tracing_map_field, tracing_map_problems

SPEC = s.ComponentSpec(
    "nats",
    "output",
    summary="Publishes each message on a NATS subject (core NATS: no delivery guarantee past the server).",
    description=nats_conn.CONNECTION_NAME_DESCRIPTION + "\n\n" + nats_conn.AUTH_DESCRIPTION,
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
        s.integer(
            "max_in_flight",
            "How many publishes may be outstanding at once.",
            default=64,
            check=lambda v: None if v >= 1 else "max_in_flight must be at least 1",
        ),
        inject_tracing_map_field(),
        *nats_conn.tail_fields(),
    ],
    lint=lambda conf: nats_conn.connection_problems(conf) + tracing_map_problems(conf),
)


class NATSOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.res = res
        self.subject = res.interpolation(conf["subject"])
        self.headers = {k: res.interpolation(v) for k, v in conf["headers"].items()}
        self.metadata = MetadataFilter(conf["metadata"]) if conf["metadata"] else None
        source = conf.get("inject_tracing_map")
        self.injector = TracingMapInjector(source, res) if source else None
        self.client: Any = None

    async def connect(self) -> None:
        if self.client is None:
            self.client = await nats_conn.connect(self.conf, self.res)

    async def write_batch(self, batch: list[Message]) -> None:
        client = self.client
        if client is None or client.is_closed:
            self.client = None
            raise NotConnectedError()
        if self.injector is not None:  # on copies: a retry sends what the first attempt sent
            batch = [self.injector.apply(msg) for msg in batch]
        for index, msg in enumerate(batch):
            try:
                subject = str(self.subject.render(msg, batch, index))
            except Exception as err:
                raise ValueError(f'failed string interpolation on field "subject": {err}') from None
            headers = nats_conn.headers_for(msg, batch, index, self.headers, self.metadata)
            await client.publish(subject, msg.content, headers=headers)
        try:
            await client.flush(timeout=5)
        except Exception as err:
            raise RuntimeError(f"publishing to NATS: {redact_text(str(err) or type(err).__name__)}") from None

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                await client.close()
            except Exception:  # noqa: BLE001 - already broken
                pass


register_output(SPEC, NATSOutput)
