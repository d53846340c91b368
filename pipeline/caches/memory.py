"""The ``memory`` cache: a key/value store in process memory with per-key expiry.

Upstream semantics kept on purpose (they decide what ``dedupe`` drops): ``add`` refuses a key
that is *present*, even when it has expired; expired keys are only removed by a compaction, and a
compaction runs only inside ``set``, ``delete`` and a successful ``add``, at most once per
``compaction_interval``. ``init_values`` never expire until overwritten.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from pipeline.plugin import register_cache
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, duration, integer, string_map

SPEC = ComponentSpec(
    "memory",
    "cache",
    summary="A key/value cache held in the process's memory.",
    description="Nothing is kept across restarts: the cache starts empty (apart from `init_values`) each time.",
    fields=[
        duration(
            "default_ttl",
            "How long an item lives unless set with its own TTL; once expired, the next compaction removes it.",
            default="5m",
        ),
        duration(
            "compaction_interval",
            "Time between compactions, the sweeps that remove expired items. An empty string turns "
            "compaction, and with it expiry, off.",
            default="60s",
        ),
        string_map(
            "init_values",
            "Keys and values the cache holds from the start.",
            default={},
        ),
        integer(
            "shards",
            "How many separate maps the keys are spread over; more shards can help with very many keys.",
            default=1,
            advanced=True,
            check=lambda v: None if v >= 1 else "shards must be at least 1",
        ),
    ],
)

_NEVER = float("inf")


class _Shard:
    __slots__ = ("items", "last_compaction")

    def __init__(self) -> None:
        self.items: dict[str, tuple[bytes, float]] = {}  # key -> (value, expires_at monotonic)
        self.last_compaction = time.monotonic()


class MemoryCache:
    def __init__(
        self,
        default_ttl: float | None,
        compaction_interval: float | None,
        init_values: dict[str, str],
        shards: int = 1,
    ) -> None:
        self.default_ttl = default_ttl or 0.0
        # None: compaction (and so expiry) disabled, as with upstream's empty string
        self.compaction_interval = compaction_interval
        self._shards = [_Shard() for _ in range(max(1, shards))]
        for key, value in init_values.items():
            self._shard(key).items[key] = (value.encode(), _NEVER)

    def _shard(self, key: str) -> _Shard:
        if len(self._shards) == 1:
            return self._shards[0]
        # upstream spreads by xxhash64; any stable hash spreads as well (shards are internal)
        return self._shards[zlib.crc32(key.encode()) % len(self._shards)]

    def _expiry(self, ttl: float | None) -> float:
        if self.compaction_interval is None:
            return _NEVER
        ttl = self.default_ttl if ttl is None else ttl
        return time.monotonic() + ttl if ttl > 0 else _NEVER

    def _compact_if_due(self, shard: _Shard) -> None:
        if self.compaction_interval is None:
            return
        now = time.monotonic()
        if now - shard.last_compaction < self.compaction_interval:
            return
        shard.last_compaction = now
        expired = [k for k, (_, exp) in shard.items.items() if exp <= now]
        for key in expired:
            del shard.items[key]

    async def get(self, key: str) -> bytes | None:
        item = self._shard(key).items.get(key)
        if item is None or item[1] <= time.monotonic():
            return None
        return item[0]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        shard = self._shard(key)
        self._compact_if_due(shard)
        shard.items[key] = (value, self._expiry(ttl))

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        shard = self._shard(key)
        if key in shard.items:  # expiry deliberately not checked (upstream)
            return False
        self._compact_if_due(shard)
        shard.items[key] = (value, self._expiry(ttl))
        return True

    async def delete(self, key: str) -> None:
        shard = self._shard(key)
        self._compact_if_due(shard)
        shard.items.pop(key, None)

    async def close(self) -> None:
        return None


def _build(conf: dict[str, Any], res: Resources) -> MemoryCache:
    return MemoryCache(conf["default_ttl"], conf["compaction_interval"], conf["init_values"], conf["shards"])


register_cache(SPEC, _build)
