"""The ``cache`` processor: per message, ``set``, ``add``, ``get``, ``delete`` or test (``exists``)
a key of a cache resource, with interpolated ``key``, ``value`` and ``ttl``.

As upstream: ``get`` replaces the payload with the cached value, ``exists`` with ``true`` or
``false``; a missing key on ``get`` and a present key on ``add`` flag the message (``operator
failed for key 'k': key does not exist``, ``key already exists: k``); ``delete`` of a missing key
succeeds.
"""

from __future__ import annotations

from typing import Any

from pipeline import cache_access
from pipeline.durations import parse_duration_ns
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, enum, interp, string

SPEC = ComponentSpec(
    "cache",
    "processor",
    summary="Reads, writes or deletes keys of a cache resource for each message, storing payloads or bringing stored values into them.",
    description=(
        "`set` writes the value, replacing any; `add` writes it only when the key is absent and flags the "
        "message otherwise; `get` replaces the payload with the stored value and flags the message when "
        "the key is absent; `delete` removes the key (absent keys are fine); `exists` replaces the payload "
        "with `true` or `false`. To cache what processors produce, see `cached`."
    ),
    categories=("Integration",),
    fields=[
        string("resource", "Label of the cache resource to use."),
        enum(
            "operator",
            ("set", "add", "get", "delete", "exists"),
            "What to do with the key: store, add if absent, read, remove or test for it.",
        ),
        interp("key", "The cache key, interpolated per message."),
        interp("value", "The value to store, for `set` and `add`.", optional=True),
        interp(
            "ttl",
            "How long the item lives, as a duration string; caches without per-key expiry use their own setting.",
            optional=True,
            advanced=True,
            examples=("60s", "5m", "36h"),
        ),
    ],
)


class CacheProcessor:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        if not conf["resource"]:
            raise ValueError("cache name must be specified")
        self.operator = conf["operator"]
        self.key = res.interpolation(conf["key"])
        self.value = res.interpolation(conf.get("value") or "")
        self.ttl = res.interpolation(conf.get("ttl") or "")
        self.cache = cache_access.find_cache(res, conf["resource"])

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for index, msg in enumerate(batch):
            try:
                key = self.key.render(msg, batch, index)
            except Exception as err:
                msg.error = f"key interpolation error: {err}"
                continue
            try:
                value = self.value.render_bytes(msg, batch, index)
            except Exception as err:
                msg.error = f"value interpolation error: {err}"
                continue
            try:
                ttl_text = self.ttl.render(msg, batch, index)
            except Exception as err:
                msg.error = f"ttl interpolation error: {err}"
                continue
            ttl = None
            if ttl_text:
                try:
                    ttl = parse_duration_ns(ttl_text) / 1e9
                except ValueError as err:
                    msg.error = f"ttl must be a duration: {err}"
                    continue
            try:
                await self._apply(msg, key, value, ttl)
            except cache_access.KeyExistsError:
                msg.error = f"key already exists: {key}"
            except Exception as err:
                msg.error = f"operator failed for key '{key}': {err}"
        return [batch]

    async def _apply(self, msg: Message, key: str, value: bytes, ttl: float | None) -> None:
        op = self.operator
        if op == "set":
            await self.cache.set(key, value, ttl)
        elif op == "add":
            await cache_access.add(self.cache, key, value, ttl)
        elif op == "get":
            msg.content = await cache_access.get(self.cache, key)
        elif op == "delete":
            await self.cache.delete(key)
        else:
            try:
                found = await self.cache.get(key) is not None
            except Exception:
                found = False  # as upstream: any failure to read counts as absent
            msg.set_structured(found)

    async def close(self) -> None:
        return None


register_processor(SPEC, CacheProcessor)
