"""The memory cache keeps upstream's expiry rules, which decide what dedupe drops."""

from __future__ import annotations

import asyncio
import time

from pipeline.caches.memory import MemoryCache


def test_add_refuses_a_present_key_and_set_overwrites() -> None:
    async def go() -> list[object]:
        cache = MemoryCache(300.0, 60.0, {})
        return [
            await cache.add("k", b"1"),
            await cache.add("k", b"2"),
            await cache.get("k"),
            await cache.set("k", b"3"),
            await cache.get("k"),
        ]

    assert asyncio.run(go()) == [True, False, b"1", None, b"3"]


def test_an_expired_key_is_not_found_but_still_blocks_add_until_a_compaction() -> None:
    async def go() -> list[object]:
        cache = MemoryCache(0.05, 0.05, {})
        await cache.add("old", b"t")
        time.sleep(0.1)
        found = await cache.get("old")
        blocked = await cache.add("old", b"t")  # upstream: presence, not expiry, decides
        await cache.add("new", b"t")  # a new key triggers the due compaction
        return [found, blocked, await cache.add("old", b"t")]

    assert asyncio.run(go()) == [None, False, True]


def test_an_empty_compaction_interval_disables_expiry() -> None:
    async def go() -> object:
        cache = MemoryCache(0.01, None, {})
        await cache.set("k", b"v")
        time.sleep(0.05)
        return await cache.get("k")

    assert asyncio.run(go()) == b"v"


def test_init_values_are_there_from_the_start_and_never_expire() -> None:
    async def go() -> list[object]:
        cache = MemoryCache(0.01, 0.01, {"a": "1"}, shards=4)
        time.sleep(0.05)
        await cache.set("b", b"2")
        return [await cache.get("a"), await cache.get("b"), await cache.add("a", b"x")]

    assert asyncio.run(go()) == [b"1", b"2", False]
