"""The ``lru`` cache: at most ``cap`` items in memory, the least recently used evicted first.

``algorithm: standard`` is a plain LRU; ``two_queues`` keeps items seen once apart from items
seen again (with a list of recently evicted keys), so a burst of one-off keys does not push out
frequently used ones; ``arc`` (adaptive replacement) balances the two lists by the misses on
their evicted keys. Both follow hashicorp's golang-lru, which upstream uses. TTLs are ignored,
as upstream.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from pipeline.plugin import register_cache
from pipeline.spec import ComponentSpec, boolean, enum, integer, number, string_map

SPEC = ComponentSpec(
    "lru",
    "cache",
    summary="A key/value cache in memory holding a fixed number of items, dropping the least recently used first.",
    description="Nothing survives a restart. `init_values` fills the cache when it starts.",
    fields=[
        integer("cap", "Most items held.", default=1000),
        string_map("init_values", "Keys and values the cache holds from the start.", default={}),
        enum(
            "algorithm",
            ("standard", "arc", "two_queues"),
            "`standard` is a plain LRU; `two_queues` tracks items used once apart from items used again; "
            "`arc` (adaptive replacement) also tracks recently evicted keys of both kinds and shifts room "
            "towards the kind that is missed more.",
            default="standard",
            advanced=True,
        ),
        number(
            "two_queues_recent_ratio",
            "Share of `cap` for items used only once (`two_queues`).",
            default=0.25,
            advanced=True,
            optional=True,
        ),
        number(
            "two_queues_ghost_ratio",
            "Size of the list of recently evicted keys, as a share of `cap` (`two_queues`).",
            default=0.5,
            advanced=True,
            optional=True,
        ),
        boolean(
            "optimistic",
            "Accepted for compatibility: benthic's caches run on one event loop, so `add` is always exact.",
            default=False,
            advanced=True,
        ),
    ],
    lint=lambda conf: (
        ["invalid lru cache parameter capacity: must be bigger than 0"] if conf["cap"] <= 0 else []
    ),
)


class StandardLRU:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.items: OrderedDict[str, bytes] = OrderedDict()

    def peek(self, key: str) -> bytes | None:
        return self.items.get(key)

    def get(self, key: str) -> bytes | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def add(self, key: str, value: bytes) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.cap:
            self.items.popitem(last=False)

    def remove(self, key: str) -> None:
        self.items.pop(key, None)


class TwoQueueLRU:
    """2Q: ``recent`` holds keys seen once, ``frequent`` keys seen again, ``ghosts`` the keys
    recently evicted from ``recent`` (a ghost that comes back goes straight to ``frequent``)."""

    def __init__(self, cap: int, recent_ratio: float, ghost_ratio: float) -> None:
        if not 0 <= recent_ratio <= 1 or not 0 <= ghost_ratio <= 1:
            raise ValueError("invalid recent or ghost ratio")
        self.cap = cap
        self.recent_cap = int(cap * recent_ratio)
        self.recent = StandardLRU(cap)
        self.frequent = StandardLRU(cap)
        self.ghosts = StandardLRU(max(1, int(cap * ghost_ratio)))

    def peek(self, key: str) -> bytes | None:
        value = self.frequent.peek(key)
        return value if value is not None else self.recent.peek(key)

    def get(self, key: str) -> bytes | None:
        value = self.frequent.get(key)
        if value is not None:
            return value
        value = self.recent.peek(key)
        if value is not None:
            self.recent.remove(key)
            self.frequent.add(key, value)
        return value

    def add(self, key: str, value: bytes) -> None:
        if key in self.frequent.items:
            self.frequent.add(key, value)
            return
        if key in self.recent.items:
            self.recent.remove(key)
            self.frequent.add(key, value)
            return
        if key in self.ghosts.items:
            self._make_room(True)
            self.ghosts.remove(key)
            self.frequent.add(key, value)
            return
        self._make_room(False)
        self.recent.add(key, value)

    def _make_room(self, ghost_hit: bool) -> None:
        if len(self.recent.items) + len(self.frequent.items) < self.cap:
            return
        recent_len = len(self.recent.items)
        if recent_len > 0 and (
            recent_len > self.recent_cap or (recent_len == self.recent_cap and not ghost_hit)
        ):
            evicted, _ = self.recent.items.popitem(last=False)
            self.ghosts.add(evicted, b"")
            return
        if self.frequent.items:
            self.frequent.items.popitem(last=False)

    def remove(self, key: str) -> None:
        self.frequent.remove(key)
        self.recent.remove(key)
        self.ghosts.remove(key)


class AdaptiveLRU:
    """ARC: ``recent``/``frequent`` hold items, ``recent_ghosts``/``frequent_ghosts`` the keys
    evicted from each; a miss on a ghost moves the target share ``p`` of ``recent`` its way."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.p = 0
        self.recent = StandardLRU(cap)
        self.frequent = StandardLRU(cap)
        self.recent_ghosts = StandardLRU(cap)
        self.frequent_ghosts = StandardLRU(cap)

    def peek(self, key: str) -> bytes | None:
        value = self.recent.peek(key)
        return value if value is not None else self.frequent.peek(key)

    def get(self, key: str) -> bytes | None:
        value = self.recent.peek(key)
        if value is not None:
            self.recent.remove(key)
            self.frequent.add(key, value)
            return value
        return self.frequent.get(key)

    def add(self, key: str, value: bytes) -> None:
        if key in self.recent.items:
            self.recent.remove(key)
            self.frequent.add(key, value)
            return
        if key in self.frequent.items:
            self.frequent.add(key, value)
            return
        full = len(self.recent.items) + len(self.frequent.items) >= self.cap
        b1, b2 = len(self.recent_ghosts.items), len(self.frequent_ghosts.items)
        if key in self.recent_ghosts.items:
            delta = b2 // b1 if b2 > b1 else 1
            self.p = min(self.p + delta, self.cap)
            if full:
                self._replace(False)
            self.recent_ghosts.remove(key)
            self.frequent.add(key, value)
            return
        if key in self.frequent_ghosts.items:
            delta = b1 // b2 if b1 > b2 else 1
            self.p = max(self.p - delta, 0)
            if full:
                self._replace(True)
            self.frequent_ghosts.remove(key)
            self.frequent.add(key, value)
            return
        if full:
            self._replace(False)
        if len(self.recent_ghosts.items) > self.cap - self.p:
            self.recent_ghosts.items.popitem(last=False)
        if len(self.frequent_ghosts.items) > self.p:
            self.frequent_ghosts.items.popitem(last=False)
        self.recent.add(key, value)

    def _replace(self, in_frequent_ghosts: bool) -> None:
        recent_len = len(self.recent.items)
        if recent_len > 0 and (recent_len > self.p or (recent_len == self.p and in_frequent_ghosts)):
            evicted, _ = self.recent.items.popitem(last=False)
            self.recent_ghosts.add(evicted, b"")
        elif self.frequent.items:
            evicted, _ = self.frequent.items.popitem(last=False)
            self.frequent_ghosts.add(evicted, b"")

    def remove(self, key: str) -> None:
        for part in (self.recent, self.frequent, self.recent_ghosts, self.frequent_ghosts):
            part.remove(key)


