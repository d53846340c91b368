"""The ``redis_list`` input: pop messages from a Redis list.

As upstream (``internal/impl/redis/input_list.go``): ``blpop`` (the default, from the head) or
``brpop`` waits up to ``timeout`` for an element; each element is one message. A popped element
is gone from Redis: a message being delivered when the process dies is lost (use
``redis_streams`` for at-least-once); a rejected one is replayed from memory with
``auto_replay_nacks``. ``max_in_flight`` bounds the popped messages awaiting delivery.

Where we differ: the URL in errors has its password masked.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline import redis_conn
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "redis_list",
    "input",
    summary="Takes messages off the head of a Redis list, waiting (BLPOP) while it is empty.",
    categories=("Services",),
    requires=redis_conn.REQUIRES,
    fields=[
        *redis_conn.client_fields(),
        s.string("key", "The list to pop from."),
        s.auto_replay_nacks_field(),
        s.integer(
            "max_in_flight",
            "How many popped messages may await delivery at once; 0 or lower sets no limit (the "
            "stream's own back pressure still holds).",
            default=0,
            advanced=True,
        ),
        s.duration("timeout", "How long one pop waits for an element.", default="5s", advanced=True),
        s.enum(
            "command",
            ("blpop", "brpop"),
            "Pop from the head (blpop) or the tail (brpop).",
            default="blpop",
            advanced=True,
        ),
    ],
    lint=redis_conn.client_problems,
)


class RedisListInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.res = res
        self.client: Any = None
        limit = conf["max_in_flight"]
        self.slots = asyncio.Semaphore(limit) if limit > 0 else None

    async def connect(self) -> None:
        if self.client is not None:
            return
        self.client = await redis_conn.connect(self.conf, "redis_list")

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        slots = self.slots
        if slots is not None:
            await slots.acquire()
        try:
            while True:
                if self.client is None:
                    raise NotConnectedError()
                pop = self.client.brpop if self.conf["command"] == "brpop" else self.client.blpop
                try:
                    result = await pop([self.conf["key"]], timeout=max(self.conf["timeout"] or 0.0, 0.01))
                except Exception as err:
                    self.res.logger.error(f"Error from redis: {redis_conn.error_text(err)}")
                    client, self.client = self.client, None
                    await client.aclose()
                    raise NotConnectedError() from None
                if result:
                    break
        except BaseException:
            if slots is not None:
                slots.release()
            raise

        async def ack(_: BaseException | None) -> None:
            if slots is not None:
                slots.release()

        return [Message(bytes(result[1]))], ack

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()


register_input(SPEC, lambda conf, res: (RedisListInput(conf, res), conf["auto_replay_nacks"]))
