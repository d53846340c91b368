"""The ``ristretto`` cache: keys and values in process memory, bounded, with a TTL per item.

Upstream (``internal/impl/dgraph/cache_ristretto.go``) wraps dgraph's Ristretto with 10M
frequency counters, a maximum cost of 1 GiB and a cost of 1 per item; Ristretto adds its own
56-byte bookkeeping cost to each item, so the bound is a number of items (18,837,575), whatever
the size of the values. What upstream does, and benthic with it:

- ``set`` stores the value with the item's TTL, else ``default_ttl``; a zero TTL (or an empty
  ``default_ttl``) never expires, a negative one is refused with ``set operation was dropped``;
- ``add`` is the same as ``set``: it overwrites a present key and never reports one, which is
  why upstream says this cache is no use for deduplication;
- ``get`` of a missing or expired key is ``key does not exist``; with ``get_retries.enabled``
  a miss is read again after exponential backoff waits (cenkalti's: ±50% jitter, ×1.5 up to
  ``max_interval``) until the key appears or the next wait would pass ``max_elapsed_time``;
- ``delete`` removes the key at once.

Where we differ, and why:

- Writes are visible at once. Ristretto applies a new key from a buffer on another goroutine,
  so a ``get`` just after a ``set`` can miss (the reason ``get_retries`` exists), and under
  contention a ``set`` may be dropped. benthic's caches run on one event loop and need neither;
  ``get_retries`` still retries real misses, for keys that another message sets meanwhile.
- At the bound, Ristretto's TinyLFU admission may refuse a new key that was read less often
  than the item it would evict (silently: upstream's ``set`` has already succeeded). benthic
  always keeps the new key, and evicts the least-read of five sampled items as Ristretto's
  sampled LFU does; reads are counted exactly rather than in a count-min sketch, and halved
  every 10M reads as Ristretto ages its counters.
- The retry clock starts at each ``get``'s first miss; upstream reuses pooled backoffs whose
  clock may have started earlier.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from typing import Any

from pipeline.backoff import ExponentialBackoff
from pipeline.plugin import register_cache
from pipeline.spec import ComponentSpec, boolean, duration, obj

# Upstream's Ristretto configuration and Ristretto's own per-item bookkeeping cost (the size of its
# storeItem on 64-bit: two uint64 hashes, an interface value and a time.Time).
MAX_COST = 1 << 30
ITEM_COST = 1 + 56
CAPACITY = MAX_COST // ITEM_COST
NUM_COUNTERS = 10_000_000  # reads between two halvings of the read counts
EVICTION_SAMPLE = 5

SET_DROPPED = "set operation was dropped"

SPEC = ComponentSpec(
    "ristretto",
    "cache",
    summary="A key/value cache in process memory, bounded in the number of items, whose items may each carry a time to live.",
    description=(
        "Unlike `memory`, it holds a bounded number of items. `add` overwrites a present key like "
        "`set` and never reports it, so this cache cannot deduplicate: use `memory`, `lru` or `redis` for "
        "that. Once the cache holds its maximum of 18,837,575 items, a new key evicts the least read of a "
        "small random sample. Nothing survives a restart."
    ),
    fields=[
        duration(
            "default_ttl",
            "How long an item lives after it is written when it is written without a TTL of its own. Empty "
            "or zero: items do not expire.",
            default="",
            examples=("5m", "60s"),
        ),
        obj(
            "get_retries",
            [
                boolean("enabled", "Whether a `get` that misses tries again.", default=False),
                duration(
                    "initial_interval",
                    "Wait before the first retry.",
                    default="1s",
                    examples=("50ms", "1s"),
                ),
                duration(
                    "max_interval",
                    "Longest wait between two retries.",
                    default="5s",
                    examples=("5s", "1m"),
                ),
                duration(
                    "max_elapsed_time",
                    "How long a `get` may go on retrying before it gives up with `key does not exist`; "
                    "`0s` retries for as long as the key is missing.",
                    default="30s",
                    examples=("1m", "1h"),
                ),
            ],
            "Whether and how a `get` of a missing key is retried, for keys expected to be written soon "
            "by other messages. Each retry costs a wait, so leave it off unless keys are expected.",
            advanced=True,
        ),
    ],
)


class _Item:
    __slots__ = ("value", "expires_at", "reads", "epoch", "slot")

    def __init__(self, value: bytes, expires_at: float, epoch: int, slot: int) -> None:
        self.value = value
        self.expires_at = expires_at  # monotonic seconds; inf: never
        self.reads = 0
        self.epoch = epoch  # read counts halve once per epoch that passed since
        self.slot = slot  # index in RistrettoCache._keys, for sampling


class RistrettoCache:
    def __init__(
        self,
        default_ttl: float,
        retries: dict[str, Any] | None = None,
        capacity: int = CAPACITY,
    ) -> None:
        self.default_ttl = default_ttl
        self.retries = retries  # None: a miss is final
        self.capacity = capacity
        self._items: dict[str, _Item] = {}
        self._keys: list[str] = []  # the same keys, in a list to sample eviction candidates from
        self._expiries: list[tuple[float, int, str]] = []  # heap; stale entries are skipped
        self._sequence = itertools.count()
        self._epoch = 0
        self._reads_in_epoch = 0
        self._closed = False

    # -- storage -----------------------------------------------------------------------------------

    def _remove(self, key: str) -> None:
        item = self._items.pop(key, None)
        if item is None:
            return
        last = self._keys.pop()
        if last != key:
            self._keys[item.slot] = last
            self._items[last].slot = item.slot

    def _drop_expired(self) -> None:
        now = time.monotonic()
        while self._expiries and self._expiries[0][0] <= now:
            expires_at, _, key = heapq.heappop(self._expiries)
            item = self._items.get(key)
            if item is not None and item.expires_at == expires_at:
                self._remove(key)

    def _rebuild_expiries(self) -> None:
        self._expiries = [
            (item.expires_at, next(self._sequence), key)
            for key, item in self._items.items()
            if item.expires_at != float("inf")
        ]
        heapq.heapify(self._expiries)

    def _reads(self, item: _Item) -> int:
        if item.epoch != self._epoch:
            item.reads >>= min(self._epoch - item.epoch, 63)
            item.epoch = self._epoch
        return item.reads

    def _evict_one(self) -> None:
        sample = random.sample(self._keys, min(EVICTION_SAMPLE, len(self._keys)))
        victim = min(sample, key=lambda k: self._reads(self._items[k]))
        self._remove(victim)

    def _store(self, key: str, value: bytes, ttl: float | None) -> None:
        if self._closed:
            raise RuntimeError(SET_DROPPED)
        ttl = self.default_ttl if ttl is None else ttl
        if ttl < 0:
            raise RuntimeError(SET_DROPPED)
        expires_at = time.monotonic() + ttl if ttl > 0 else float("inf")
        self._drop_expired()
        item = self._items.get(key)
        if item is not None:
            item.value = value
            item.expires_at = expires_at
        else:
            if len(self._items) >= self.capacity:
                self._evict_one()
            self._items[key] = _Item(value, expires_at, self._epoch, len(self._keys))
            self._keys.append(key)
        if ttl > 0:
            heapq.heappush(self._expiries, (expires_at, next(self._sequence), key))
            if len(self._expiries) > 2 * len(self._items) + 1024:
                self._rebuild_expiries()  # keys rewritten over and over leave stale entries behind

    def _lookup(self, key: str) -> bytes | None:
        if self._closed:
            return None
        self._drop_expired()
        self._reads_in_epoch += 1
        if self._reads_in_epoch >= NUM_COUNTERS:
            self._reads_in_epoch = 0
            self._epoch += 1
        item = self._items.get(key)
        if item is None:
            return None
        item.reads = min(self._reads(item) + 1, 15)  # Ristretto's counters are four bits wide
        return item.value

    # -- the cache API -----------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        value = self._lookup(key)
        if value is not None or self.retries is None:
            return value
        backoff = ExponentialBackoff(
            self.retries["initial_interval"] or 0.0, self.retries["max_interval"] or 0.0, 0
        )
        limit = self.retries["max_elapsed_time"] or 0.0
        started = time.monotonic()
        while value is None:
            wait = backoff.next()
            assert wait is not None  # no limit of its own: the elapsed time is checked here
            # as cenkalti's backoff: give up when this wait would end past max_elapsed_time
            if limit > 0 and time.monotonic() - started + wait > limit:
                return None
            await asyncio.sleep(wait)
            value = self._lookup(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._store(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        # upstream's add is a set: a present key is overwritten, never reported
        self._store(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        self._remove(key)

    async def close(self) -> None:
        self._closed = True
        self._items.clear()
        self._keys.clear()
        self._expiries.clear()


def _build(conf: dict[str, Any], res: Any) -> RistrettoCache:
    retries = conf["get_retries"]
    return RistrettoCache(conf["default_ttl"] or 0.0, retries if retries["enabled"] else None)


register_cache(SPEC, _build)
