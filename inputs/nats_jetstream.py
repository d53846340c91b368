"""The ``nats_jetstream`` input: consume a JetStream stream, acknowledging each message only once
the output delivered it.

As upstream (``internal/impl/nats/input_jetstream.go``): a push consumer on ``subject`` (or bound
to ``stream``), durable under ``durable``, or shared by every replica that names the same ``queue``
(the queue name is then also the consumer's durable name, so the work is split between replicas
and survives their restarts); ``bind`` with ``stream`` and ``durable`` attaches to an existing
consumer, and when that consumer is a pull consumer the input fetches from it one message at a
time. ``ack_wait`` and ``max_ack_pending`` configure the consumer: a message not acknowledged
within ``ack_wait`` (its process died) is redelivered to a live one. A delivered message is acked;
a message the engine gives back (a forced shutdown) is nacked for immediate redelivery. Message
headers become metadata, beside ``nats_subject``, ``nats_sequence_stream``,
``nats_sequence_consumer``, ``nats_num_delivered``, ``nats_num_pending``, ``nats_domain``,
``nats_timestamp_unix_nano`` and ``nats_consumer``.

Where we differ: nothing on the wire. ``extract_tracing_map`` works as upstream's (see
``pipeline/tracing.py``).
"""

from __future__ import annotations

from typing import Any

from pipeline import nats_conn
from pipeline import spec as s
from pipeline.durations import parse_duration_ns
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.redact import redact_text
from pipeline.tracing import TracingMapExtractor, extract_tracing_map_field, tracing_map_problems

DELIVER = ("all", "last", "last_per_subject", "new")


def _lint(conf: dict[str, Any]) -> list[str]:
    problems = nats_conn.connection_problems(conf)
    if conf.get("queue") and conf.get("durable"):
        problems.append("both 'queue' and 'durable' can't be set simultaneously")
    if conf.get("bind"):
        if not conf.get("stream") and not conf.get("durable"):
            problems.append("stream or durable is required, when bind is true")
    elif not conf.get("subject") and not conf.get("stream"):
        problems.append("subject and stream is empty")
    if conf.get("create_stream") and not conf.get("stream"):
        problems.append("create_stream: the stream field must be set to create a stream")
    return problems + tracing_map_problems(conf)


SPEC = s.ComponentSpec(
    "nats_jetstream",
    "input",
    summary="Consumes a JetStream stream through a durable or ephemeral consumer, acking each message once delivered.",
    description=(
        "A message is acknowledged to JetStream once the output delivered it; until then it counts "
        "against max_ack_pending, and if no ack arrives within ack_wait JetStream delivers it again, "
        "to this or another consumer of the same durable or queue. Replicas that name the same queue "
        "share the stream's messages between them.\n\n"
        "Metadata: nats_subject, nats_sequence_stream, nats_sequence_consumer, nats_num_delivered, "
        "nats_num_pending, nats_domain, nats_timestamp_unix_nano, nats_consumer, and every message "
        "header.\n\n" + nats_conn.CONNECTION_NAME_DESCRIPTION + "\n\n" + nats_conn.AUTH_DESCRIPTION
    ),
    categories=("Services",),
    requires=nats_conn.REQUIRES,
    fields=[
        *nats_conn.head_fields(),
        s.string(
            "queue",
            "A queue (deliver) group to consume as: replicas with the same queue share the messages.",
            optional=True,
        ),
        s.string(
            "subject",
            "The subject to consume, wildcards allowed; a subject or a stream is required.",
            optional=True,
            examples=("foo.bar.baz", "foo.*.baz", "foo.bar.*", "foo.>"),
        ),
        s.string(
            "durable", "Keep the consumer's state on the server under this durable name.", optional=True
        ),
        s.string("stream", "The stream to consume; a subject or a stream is required.", optional=True),
        s.boolean("bind", "Attach to a consumer that already exists instead of creating one.", optional=True),
        s.boolean(
            "create_stream",
            "Create the stream when it does not exist (needs the stream field).",
            default=False,
            advanced=True,
        ),
        s.enum(
            "deliver",
            DELIVER,
            "Where a new consumer starts: all (the oldest message), last, last_per_subject or new "
            "(only messages published from now on).",
            default="all",
        ),
        s.string(
            "ack_wait",
            "How long the server waits for an ack before delivering a message again.",
            default="30s",
            advanced=True,
            examples=("100ms", "5m"),
        ),
        s.integer(
            "max_ack_pending",
            "How many delivered but unacknowledged messages the consumer allows before it pauses.",
            default=1024,
            advanced=True,
        ),
        extract_tracing_map_field(),
        *nats_conn.tail_fields(),
    ],
    lint=_lint,
)


def _duration(text: str) -> float | None:
    if not text:
        return None
    return parse_duration_ns(text) / 1e9


class JetStreamInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.res = res
        source = conf.get("extract_tracing_map")
        self.extractor = TracingMapExtractor(source, res, "nats_jetstream") if source else None
        self.subject = conf["subject"] or ""
        self.queue = conf["queue"] or None
        self.durable = conf["durable"] or None
        self.stream = conf["stream"] or None
        self.bind = bool(conf["bind"])
        self.ack_wait = _duration(conf["ack_wait"])
        self.client: Any = None
        self.sub: Any = None
        self.pull = False

    async def connect(self) -> None:
        if self.client is not None:
            return
        from nats.js import api  # optional dependency: the benthic[nats] extra

        client = await nats_conn.connect(self.conf, self.res)
        try:
            js = client.jetstream()
            info = None
            if self.bind and self.stream and self.durable:
                info = await js.consumer_info(self.stream, self.durable)
                if not self.subject:
                    self.subject = (
                        info.config.deliver_subject
                        or (info.config.filter_subjects or [""])[0]
                        or info.config.filter_subject
                        or ""
                    )
                self.pull = not info.config.deliver_subject
            if self.stream and not self.bind:
                await self._ensure_stream(js)
            if self.pull:
                self.sub = await js.pull_subscribe_bind(durable=self.durable, stream=self.stream)
            else:
                config = api.ConsumerConfig(
                    ack_wait=self.ack_wait,
                    max_ack_pending=self.conf["max_ack_pending"] or None,
                    deliver_policy=_deliver_policy(api, self.conf["deliver"]),
                )
                if info is not None:
                    # an existing push consumer keeps its own settings (deliver subject and group)
                    self.sub = await js.subscribe_bind(
                        stream=self.stream, consumer=self.durable, config=info.config, manual_ack=True
                    )
                else:
                    self.sub = await js.subscribe(
                        self.subject or "",
                        queue=self.queue,
                        durable=self.durable,
                        stream=self.stream,
                        config=config,
                        manual_ack=True,
                        pending_msgs_limit=max(self.conf["max_ack_pending"], 1024),
                    )
        except Exception as err:
            await client.close()
            raise RuntimeError(f"nats_jetstream: {redact_text(str(err) or type(err).__name__)}") from None
        self.client = client

    async def _ensure_stream(self, js: Any) -> None:
        from nats.js.errors import NotFoundError  # optional dependency: the benthic[nats] extra

        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            if not self.conf["create_stream"]:
                raise RuntimeError(
                    f"stream {self.stream} does not exist and create_stream is false"
                ) from None
            await js.add_stream(name=self.stream, subjects=[self.subject or "*"])
            self.res.logger.info(f"Created stream {self.stream}")

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        import nats.errors  # optional dependency: the benthic[nats] extra

        sub = self.sub
        if sub is None or self.client is None:
            raise NotConnectedError()
        while True:
            if self.client.is_closed:
                await self._disconnect()
                raise NotConnectedError()
            try:
                if self.pull:
                    fetched = await sub.fetch(1, timeout=1.0)
                    if not fetched:
                        continue
                    raw = fetched[0]
                else:
                    raw = await sub.next_msg(timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except nats.errors.ConnectionClosedError:
                await self._disconnect()
                raise NotConnectedError() from None
            batch = [_message(raw)]
            if self.extractor is not None:
                self.extractor.apply(batch)
            return batch, _acker(raw)

    async def _disconnect(self) -> None:
        client, self.client, self.sub = self.client, None, None
        if client is not None:
            try:
                await client.close()
            except Exception:  # noqa: BLE001 - already broken
                pass

    async def close(self) -> None:
        # close (not drain): a drained push subscription would keep taking messages it cannot ack
        await self._disconnect()


def _deliver_policy(api: Any, deliver: str) -> Any:
    return {
        "all": api.DeliverPolicy.ALL,
        "last": api.DeliverPolicy.LAST,
        "last_per_subject": api.DeliverPolicy.LAST_PER_SUBJECT,
        "new": api.DeliverPolicy.NEW,
    }[deliver]


def _message(raw: Any) -> Message:
    meta: dict[str, Any] = {"nats_subject": raw.subject}
    try:
        info = raw.metadata
    except Exception:  # noqa: BLE001 - not a JetStream message (no ack subject): no metadata
        info = None
    if info is not None:
        meta["nats_sequence_stream"] = str(info.sequence.stream)
        meta["nats_sequence_consumer"] = str(info.sequence.consumer)
        meta["nats_num_delivered"] = str(info.num_delivered)
        meta["nats_num_pending"] = str(info.num_pending)
        meta["nats_domain"] = info.domain or ""
        meta["nats_consumer"] = info.consumer
        meta["nats_timestamp_unix_nano"] = _timestamp_ns(raw.reply, info)
    meta.update(nats_conn.header_metadata(raw.headers))
    return Message(raw.data, meta)


def _timestamp_ns(reply: str, info: Any) -> str:
    # the ack subject carries the exact nanoseconds; nats-py rounds them through a float
    tokens = (reply or "").split(".")
    if len(tokens) == 9 and tokens[7].isdigit():
        return tokens[7]
    if len(tokens) >= 12 and tokens[-3].isdigit():
        return tokens[-3]
    return str(int(info.timestamp.timestamp() * 1_000_000_000))


def _acker(raw: Any) -> AckFn:
    async def ack(err: BaseException | None) -> None:
        try:
            if err is None:
                await raw.ack()
            else:
                await raw.nak()
        except Exception:  # noqa: BLE001 - the connection is gone: JetStream redelivers after ack_wait
            pass

    return ack


register_input(SPEC, lambda conf, res: (JetStreamInput(conf, res), False))
