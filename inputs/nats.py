"""The ``nats`` input: subscribe to a core NATS subject.

As upstream (``internal/impl/nats/input.go``): one subscription to ``subject``, shared between
every subscriber of the same ``queue``; each message carries ``nats_subject``,
``nats_reply_subject`` and its headers as metadata. Core NATS keeps nothing: a message that
arrives while no subscriber listens is gone, and a message taken but not yet delivered when the
process dies is lost (use ``nats_jetstream`` for at-least-once). Once delivered, a message with a
reply subject is answered ``+ACK`` (``send_ack``); a rejected one ``-NAK`` (after ``nak_delay``
when set), which JetStream understands when the subject is a JetStream push consumer's.
``prefetch_count`` bounds the messages held in memory before the server is told this subscriber is
slow.

Where we differ: nothing on the wire. ``extract_tracing_map`` works as upstream's (see
``pipeline/tracing.py``).
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline import nats_conn
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.tracing import TracingMapExtractor, extract_tracing_map_field, tracing_map_problems

# nats.go's DefaultSubPendingMsgsLimit
DEFAULT_PREFETCH = 512 * 1024

SPEC = s.ComponentSpec(
    "nats",
    "input",
    summary="Receives the messages published on a NATS subject (core NATS, at most once).",
    description=(
        "Metadata: nats_subject, nats_reply_subject, and every message header.\n\n"
        + nats_conn.CONNECTION_NAME_DESCRIPTION
        + "\n\n"
        + nats_conn.AUTH_DESCRIPTION
    ),
    categories=("Services",),
    requires=nats_conn.REQUIRES,
    fields=[
        *nats_conn.head_fields(),
        s.string(
            "subject",
            "The subject to consume, wildcards allowed.",
            examples=("foo.bar.baz", "foo.*.baz", "foo.bar.*", "foo.>"),
        ),
        s.string("queue", "A queue group to consume as: its members share the messages.", optional=True),
        s.auto_replay_nacks_field(),
        s.boolean(
            "send_ack",
            "Answer each message that has a reply subject with an ack once the outputs delivered it.",
            default=True,
        ),
        s.duration(
            "nak_delay",
            "How long the sender should wait before redelivering a message that was rejected.",
            optional=True,
            advanced=True,
            examples=("1m",),
        ),
        s.integer(
            "prefetch_count",
            "How many messages to hold in memory, waiting to be read.",
            default=DEFAULT_PREFETCH,
            advanced=True,
            check=lambda v: None if v >= 0 else "prefetch count must be greater than or equal to zero",
        ),
        extract_tracing_map_field(),
        *nats_conn.tail_fields(),
    ],
    lint=lambda conf: nats_conn.connection_problems(conf) + tracing_map_problems(conf),
)


class NATSInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.res = res
        source = conf.get("extract_tracing_map")
        self.extractor = TracingMapExtractor(source, res, "nats") if source else None
        self.client: Any = None
        self.sub: Any = None

    async def connect(self) -> None:
        if self.client is not None:
            return
        client = await nats_conn.connect(self.conf, self.res)
        try:
            limit = self.conf["prefetch_count"] or DEFAULT_PREFETCH
            self.sub = await client.subscribe(
                self.conf["subject"], queue=self.conf["queue"] or "", pending_msgs_limit=limit
            )
        except Exception:
            await client.close()
            raise
        self.client = client

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        import nats.errors  # optional dependency: the benthic[nats] extra

        while True:
            client, sub = self.client, self.sub
            if client is None or sub is None or client.is_closed:
                await self._disconnect()
                raise NotConnectedError()
            try:
                raw = await sub.next_msg(timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except nats.errors.ConnectionClosedError:
                await self._disconnect()
                raise NotConnectedError() from None
            meta: dict[str, Any] = {"nats_subject": raw.subject, "nats_reply_subject": raw.reply or ""}
            meta.update(nats_conn.header_metadata(raw.headers))
            batch = [Message(raw.data, meta)]
            if self.extractor is not None:
                self.extractor.apply(batch)
            return batch, self._acker(client, raw.reply)

    def _acker(self, client: Any, reply: str) -> AckFn:
        send_ack = self.conf["send_ack"]
        nak_delay = self.conf["nak_delay"]

        async def ack(err: BaseException | None) -> None:
            if not reply or client.is_closed:
                return
            if err is None:
                if send_ack:
                    await client.publish(reply, b"+ACK")
            elif nak_delay:
                await client.publish(reply, b"-NAK " + orjson.dumps({"delay": int(nak_delay * 1e9)}))
            else:
                await client.publish(reply, b"-NAK")

        return ack

    async def _disconnect(self) -> None:
        client, self.client, self.sub = self.client, None, None
        if client is not None:
            try:
                await client.close()
            except Exception:  # noqa: BLE001 - already broken
                pass

    async def close(self) -> None:
        await self._disconnect()


register_input(SPEC, lambda conf, res: (NATSInput(conf, res), conf["auto_replay_nacks"]))