class LRUCache:
    def __init__(self, inner: Any, init_values: dict[str, str]) -> None:
        self.inner = inner
        for key, value in init_values.items():
            inner.add(key, value.encode())

    async def get(self, key: str) -> bytes | None:
        return self.inner.get(key)  # type: ignore[no-any-return]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self.inner.add(key, value)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if self.inner.peek(key) is not None:
            return False
        self.inner.add(key, value)
        return True

    async def delete(self, key: str) -> None:
        self.inner.remove(key)

    async def close(self) -> None:
        return None


def _build(conf: dict[str, Any], res: Any) -> LRUCache:
    cap = int(conf["cap"])
    if cap <= 0:
        raise ValueError("invalid lru cache parameter capacity: must be bigger than 0")
    algorithm = conf["algorithm"]
    inner: Any
    if algorithm == "standard":
        inner = StandardLRU(cap)
    elif algorithm == "two_queues":
        recent = conf.get("two_queues_recent_ratio")
        ghost = conf.get("two_queues_ghost_ratio")
        inner = TwoQueueLRU(cap, 0.25 if recent is None else recent, 0.5 if ghost is None else ghost)
    elif algorithm == "arc":
        inner = AdaptiveLRU(cap)
    else:
        raise ValueError(
            f'algorithm "{algorithm}" not supported. the supported values are "standard", "arc" and "two_queues"'
        )
    return LRUCache(inner, conf["init_values"])


register_cache(SPEC, _build)
