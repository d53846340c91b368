"""The ``ttlru`` cache: an LRU of at most ``cap`` items in which every item also expires
``default_ttl`` after it was written (hashicorp's expirable LRU, as upstream). Per-key TTLs are
ignored, as upstream; the deprecated ``ttl`` field still overrides ``default_ttl`` (with a
warning) and ``without_reset`` is accepted and ignored."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from pipeline.plugin import register_cache
from pipeline.spec import ComponentSpec, boolean, duration, integer, string_map

SPEC = ComponentSpec(
    "ttlru",
    "cache",
    summary="A key/value cache in memory holding a fixed number of items, dropping the least recently used first and any item older than its time to live.",
    description="Nothing survives a restart. `init_values` fills the cache when it starts (those items expire too).",
    fields=[
        integer("cap", "Most items held.", default=1024),
        duration("default_ttl", "How long an item lives after it was written.", default="5m"),
        duration("ttl", "Deprecated: use `default_ttl`.", optional=True, advanced=True, deprecated=True),
        string_map("init_values", "Keys and values the cache holds from the start.", default={}),
        boolean(
            "optimistic",
            "Accepted for compatibility: benthic's caches run on one event loop, so `add` is always exact.",
            default=False,
            advanced=True,
        ),
        boolean("without_reset", "Deprecated and ignored.", optional=True, advanced=True, deprecated=True),
    ],
    lint=lambda conf: (
        (["invalid ttlru cache parameter capacity: must be bigger than 0"] if conf["cap"] <= 0 else [])
        + (
            ["invalid ttlru cache parameter default_ttl: must be bigger than 0s"]
            if not (conf.get("ttl") or conf.get("default_ttl") or 0) > 0
            else []
        )
    ),
)


class TTLRUCache:
    def __init__(self, cap: int, ttl: float, init_values: dict[str, str]) -> None:
        self.cap = cap
        self.ttl = ttl
        self.items: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        for key, value in init_values.items():
            self._put(key, value.encode())

    def _live(self, key: str) -> bytes | None:
        item = self.items.get(key)
        if item is None:
            return None
        if item[1] <= time.monotonic():
            del self.items[key]
            return None
        return item[0]

    def _put(self, key: str, value: bytes) -> None:
        self.items[key] = (value, time.monotonic() + self.ttl)
        self.items.move_to_end(key)
        while len(self.items) > self.cap:
            self.items.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        value = self._live(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._put(key, value)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value)
        return True

    async def delete(self, key: str) -> None:
        self.items.pop(key, None)

    async def close(self) -> None:
        return None


def _build(conf: dict[str, Any], res: Any) -> TTLRUCache:
    ttl = conf["default_ttl"]
    if conf.get("ttl") is not None:
        res.logger.warn('field "ttl" is deprecated, please use "default_ttl"')
        ttl = conf["ttl"]
    if conf.get("without_reset"):
        res.logger.warn('field "without_reset" is deprecated, ignoring')
    if conf["cap"] <= 0:
        raise ValueError("invalid ttlru cache parameter capacity: must be bigger than 0")
    if not ttl or ttl <= 0:
        raise ValueError("invalid ttlru cache parameter default_ttl: must be bigger than 0s")
    return TTLRUCache(int(conf["cap"]), ttl, conf["init_values"])


register_cache(SPEC, _build)
