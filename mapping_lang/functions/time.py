"""Environment functions reading the clock: ``now`` and ``timestamp_unix*``."""

from __future__ import annotations

import time as _time
from typing import Any

from mapping_lang import context as _context
from mapping_lang.golayout import format_rfc3339_nano
from mapping_lang.library import function
from mapping_lang.libutil import nanos_of, to_local, unix_nanos

CATEGORY = "Environment"

# the UTC date-time text of the last second `now()` formatted (seconds since the epoch, text)
_last_second: tuple[int, str] = (-1, "")


def _now_nanos(ctx: Any) -> int:
    if _context.clock is _context._default_clock:
        return _time.time_ns()
    return unix_nanos(ctx.now())


@function("now", category=CATEGORY, impure=True,
          description="The current local time as an RFC 3339 string with nanoseconds.")  # fmt: skip
def now(ctx: Any) -> Any:
    global _last_second
    if _context.clock is _context._default_clock and _context._LOCAL_IS_UTC:
        # the common case, straight from the nanosecond clock: RFC 3339 with the fraction's
        # trailing zeros trimmed, as Go's RFC3339Nano layout writes it
        ns = _time.time_ns()
        seconds, fraction = divmod(ns, 1_000_000_000)
        last = _last_second
        if last[0] == seconds:
            base = last[1]
        else:
            base = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(seconds))
            _last_second = (seconds, base)  # one tuple: threads always see a consistent pair
        if fraction:
            return f"{base}.{fraction:09d}".rstrip("0") + "Z"
        return base + "Z"
    current = to_local(ctx.now())
    return format_rfc3339_nano(current, nanos_of(current))


def _unix_function(name: str, divisor: int) -> None:
    def impl(ctx: Any) -> Any:
        return _now_nanos(ctx) // divisor

    function(name, category=CATEGORY, impure=True, description=f"The current Unix time ({name}).")(impl)


_unix_function("timestamp_unix", 1_000_000_000)
_unix_function("timestamp_unix_milli", 1_000_000)
_unix_function("timestamp_unix_micro", 1_000)
_unix_function("timestamp_unix_nano", 1)
