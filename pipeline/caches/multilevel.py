"""The ``multilevel`` cache: several cache resources used as levels, the first the fastest.

As upstream: ``get`` tries the levels in order and copies a hit into every level before it;
``set`` and ``delete`` go to every level; ``add`` fails when any level but the last holds the
key, otherwise adds to the last level and then to the others, from the back.
"""

from __future__ import annotations

from typing import Any

from pipeline.plugin import register_cache
from pipeline.spec import ComponentSpec, string_list

SPEC = ComponentSpec(
    "multilevel",
    "cache",
    summary="Combines two or more cache resources into levels: reads try each in turn and fill the earlier levels on a hit.",
    description="Put a small fast cache (`memory`, `lru`) in front of a slower shared one to save round trips.",
    root=string_list("multilevel", default=[]),
    lint=lambda conf: (
        [] if len(conf or []) >= 2 else [f"expected at least two cache levels, found {len(conf or [])}"]
    ),
)


class MultilevelCache:
    def __init__(self, levels: list[str], res: Any) -> None:
        if len(levels) < 2:
            raise ValueError(f"expected at least two cache levels, found {len(levels)}")
        self.names = levels
        self.res = res
        self._levels: list[Any] | None = None

    def _caches(self) -> list[Any]:
        # resolved on first use: the levels are resources that may be declared after this one
        if self._levels is None:
            levels = []
            for name in self.names:
                if not self.res.manager.has_resource("cache", name):
                    raise ValueError(
                        f"unable to access cache '{name}': cache resource '{name}' was not found"
                    )
                levels.append(self.res.cache(name))
            self._levels = levels
        return self._levels

    async def get(self, key: str) -> bytes | None:
        caches = self._caches()
        for i, cache in enumerate(caches):
            value = await cache.get(key)
            if value is not None:
                for j in range(i):
                    try:
                        await caches[j].set(key, value, None)
                    except Exception as err:
                        self.res.logger.error(
                            f"Unable to passively set key '{key}' for cache '{self.names[j]}': {err}"
                        )
                return value  # type: ignore[no-any-return]
        return None

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        for cache in self._caches():
            await cache.set(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        caches = self._caches()
        for cache in caches[:-1]:
            if await cache.get(key) is not None:
                return False
        if not await caches[-1].add(key, value, ttl):
            return False
        for cache in reversed(caches[:-1]):
            if not await cache.add(key, value, ttl):
                return False
        return True

    async def delete(self, key: str) -> None:
        for cache in self._caches():
            try:
                await cache.delete(key)
            except FileNotFoundError:
                continue

    async def close(self) -> None:
        return None


register_cache(SPEC, lambda conf, res: MultilevelCache(list(conf or []), res))
