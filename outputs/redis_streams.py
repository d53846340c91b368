"""The ``redis_streams`` output: append each message to a Redis stream with ``XADD``.

As upstream (``internal/impl/redis/output_streams.go``): ``stream`` and ``id`` are interpolated
per message (``*`` lets Redis choose a time-based ID); the body goes in the ``body_key`` field and
every metadata value not excluded by ``metadata.exclude_prefixes`` in a field of its own;
``max_length`` above zero trims the stream approximately (``MAXLEN ~``). A batch is sent as one
pipeline, and the write succeeds only when Redis accepted every entry.

Where we differ: a failed write is reported with its reason (upstream reconnects and reports
"not connected"); the URL in errors has its password masked.
"""

from __future__ import annotations

from typing import Any

from pipeline import redis_conn
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import register_output

SPEC = s.ComponentSpec(
    "redis_streams",
    "output",
    summary="Adds each message as an entry of a Redis stream with XADD (Redis 5.0 or later); the stream "
    "is created on first use.",
    description=(
        "Each message becomes one entry: its body under body_key and its metadata, less what "
        "metadata.exclude_prefixes leaves out, as further fields."
    ),
    categories=("Services",),
    requires=redis_conn.REQUIRES,
    fields=[
        *redis_conn.client_fields(),
        s.interp("stream", "The stream to add entries to."),
        s.interp(
            "id",
            "The entry ID; * (the default) lets Redis choose a unique time-based one.",
            default="*",
        ),
        s.string("body_key", "The entry field the message body is stored under.", default="body"),
        s.integer("max_length", "Above zero, trim the stream to about this many entries.", default=0),
        s.max_in_flight_field(64),
        s.obj(
            "metadata",
            [
                s.string_list(
                    "exclude_prefixes", "Metadata keys with these prefixes are left out.", default=[]
                )
            ],
            "Which metadata values to leave out of the entries.",
        ),
        s.batching_field(),
    ],
    lint=redis_conn.client_problems,
)


class RedisStreamsOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.stream = res.interpolation(conf["stream"])
        self.id = res.interpolation(conf["id"])
        self.body_key = conf["body_key"]
        self.exclude = tuple(conf["metadata"]["exclude_prefixes"])
        self.client: Any = None

    async def connect(self) -> None:
        if self.client is not None:
            return
        self.client = await redis_conn.connect(self.conf, "redis_streams")

    def _fields(self, msg: Message) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key in msg.metadata:
            if not (self.exclude and key.startswith(self.exclude)):
                fields[key] = msg.meta_str(key) or ""
        fields[self.body_key] = msg.content
        return fields

    async def write_batch(self, batch: list[Message]) -> None:
        if self.client is None:
            raise NotConnectedError()
        maxlen = self.conf["max_length"] or None
        pipe = self.client.pipeline(transaction=False)
        for i, msg in enumerate(batch):
            try:
                stream = str(self.stream.render(msg, batch, i))
            except Exception as err:
                raise ValueError(f"stream interpolation error: {err}") from None
            try:
                entry_id = str(self.id.render(msg, batch, i))
            except Exception as err:
                raise ValueError(f"id interpolation error: {err}") from None
            pipe.xadd(stream, self._fields(msg), id=entry_id, maxlen=maxlen, approximate=True)
        try:
            results = await pipe.execute(raise_on_error=False)
        except Exception as err:
            raise RuntimeError(f"writing to Redis streams: {redis_conn.error_text(err)}") from None
        redis_conn.raise_failed_commands(batch, results)

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()


register_output(SPEC, RedisStreamsOutput)
