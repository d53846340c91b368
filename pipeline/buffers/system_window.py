"""The ``system_window`` buffer: messages grouped into time windows that close by the system clock.

As upstream (``buffer_system_window.go`` in benthos): each message gets a timestamp from
``timestamp_mapping`` (by default ``now()``, the time it arrived); windows of ``size`` follow one
another (tumbling) or start every ``slide`` (sliding, so a message can be in several). Windows are
aligned on multiples of their step counted from Go's zero time (so on the UTC day for steps that
divide a day), shifted by ``offset``; a window covers the half-open span (start, end]. Once the
clock passes a window's end plus ``allowed_lateness`` its messages leave the buffer as one batch,
each carrying the metadata ``window_end_timestamp`` (the end, RFC 3339 with nanoseconds).

Acknowledgements, as upstream:

- an input batch is acknowledged once every message of it that went into a window has been
  acknowledged by the output (the first delivery of a message counts; its later deliveries in
  other sliding windows are a best effort);
- messages that fall in no window still to be flushed (older than the last flushed window, or
  pushed out while the output was too slow to take the last two windows) are dropped, which
  acknowledges them;
- a batch whose timestamp mapping fails is nacked as a whole;
- when the input ends (or a graceful shutdown stops it), messages still waiting for their window
  are nacked, so an input that keeps its position reads them again on the next start. Across a
  crash nothing is kept: this buffer is not durable.

Where we differ: dropping is logged as a warning (upstream drops without a word), and when the
input ends while a finished window is already due it is flushed first (upstream picks either at
random). The clock and the sleep are injectable so that tests need not wait for real windows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from mapping_lang import DELETED, NOTHING
from mapping_lang.durations import format_duration_ns, parse_duration_ns
from mapping_lang.libutil import from_unix_nanos, to_timestamp, unix_nanos
from mapping_lang.value import format_timestamp, parse_json
from pipeline import spec as s
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_buffer
from pipeline.resources import Resources

SPEC = s.ComponentSpec(
    "system_window",
    "buffer",
    [
        s.bloblang(
            "timestamp_mapping",
            "A Bloblang mapping run on each arriving message whose `root` is the time that places "
            "it in a window: a Unix time in seconds (a fraction gives sub-second precision) or an "
            "RFC 3339 string. The default, `now()`, windows by arrival time; reading a field of the "
            "message windows by event time. A batch whose mapping fails is nacked.",
            default="root = now()",
            examples=("root = this.created_at", 'root = meta("kafka_timestamp_unix").number()'),
        ),
        s.string(
            "size",
            "How long each window lasts, as a duration. Windows line up with the UTC clock (an "
            "hour-long window runs from one full hour to the next) unless `offset` shifts them.",
            examples=("30s", "10m"),
        ),
        s.string(
            "slide",
            "When set, a new window opens this often (a duration shorter than `size`), so windows "
            "overlap and a message can belong to several of them. Empty means tumbling windows.",
            default="",
            examples=("30s", "10m"),
        ),
        s.string(
            "offset",
            "A duration that moves window boundaries away from their UTC alignment; it must be "
            "shorter than `size` (and than `slide` when that is set).",
            default="",
            examples=("-6h", "30m"),
        ),
        s.string(
            "allowed_lateness",
            "How long after its end a window waits before it is flushed, so that messages whose "
            "event time is a little behind the clock still make it in. Shorter than `size`.",
            default="",
            examples=("10s", "1m"),
        ),
    ],
    summary="Groups messages into tumbling or sliding windows of a fixed length and emits each "
    "window as a batch once the system clock has passed its end.",
    description="Each emitted message carries `window_end_timestamp` metadata. Messages are kept in "
    "memory: those of an unfinished window are nacked when the input ends, and dropped (after "
    "being acknowledged) when the output falls more than two windows behind.",
    status="beta",
    categories=("Windowing",),
    examples=[
        (
            "Requests per client per minute",
            """buffer:
  system_window:
    timestamp_mapping: root = this.at
    size: 1m
pipeline:
  processors:
    - group_by_value:
        value: '${! json("client") }'
    - mapping: |
        root = if batch_index() == 0 {
          {"client": this.client, "minute_ending": meta("window_end_timestamp"), "requests": batch_size()}
        } else { deleted() }
