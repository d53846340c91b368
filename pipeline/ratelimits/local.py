"""The ``local`` rate limit: at most ``count`` accesses per ``interval``, shared by every component
of this process that names it (``rate_limit: <label>`` on ``http_client``, ``http_server``...)."""

from __future__ import annotations

import time
from typing import Any

from pipeline import spec as s
from pipeline.plugin import register_rate_limit
from pipeline.resources import Resources

SPEC = s.ComponentSpec(
    "local",
    "rate_limit",
    [
        s.integer(
            "count",
            "Requests allowed per `interval`.",
            default=1000,
            check=lambda v: None if v > 0 else "count must be larger than zero",
        ),
        s.duration("interval", "Length of the window `count` applies to.", default="1s"),
        s.integer(
            "byte_size",
            "Bytes allowed per `interval`; 0 means no byte limit.",
            default=0,
            advanced=True,
        ),
    ],
    summary="Allows `count` requests per `interval`, shared by every component of the process that names it.",
    lint=lambda conf: (
        (
            ["byte_size limits are not supported by benthic's local rate limit; use count"]
            if conf["byte_size"]
            else []
        )
        + (["interval must be larger than zero"] if not conf["interval"] or conf["interval"] <= 0 else [])
    ),
)


class LocalRateLimit:
    """A fixed window, as upstream's: ``count`` accesses, then wait until the window ends."""

    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.count: int = conf["count"]
        self.interval: float = conf["interval"]
        self.window_start = time.monotonic()
        self.used = 0
        self._accesses = res.metrics.counter("rate_limit_checked")
        self._limited = res.metrics.counter("rate_limit_triggered")

    async def access(self) -> float:
        self._accesses.incr()
        now = time.monotonic()
        if now - self.window_start >= self.interval:
            self.window_start = now
            self.used = 0
        if self.used < self.count:
            self.used += 1
            return 0.0
        self._limited.incr()
        return self.window_start + self.interval - now

    async def close(self) -> None:
        return None


register_rate_limit(SPEC, lambda conf, res: LocalRateLimit(conf, res))
