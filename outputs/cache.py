"""The ``cache`` output: store each message's payload in a cache resource under an interpolated
key (with an optional interpolated ``ttl``). A failure to interpolate or write nacks the batch."""

from __future__ import annotations

from typing import Any

from pipeline import cache_access
from pipeline.durations import parse_duration_ns
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, interp, max_in_flight_field, string

SPEC = ComponentSpec(
    "cache",
    "output",
    summary="Writes each message into a cache resource, under a key computed from the message.",
    description="The default key is unique per message: set `key` to something like `${! this.id }` to overwrite entries.",
    categories=("Services",),
    fields=[
        string("target", "Label of the cache resource to write to."),
        interp(
            "key",
            "The key to store each message under.",
            default='${!count("items")}-${!timestamp_unix_nano()}',
        ),
        interp(
            "ttl",
            "How long each item lives, as a duration string; caches without per-key expiry ignore it.",
            optional=True,
            advanced=True,
            examples=("60s", "5m", "36h"),
        ),
        max_in_flight_field(),
    ],
)


class CacheOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        try:
            self.key = res.interpolation(conf["key"])
        except Exception as err:
            raise ValueError(f"failed to parse key expression: {err}") from None
        try:
            self.ttl = res.interpolation(conf.get("ttl") or "")
        except Exception as err:
            raise ValueError(f"failed to parse ttl expression: {err}") from None
        self.cache = cache_access.find_cache(res, conf["target"])

    async def connect(self) -> None:
        return None

    async def write_batch(self, batch: list[Message]) -> None:
        for index, msg in enumerate(batch):
            try:
                key = self.key.render(msg, batch, index)
            except Exception as err:
                raise RuntimeError(f"key interpolation error: {err}") from None
            try:
                ttl_text = self.ttl.render(msg, batch, index)
            except Exception as err:
                raise RuntimeError(f"ttl interpolation error: {err}") from None
            ttl = None
            if ttl_text:
                try:
                    ttl = parse_duration_ns(ttl_text) / 1e9
                except ValueError as err:
                    raise RuntimeError(f"ttl field: {err}") from None
            await self.cache.set(key, msg.content, ttl)

    async def close(self) -> None:
        return None


register_output(SPEC, CacheOutput)
