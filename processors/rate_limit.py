"""The ``rate_limit`` processor: before passing each message on, take an access from a
``rate_limit`` resource, waiting as long as it says. A failing rate limit is logged and asked
again a second later; closing the processor (shutdown) ends the wait."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, string

SPEC = ComponentSpec(
    "rate_limit",
    "processor",
    summary="Slows the pipeline down to what a `rate_limit` resource allows; the resource is shared, so the limit holds across every component that names it.",
    categories=("Utility",),
    fields=[string("resource", "Label of the `rate_limit` resource to use.")],
)


class RateLimitProcessor:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        name = conf["resource"]
        if not res.manager.has_resource("rate_limit", name):
            raise ValueError(f"rate limit resource '{name}' was not found")
        self.limit = res.rate_limit(name)
        self.res = res
        self._closed = asyncio.Event()

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for _ in batch:
            while True:
                try:
                    wait = await self.limit.access()
                except Exception as err:
                    self.res.logger.error(f"Failed to access rate limit: {err}")
                    wait = 1.0
                if not wait:
                    break
                try:
                    await asyncio.wait_for(self._closed.wait(), wait)
                except TimeoutError:
                    continue
                raise RuntimeError("type was closed")
        return [batch]

    async def close(self) -> None:
        self._closed.set()


register_processor(SPEC, RateLimitProcessor)
