"""The ``benchmark`` processor: count the messages (and their bytes) passing through and log the
throughput, leaving the messages as they were.

As upstream: every ``interval`` an INFO line ``rolling stats: N msg/sec, S/sec`` reports the
window just ended, and closing the processor logs ``total stats: ...`` over its whole life. The
rates go on the line as the ``msg/sec`` and ``bytes/sec`` fields, and the text shows them as
go-humanize does (messages with up to six decimals and no trailing zeros, bytes in SI units such
as ``25 B`` or ``1.2 kB``). With ``count_bytes: false`` nothing is serialised and the byte rate is
left out. An ``interval`` of 0 logs the total only. The gauges
``benchmark_messages_per_second`` and ``benchmark_bytes_per_second`` and the counters
``benchmark_messages_total`` and ``benchmark_bytes_total`` are kept as upstream keeps them.

Where we differ: the rolling timer starts when the pipeline first hands the processor a batch
(the constructor may run before the event loop does); upstream's starts when it is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, boolean, duration

SPEC = ComponentSpec(
    "benchmark",
    "processor",
    summary="Logs how many messages (and bytes) per second pass through it, and passes them on untouched.",
    description=(
        "A line is logged at INFO level every `interval` for the period just ended, and one more when "
        "the processor shuts down for its whole lifetime. The same rates are exported as the "
        "`benchmark_messages_per_second` and `benchmark_bytes_per_second` gauges, and the counts as "
        "the `benchmark_messages_total` and `benchmark_bytes_total` counters."
    ),
    categories=("Utility",),
    fields=[
        duration(
            "interval",
            "Period of the rolling statistics lines. With 0 only the lifetime summary is logged, at shutdown.",
            default="5s",
        ),
        boolean(
            "count_bytes",
            "Whether to measure bytes per second as well. A structured message has to be serialised "
            "to be measured, which costs time when nothing else in the pipeline needs its bytes.",
            default=True,
        ),
    ],
)

_SI_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def humanize_ftoa(value: float) -> str:
    """go-humanize's ``Ftoa``: six decimals, then trailing zeros (and a bare point) dropped."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = f"{value:.6f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def humanize_bytes(count: int) -> str:
    """go-humanize's ``Bytes``: SI units of 1000, one decimal below 10 of a unit."""
    if count < 10:
        return f"{count} B"
    exponent = min(int(math.floor(math.log(count) / math.log(1000))), len(_SI_UNITS) - 1)
    value = math.floor(count / 1000**exponent * 10 + 0.5) / 10
    return f"{value:.1f} {_SI_UNITS[exponent]}" if value < 10 else f"{value:.0f} {_SI_UNITS[exponent]}"


def _go_uint64(value: float) -> int:
    # Go's uint64(float64) conversion of a rate: NaN and negatives are not expected here
    if not math.isfinite(value) or value < 0:
        return 0
    return min(int(value), 2**64 - 1)


class Benchmark:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.interval: float = conf["interval"] or 0.0
        self.count_bytes: bool = conf["count_bytes"]
        self.logger = res.logger
        self.started = time.monotonic()
        self.rolling = [0.0, 0.0]  # messages, bytes since the last rolling line
        self.total = [0.0, 0.0]
        self.closed = False
        self._ticker: asyncio.Task[None] | None = None
        self.m_msg_per_sec = res.metrics.gauge("benchmark_messages_per_second")
        self.m_total_msgs = res.metrics.counter("benchmark_messages_total")
        self.m_bytes_per_sec = res.metrics.gauge("benchmark_bytes_per_second")
        self.m_total_bytes = res.metrics.counter("benchmark_bytes_total")

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if self._ticker is None and self.interval > 0 and not self.closed:
            self._ticker = asyncio.create_task(self._tick())
        for msg in batch:
            size = float(len(msg.content)) if self.count_bytes else 0.0
            self.rolling[0] += 1
            self.total[0] += 1
            self.rolling[1] += size
            self.total[1] += size
            self.m_total_msgs.incr(1)
            self.m_total_bytes.incr(size)
        return [batch]

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            window, self.rolling = self.rolling, [0.0, 0.0]
            self._report("rolling", window, self.interval)

    def _report(self, window: str, counts: list[float], seconds: float) -> None:
        msgs_per_sec = _divide(counts[0], seconds)
        bytes_per_sec = _divide(counts[1], seconds)
        self.m_msg_per_sec.set(msgs_per_sec)
        self.m_bytes_per_sec.set(bytes_per_sec)
        if self.count_bytes:
            self.logger.info(
                f"{window} stats: {humanize_ftoa(msgs_per_sec)} msg/sec, "
                f"{humanize_bytes(_go_uint64(bytes_per_sec))}/sec",
                **{"msg/sec": msgs_per_sec, "bytes/sec": bytes_per_sec},
            )
        else:
            self.logger.info(
                f"{window} stats: {humanize_ftoa(msgs_per_sec)} msg/sec", **{"msg/sec": msgs_per_sec}
            )

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        self._report("total", self.total, time.monotonic() - self.started)


def _divide(count: float, seconds: float) -> float:
    """Go's float division: by zero it is an infinity (or NaN for 0/0)."""
    if seconds == 0:
        return math.nan if count == 0 else math.inf
    return count / seconds


register_processor(SPEC, Benchmark)
