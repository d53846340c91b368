"""The ``redis`` cache: keys and values in Redis, shared by every process that uses the server.

As upstream (``internal/impl/redis/cache.go``): keys get ``prefix`` in front; ``set`` and ``add``
store with the item's TTL or ``default_ttl`` (none when both are empty or zero); ``add`` is
``SET NX`` and is refused when the key exists; a failed command is retried with exponential
backoff from ``retries.initial_interval`` up to ``retries.max_interval``, for at most
``retries.max_elapsed_time``.

Where we differ: errors name the URL with its password masked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pipeline import redis_conn
from pipeline import spec as s
from pipeline.plugin import register_cache

T = TypeVar("T")

SPEC = s.ComponentSpec(
    "redis",
    "cache",
    summary="Keeps cache entries in Redis; a `default_ttl` of zero or an empty string stores them "
    "without expiry.",
    categories=("Services",),
    requires=redis_conn.REQUIRES,
    fields=[
        *redis_conn.client_fields(),
        s.string(
            "prefix", "A prefix for every key, to keep this cache's keys apart from others.", optional=True
        ),
        s.duration(
            "default_ttl",
            "How long an item lives when it is stored without a TTL of its own.",
            optional=True,
            advanced=True,
        ),
        s.obj(
            "retries",
            [
                s.duration("initial_interval", "The wait before the first retry.", default="500ms"),
                s.duration("max_interval", "The longest wait between two retries.", default="1s"),
                s.duration(
                    "max_elapsed_time",
                    "How long to keep retrying a command before failing; 0 forever.",
                    default="5s",
                ),
            ],
            "How a failed command is retried.",
            advanced=True,
        ),
    ],
    lint=redis_conn.client_problems,
)


class RedisCache:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.prefix = conf["prefix"] or ""
        self.default_ttl = conf["default_ttl"] or None
        self.retries = conf["retries"]
        self.client = redis_conn.make_client(conf)

    def _ttl_ms(self, ttl: float | None) -> int | None:
        ttl = self.default_ttl if ttl is None else ttl
        return int(ttl * 1000) if ttl and ttl > 0 else None

    async def _retrying(self, command: Callable[[], Awaitable[T]]) -> T:
        wait = self.retries["initial_interval"] or 0.5
        limit = self.retries["max_elapsed_time"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit if limit else None
        while True:
            try:
                return await command()
            except Exception as err:
                if deadline is not None and loop.time() + wait > deadline:
                    raise RuntimeError(
                        f"redis cache at {redis_conn.describe(self.conf)}: {redis_conn.error_text(err)}"
                    ) from None
            await asyncio.sleep(wait)
            wait = min(wait * 1.5, self.retries["max_interval"] or wait)

    async def get(self, key: str) -> bytes | None:
        value = await self._retrying(lambda: self.client.get(self.prefix + key))
        return None if value is None else bytes(value)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._retrying(lambda: self.client.set(self.prefix + key, value, px=self._ttl_ms(ttl)))

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        stored = await self._retrying(
            lambda: self.client.set(self.prefix + key, value, px=self._ttl_ms(ttl), nx=True)
        )
        return bool(stored)

    async def delete(self, key: str) -> None:
        await self._retrying(lambda: self.client.delete(self.prefix + key))

    async def close(self) -> None:
        await self.client.aclose()


register_cache(SPEC, lambda conf, res: RedisCache(conf, res))
