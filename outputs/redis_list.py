"""The ``redis_list`` output: push each message onto a Redis list.

As upstream (``internal/impl/redis/output_list.go``): ``key`` is interpolated per message;
``command`` is ``rpush`` (the default, onto the end) or ``lpush``; a batch is sent as one pipeline
and succeeds only when every push did.

Where we differ: the URL in errors has its password masked.
"""

from __future__ import annotations

from typing import Any

from pipeline import redis_conn
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import register_output

SPEC = s.ComponentSpec(
    "redis_list",
    "output",
    summary="Appends each message to the tail of a Redis list with RPUSH; Redis creates the list on "
    "first use.",
    description="The key may be interpolated, giving each message a list of its own.",
    categories=("Services",),
    requires=redis_conn.REQUIRES,
    fields=[
        *redis_conn.client_fields(),
        s.interp(
            "key", "The list to push to (interpolated per message).", examples=("some_list", "${! @.key }")
        ),
        s.max_in_flight_field(64),
        s.batching_field(),
        s.enum(
            "command",
            ("rpush", "lpush"),
            "Push onto the end (rpush) or the head (lpush).",
            default="rpush",
            advanced=True,
        ),
    ],
    lint=redis_conn.client_problems,
)


class RedisListOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.key = res.interpolation(conf["key"])
        self.client: Any = None

    async def connect(self) -> None:
        if self.client is not None:
            return
        self.client = await redis_conn.connect(self.conf, "redis_list")

    async def write_batch(self, batch: list[Message]) -> None:
        if self.client is None:
            raise NotConnectedError()
        pipe = self.client.pipeline(transaction=False)
        push = pipe.lpush if self.conf["command"] == "lpush" else pipe.rpush
        for i, msg in enumerate(batch):
            try:
                key = str(self.key.render(msg, batch, i))
            except Exception as err:
                raise ValueError(f"key interpolation error: {err}") from None
            push(key, msg.content)
        try:
            results = await pipe.execute(raise_on_error=False)
        except Exception as err:
            raise RuntimeError(f"pushing to Redis list: {redis_conn.error_text(err)}") from None
        redis_conn.raise_failed_commands(batch, results)

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()


register_output(SPEC, RedisListOutput)
