"""Reaching a cache resource from a component the way upstream's ``AccessCache`` does: a missing
key is the error ``key does not exist`` and ``add`` of a present key ``key already exists``.

benthic's cache plugins return None from ``get`` for a missing key and False from ``add`` for a
present one; these helpers turn that into upstream's errors, which users match in error handling.
"""

from __future__ import annotations

from typing import Any


class KeyNotFoundError(Exception):
    def __init__(self) -> None:
        super().__init__("key does not exist")


class KeyExistsError(Exception):
    def __init__(self) -> None:
        super().__init__("key already exists")


def find_cache(res: Any, label: str) -> Any:
    """The cache resource named ``label``; ``cache resource 'x' was not found`` otherwise."""
    if not res.manager.has_resource("cache", label):
        raise ValueError(f"cache resource '{label}' was not found")
    return res.cache(label)


async def get(cache: Any, key: str) -> bytes:
    value = await cache.get(key)
    if value is None:
        raise KeyNotFoundError()
    return bytes(value)


async def add(cache: Any, key: str, value: bytes, ttl: float | None = None) -> None:
    if not await cache.add(key, value, ttl):
        raise KeyExistsError()
