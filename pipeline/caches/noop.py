"""The ``noop`` cache: stores nothing. Every write succeeds and every read misses, as upstream."""

from __future__ import annotations

from typing import Any

from pipeline.plugin import register_cache
from pipeline.spec import ComponentSpec

SPEC = ComponentSpec(
    "noop",
    "cache",
    summary="A cache that keeps nothing: writes succeed, reads always miss. Handy to switch caching off without changing the config's shape.",
)


class NoopCache:
    async def get(self, key: str) -> bytes | None:
        return None

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        return None

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        return True

    async def delete(self, key: str) -> None:
        return None

    async def close(self) -> None:
        return None


def _build(conf: Any, res: Any) -> NoopCache:
    return NoopCache()


register_cache(SPEC, _build)