""",
        )
    ],
)

# Go's zero time (0001-01-01T00:00:00Z) in Unix nanoseconds: windows are aligned as Go's
# ``Time.Round`` aligns, on multiples of the step counted from it.
_GO_ZERO_UNIX_NS = -62_135_596_800 * 1_000_000_000


@dataclass(frozen=True)
class WindowSettings:
    size: int  # every duration in nanoseconds
    slide: int
    offset: int
    allowed_lateness: int


def _duration_field(conf: dict[str, Any], name: str, required: bool) -> int:
    text = conf.get(name) or ""
    if not required and text == "":
        return 0
    try:
        return parse_duration_ns(text)
    except ValueError as err:
        raise ValueError(f"failed to parse field '{name}' as duration: {err}") from None


def window_settings(conf: dict[str, Any]) -> WindowSettings:
    """The durations of a config, checked against each other with upstream's messages."""
    size = _duration_field(conf, "size", True)
    slide = _duration_field(conf, "slide", False)
    show = format_duration_ns
    if slide >= size:
        raise ValueError(f"invalid window slide '{show(slide)}' must be lower than the size '{show(size)}'")
    offset = _duration_field(conf, "offset", False)
    if offset >= size:
        raise ValueError(f"invalid offset '{show(offset)}' must be lower than the size '{show(size)}'")
    if slide > 0 and offset >= slide:
        raise ValueError(f"invalid offset '{show(offset)}' must be lower than the slide '{show(slide)}'")
    lateness = _duration_field(conf, "allowed_lateness", False)
    if lateness >= size:
        raise ValueError(
            f"invalid allowed_lateness '{show(lateness)}' must be lower than the size '{show(size)}'"
        )
    return WindowSettings(size, slide, offset, lateness)


def _lint(conf: dict[str, Any]) -> list[str]:
    if not conf.get("size"):
        return []  # the schema reports a missing size
    try:
        window_settings(conf)
    except ValueError as err:
        return [str(err)]
    return []


SPEC.lint = _lint


def _round_like_go(unix_ns: int, step: int) -> int:
    """Go's ``Time.Round(step)``: the nearest multiple of ``step`` since Go's zero time (halves
    round up)."""
    remainder = (unix_ns - _GO_ZERO_UNIX_NS) % step
    if remainder + remainder < step:
        return unix_ns - remainder
    return unix_ns + step - remainder


def format_window_end(unix_ns: int) -> str:
    return format_timestamp(from_unix_nanos(unix_ns, UTC))


class _CombinedAck:
    """Acknowledges an input batch once every message of it taken into a window is acknowledged
    (with the last error any of them had); each message's acknowledgement counts once."""

    def __init__(self, ack: AckFn) -> None:
        self.ack = ack
        self.remaining = 0
        self.error: BaseException | None = None

    def derive(self) -> AckFn:
        self.remaining += 1
        done = False

        async def ack_one(err: BaseException | None) -> None:
            nonlocal done
            if done:
                return
            done = True
            self.remaining -= 1
            if err is not None:
                self.error = err
            if self.remaining == 0:
                await self.ack(self.error)

        return ack_one


def _once(ack: AckFn) -> AckFn:
    called = False

    async def ack_once(err: BaseException | None) -> None:
        nonlocal called
        if not called:
            called = True
            await ack(err)

    return ack_once


@dataclass
class _Pending:
    ts: int
    msg: Message
    ack: AckFn


class WindowClosedError(Exception):
    """The nack of messages whose window had not ended when the input did."""


