"""The ``dedupe`` processor: drop messages whose key was already seen, using a cache resource.

The key is added to the cache with ``add`` *before* later steps run, so a resend of an event that
then failed validation (or delivery) within the cache's TTL is dropped too, as upstream does.
Duplicates are dropped silently, and within one batch as well.
"""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, boolean, interp, string

SPEC = ComponentSpec(
    "dedupe",
    "processor",
    summary="Drops a message when its key is already in a cache: each key is written with the cache's add operation, which fails for a key that is present.",
    description=(
        "The cache is named from `cache_resources`. If the cache outlives the process (a shared or remote "
        "one), a message whose key was recorded but that was not delivered before a restart is dropped as "
        "a duplicate when it is read again: the stream then no longer delivers at least once."
    ),
    fields=[
        string("cache", "Label of the cache resource that remembers keys."),
        interp(
            "key",
            "Interpolated per message; messages that render the same key count as duplicates.",
            check=lambda v: None if v else "dedupe key must not be empty",
        ),
        boolean(
            "drop_on_err",
            "What to do when the cache itself fails (a lost connection, say): true drops the message, false keeps it.",
            default=True,
        ),
    ],
)


class Dedupe:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.res = res
        self.cache = res.cache(conf["cache"])
        if self.cache is None:
            raise ValueError(f"cache resource '{conf['cache']}' was not found")
        self.key = res.interpolation(conf["key"])
        self.drop_on_err = conf["drop_on_err"]
        self._dropped = res.metrics.counter("processor_dropped")

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        kept: list[Message] = []
        for index, msg in enumerate(batch):
            try:
                key = self.key.render(msg, batch, index)
            except Exception as err:
                # upstream flags the message but never passes it on: it is dropped
                self.res.logger.debug(f"Key interpolation error: {err}")
                self._dropped.incr()
                continue
            try:
                added = await self.cache.add(key, b"t")
            except Exception as err:
                self.res.logger.error(f"Cache error: {err}")
                if self.drop_on_err:
                    self._dropped.incr()
                    continue
                msg.error = str(err)
                kept.append(msg)
                continue
            if not added:
                self._dropped.incr()
                continue
            kept.append(msg)
        return [kept] if kept else []

    async def close(self) -> None:
        return None


register_processor(SPEC, lambda conf, res: Dedupe(conf, res))
