"""The ``nats_kv`` cache: keys and values in a NATS JetStream key-value bucket.

As upstream (``internal/impl/nats/cache_kv.go``): ``get`` reads the latest value, ``set`` puts,
``add`` creates (refused when the key exists), ``delete`` deletes; the bucket must exist. A TTL
given per item is ignored: a bucket's entries expire by the bucket's own ``max_age``.

Where we differ: the connection is made on first use and made again after it was closed, so that
a cache resource does not fail the whole config when NATS starts after benthic.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline import nats_conn
from pipeline import spec as s
from pipeline.plugin import register_cache

SPEC = s.ComponentSpec(
    "nats_kv",
    "cache",
    summary="Keeps cache entries in a NATS JetStream key-value bucket.",
    description=nats_conn.CONNECTION_NAME_DESCRIPTION + "\n\n" + nats_conn.AUTH_DESCRIPTION,
    categories=("Services",),
    requires=nats_conn.REQUIRES,
    fields=[
        *nats_conn.head_fields(),
        s.string("bucket", "The name of the key-value bucket.", examples=("my_kv_bucket",)),
        *nats_conn.tail_fields(),
    ],
    lint=nats_conn.connection_problems,
)


class NATSKVCache:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.res = res
        self.client: Any = None
        self.kv: Any = None
        self._lock = asyncio.Lock()

    async def _bucket(self) -> Any:
        async with self._lock:
            if self.client is not None and self.client.is_closed:
                self.client = self.kv = None
            if self.kv is None:
                client = await nats_conn.connect(self.conf, self.res)
                try:
                    self.kv = await client.jetstream().key_value(self.conf["bucket"])
                except Exception as err:
                    await client.close()
                    raise RuntimeError(f"nats_kv bucket {self.conf['bucket']}: {err}") from None
                self.client = client
            return self.kv

    async def get(self, key: str) -> bytes | None:
        from nats.js.errors import KeyDeletedError, KeyNotFoundError  # optional dependency: benthic[nats]

        kv = await self._bucket()
        try:
            entry = await kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return bytes(entry.value or b"")

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        kv = await self._bucket()
        await kv.put(key, value)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        from nats.js.errors import KeyWrongLastSequenceError  # optional dependency: benthic[nats]

        kv = await self._bucket()
        try:
            await kv.create(key, value)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def delete(self, key: str) -> None:
        kv = await self._bucket()
        await kv.delete(key)

    async def close(self) -> None:
        client, self.client, self.kv = self.client, None, None
        if client is not None:
            await client.close()


register_cache(SPEC, lambda conf, res: NATSKVCache(conf, res))