class SystemWindowBuffer:
    def __init__(
        self,
        conf: dict[str, Any],
        res: Resources,
        *,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.settings = window_settings(conf)
        self.mapping = res.mapping(conf["timestamp_mapping"])
        self.logger = res.logger
        self.clock = clock
        self.sleep = sleep
        self.latest_flushed_end = _GO_ZERO_UNIX_NS
        self.oldest_ts = clock()
        self.pending: list[_Pending] = []
        self.ended = asyncio.Event()

    async def connect(self) -> None:
        return None

    def _windows(self) -> tuple[int, int, int, int]:
        """(previous start, previous end, start, end) of the next window to flush: the oldest one
        that holds the present instant."""
        now = self.clock()
        w = self.settings
        step = w.slide if w.slide > 0 else w.size
        # the start is one nanosecond after a boundary: windows are (boundary, boundary + size]
        start = _round_like_go(now, step) + 1 + w.offset
        if start > now:
            start -= step
        if w.slide > 0:
            start += w.slide - w.size
        end = start + w.size - 1
        return start - step, end - step, start, end

    def _timestamp(self, batch: list[Message], index: int) -> int:
        value = self.mapping.query(batch[index], batch, index)
        if value is DELETED:
            raise ValueError("timestamp mapping failed: the mapping deleted the message")
        if value is NOTHING:
            value = batch[index].content
        if isinstance(value, (str, bytes)):
            # the result is read as a document first, as upstream reads a mapped message
            try:
                value = parse_json(value)
            except ValueError as err:
                if not value:
                    raise ValueError(
                        f"unable to parse result of timestamp mapping as structured value: {err}"
                    ) from None
                value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        try:
            return unix_nanos(to_timestamp(value))
        except Exception as err:
            raise ValueError(f"unable to parse result of timestamp mapping as timestamp: {err}") from None

    async def write(self, batch: list[Message], ack: AckFn) -> None:
        ack = _once(ack)
        prev_start = self._windows()[0]
        if self.latest_flushed_end < prev_start and self.oldest_ts < prev_start:
            # the output has not taken the last two windows: make room by dropping what is older
            await self._drop_older_than(prev_start)
        combined = _CombinedAck(ack)
        added = skipped = 0
        for index, msg in enumerate(batch):
            try:
                ts = self._timestamp(batch, index)
            except Exception as err:
                self.logger.error(f"Timestamp mapping failed for message: {err}")
                await ack(err)
                return
            if ts <= self.latest_flushed_end:
                skipped += 1  # its window has been flushed already
                continue
            added += 1
            self.pending.append(_Pending(ts, msg, combined.derive()))
            self.oldest_ts = min(self.oldest_ts, ts)
        if skipped:
            self.logger.warn(
                f"Dropped {skipped} message(s) whose window has already been flushed "
                f"(their timestamps are at or before {format_window_end(self.latest_flushed_end)})"
            )
        if not added:
            await ack(None)

    async def _drop_older_than(self, limit: int) -> None:
        kept: list[_Pending] = []
        dropped: list[_Pending] = []
        oldest = self.clock()
        for pending in self.pending:
            if pending.ts < limit:
                dropped.append(pending)
                continue
            kept.append(pending)
            oldest = min(oldest, pending.ts)
        self.pending = kept
        self.oldest_ts = oldest
        if dropped:
            self.logger.warn(
                f"Dropped {len(dropped)} message(s) too old for the last two windows: "
                "the output is not keeping up"
            )
        for pending in dropped:
            await pending.ack(None)

    async def _flush(self, start: int, end: int) -> tuple[list[Message], AckFn]:
        w = self.settings
        next_start = start + (w.slide if w.slide > 0 else w.size)
        end_text = format_window_end(end)
        flushed: list[Message] = []
        acks: list[AckFn] = []
        kept: list[_Pending] = []
        dropped: list[_Pending] = []
        oldest = self.clock()
        for pending in self.pending:
            in_window = start <= pending.ts <= end
            later = pending.ts >= next_start
            if in_window:
                flushed.append(pending.msg.copy({**pending.msg.metadata, "window_end_timestamp": end_text}))
                acks.append(pending.ack)
            if later:
                kept.append(pending)
                oldest = min(oldest, pending.ts)
            elif not in_window:
                dropped.append(pending)
        self.pending = kept
        self.latest_flushed_end = end
        self.oldest_ts = oldest
        if dropped:
            self.logger.warn(f"Dropped {len(dropped)} message(s) older than any window still to be flushed")
        for pending in dropped:
            await pending.ack(None)

        async def ack(err: BaseException | None) -> None:
            for ack_one in acks:
                await ack_one(err)

        return flushed, ack

    async def read(self) -> tuple[list[Message], AckFn]:
        prev_start, prev_end, _, _ = self._windows()
        if self.latest_flushed_end < prev_start:
            # not read since the previous window ended: flush that one first
            batch, ack = await self._flush(prev_start, prev_end)
            if batch:
                return batch, ack
        while True:
            start, end = self._next_window()
            wait_ns = end - self.clock() + self.settings.allowed_lateness
            if wait_ns > 0 and await self._sleep_unless_ended(wait_ns / 1e9):
                await self._nack_unfinished()
                raise EndOfInputError()
            batch, ack = await self._flush(start, end)
            if batch:
                return batch, ack

    def _next_window(self) -> tuple[int, int]:
        """The window to flush next: the oldest holding the present instant, or the one after
        the window last flushed when the clock is still on that window's very end."""
        _, _, start, end = self._windows()
        step = self.settings.slide if self.settings.slide > 0 else self.settings.size
        while end <= self.latest_flushed_end:
            start, end = start + step, end + step
        return start, end

    async def _sleep_unless_ended(self, seconds: float) -> bool:
        """Sleep for ``seconds``; True if the input ended first."""
        if self.ended.is_set():
            return True
        sleeper = asyncio.ensure_future(self.sleep(seconds))
        ender = asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait({sleeper, ender}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            ender.cancel()
        return self.ended.is_set() and not (sleeper.done() and not sleeper.cancelled())

    async def _nack_unfinished(self) -> None:
        pending, self.pending = self.pending, []
        if pending:
            self.logger.info(
                f"Input ended: nacking {len(pending)} message(s) whose window had not ended, "
                "to be read again on the next start"
            )
        error = WindowClosedError("message rejected as window did not complete")
        for item in pending:
            await item.ack(error)

    async def end_of_input(self) -> None:
        self.ended.set()

    async def close(self) -> None:
        return None


register_buffer(SPEC, lambda conf, res: SystemWindowBuffer(conf, res))
