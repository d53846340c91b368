"""The ``redis`` rate limit: ``count`` accesses per ``interval``, shared by every process whose
rate limit names the same Redis ``key``.

As upstream (``internal/impl/redis/rate_limit.go``): one script increments the key's counter,
starts the key's expiry (``interval``) on the first access of a window, and answers 0 (go ahead)
or, past ``count``, the milliseconds left in the window. Every process sharing the key must use
the same ``count`` and ``interval``.

Where we differ: errors name the URL with its password masked.
"""

from __future__ import annotations

from typing import Any

from pipeline import redis_conn
from pipeline import spec as s
from pipeline.plugin import register_rate_limit

# counts one access in the key's window; answers 0, or the window's remaining milliseconds
ACCESS_SCRIPT = """
local used = redis.call("INCR", KEYS[1])
if used == 1 then
    redis.call("PEXPIRE", KEYS[1], tonumber(ARGV[2]))
end
if used > tonumber(ARGV[1]) then
    return redis.call("PTTL", KEYS[1])
end
return 0
"""

SPEC = s.ComponentSpec(
    "redis",
    "rate_limit",
    summary="A rate limit kept in Redis, so that every benthic process using the same key shares it: at most "
    "count accesses per interval.",
    description="Every process sharing the key must be configured with the same count and interval.",
    categories=("Services",),
    requires=redis_conn.REQUIRES,
    fields=[
        *redis_conn.client_fields(),
        s.integer(
            "count",
            "How many messages the whole group of clients may take per interval.",
            default=1000,
            check=lambda v: None if v > 0 else "count must be larger than zero",
        ),
        s.duration("interval", "The length of one counting window.", default="1s"),
        s.string("key", "The Redis key holding the rate limit's counter."),
    ],
    lint=lambda conf: (
        redis_conn.client_problems(conf)
        + ([] if conf["interval"] and conf["interval"] > 0 else ["interval must be larger than zero"])
    ),
)


class RedisRateLimit:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.client = redis_conn.make_client(conf)
        self.script = self.client.register_script(ACCESS_SCRIPT)
        self.count = conf["count"]
        self.interval_ms = max(1, int(conf["interval"] * 1000))

    async def access(self) -> float:
        try:
            wait_ms = await self.script(keys=[self.conf["key"]], args=[self.count, self.interval_ms])
        except Exception as err:
            raise RuntimeError(f"accessing redis rate limit: {redis_conn.error_text(err)}") from None
        return max(0, int(wait_ms)) / 1000.0

    async def close(self) -> None:
        await self.client.aclose()


register_rate_limit(SPEC, lambda conf, res: RedisRateLimit(conf, res))
