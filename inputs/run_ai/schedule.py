"""When the ``run_ai`` input scrapes, and which time window each scrape covers.

A schedule is a 6-field cron with seconds first (``*/30 * * * * *``), a descriptor (``@hourly``)
or ``@every <Go duration>``, optionally prefixed with ``CRON_TZ=<zone>``/``TZ=<zone>``, as
upstream's robfig/cron parser reads it. The scrape interval is derived once, at startup, from the
gap between the next two occurrences (upstream does the same); each tick at scheduled time *t*
covers the window ``[t - interval - offset, t - offset]``.

Ticks are the *scheduled* instants, not the moment a timer happened to fire, so that two replicas
(or a restart) compute the same windows. ``@every X`` ticks are aligned to multiples of X since the
Unix epoch for the same reason (upstream anchors them at process start).

``WindowQueue`` holds scraped windows until the pipeline acknowledges them: windows are handed out
in time order, a nacked window goes back ahead of newer ones, and the end of the newest window
below which everything was acknowledged is persisted to ``state_path`` when one is configured.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from pipeline.durations import format_duration_ns, parse_duration_ns

_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# robfig/cron's descriptors, written as the 6-field crons they stand for.
DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_TZ_PREFIX = re.compile(r"^(?:CRON_TZ|TZ)=(\S+)\s+")


class ScheduleError(ValueError):
    """A schedule expression that cannot be used."""


class Schedule:
    """A parsed schedule: ``next_after(t)`` gives the first tick strictly after ``t``."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        text = expression.strip()
        self.zone: tzinfo = UTC
        match = _TZ_PREFIX.match(text)
        if match:
            try:
                self.zone = ZoneInfo(match.group(1))
            except (ZoneInfoNotFoundError, ValueError):
                raise ScheduleError(f"provided bad location {match.group(1)}") from None
            text = text[match.end() :].strip()
        self.every_ns: int | None = None
        self.cron: str | None = None
        if text.startswith("@every"):
            arg = text[len("@every") :].strip()
            try:
                every = parse_duration_ns(arg)
            except ValueError as err:
                raise ScheduleError(f"failed to parse duration {arg}: {err}") from None
            # robfig: below one second becomes one second, sub-second parts are dropped
            self.every_ns = max(_NS, every - every % _NS)
        elif text.startswith("@"):
            cron = DESCRIPTORS.get(text)
            if cron is None:
                raise ScheduleError(f"unrecognized descriptor: {text}")
            self.cron = cron
        else:
            fields = text.split()
            if len(fields) != 6:
                hint = ""
                if len(fields) == 5:
                    hint = (
                        f"; this looks like a 5-field crontab: run_ai schedules take seconds first, "
                        f"e.g. '0 {text}' to fire at second 0, or use '@every <duration>'"
                    )
                raise ScheduleError(f"expected exactly 6 fields, found {len(fields)}: [{text}]{hint}")
            if not croniter.is_valid(text, second_at_beginning=True):
                raise ScheduleError(f"invalid cron expression: {text}")
            self.cron = text

    def next_after(self, when: datetime) -> datetime:
        """The first scheduled tick strictly after ``when`` (UTC)."""
        if self.every_ns is not None:
            since = _ns_between(_EPOCH, when)
            return _EPOCH + timedelta(microseconds=((since // self.every_ns) + 1) * self.every_ns // 1000)
        assert self.cron is not None
        local = when.astimezone(self.zone)
        itr = croniter(self.cron, local, second_at_beginning=True)
        return itr.get_next(datetime).astimezone(UTC)

    def interval_ns(self, now: datetime) -> int:
        """The gap between the next two ticks after ``now``: upstream's scrape interval."""
        if self.every_ns is not None:
            return self.every_ns
        first = self.next_after(now)
        return _ns_between(first, self.next_after(first))


def schedule_problem(expression: str) -> str | None:
    """The lint message for a schedule that cannot be used, or None."""
    try:
        Schedule(expression)
    except ScheduleError as err:
        return f"schedule: {err}"
    return None


def _ns_between(a: datetime, b: datetime) -> int:
    delta = b - a
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


# -- windows ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The period one scrape asks Run:ai about, and the tick that produced it."""

    tick: datetime
    interval_ns: int
    offset_ns: int

    @property
    def end(self) -> datetime:
        return self.tick - timedelta(microseconds=self.offset_ns // 1000)

    @property
    def start(self) -> datetime:
        return self.end - timedelta(microseconds=self.interval_ns // 1000)

    def metadata(self, resource_type: str) -> dict[str, str]:
        """The five metadata strings upstream attaches to every message of the window."""
        return {
            "scrape_time": rfc3339_seconds(self.tick),
            "scrape_interval": format_duration_ns(self.interval_ns),
            "metrics_offset": format_duration_ns(self.offset_ns),
            "resource_type": resource_type,
            "metrics_time": rfc3339_seconds(self.end),
        }

    def __str__(self) -> str:
        return f"[{rfc3339_seconds(self.start)}, {rfc3339_seconds(self.end)}]"


def rfc3339_seconds(when: datetime) -> str:
    """Go's ``time.RFC3339`` of a UTC time: whole seconds, truncated, ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(when: datetime) -> str:
    """Go's ``time.RFC3339Nano`` of a UTC time: the fraction with trailing zeros trimmed."""
    utc = when.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += ("." + f"{utc.microsecond:06d}").rstrip("0")
    return text + "Z"


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# -- delivery bookkeeping -------------------------------------------------------------------------------


@dataclass
class ScrapedWindow:
    """A scraped window: its messages' bodies (serialised once, so a redelivery sends the same
    bytes) and the metadata they share."""

    window: Window
    bodies: list[bytes]
    metadata: dict[str, str]
    deliveries: int = 0
    acked: bool = field(default=False)


class WindowQueue:
    """Scraped windows waiting for, or in, delivery.

    ``get()`` waits for the oldest ready window; ``ack(w, err)`` either settles it or puts it back
    ahead of newer ones. The watermark is the end of the newest window such that every window up
    to it was delivered; it is what ``state_path`` keeps across restarts.
    """

    def __init__(self, state_path: str | None, on_state_error: Callable[[str], None] | None = None) -> None:
        self.state_path = state_path or None
        self._on_state_error = on_state_error
        self._ready: list[ScrapedWindow] = []
        self._in_flight: list[ScrapedWindow] = []
        self._settled_ends: list[datetime] = []
        self._changed = asyncio.Condition()
        self._closed = False
        self.watermark: datetime | None = None

    # -- state file ---------------------------------------------------------------------------

    def load_state(self) -> datetime | None:
        """The persisted watermark, if there is a readable state file."""
        if not self.state_path or not os.path.exists(self.state_path):
            return None
        with open(self.state_path, encoding="utf-8") as fh:
            state: dict[str, Any] = json.load(fh)
        end = state.get("last_acked_window_end")
        self.watermark = parse_rfc3339(end) if end else None
        return self.watermark

    def _save_state(self) -> None:
        if not self.state_path or self.watermark is None:
            return
        tmp = f"{self.state_path}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"last_acked_window_end": rfc3339_nano(self.watermark)}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_path)
        except OSError as err:
            if self._on_state_error is not None:
                self._on_state_error(f"failed to write state file {self.state_path}: {err}")

    # -- windows --------------------------------------------------------------------------------

    @property
    def undelivered(self) -> int:
        return len(self._ready) + len(self._in_flight)

    async def put(self, scraped: ScrapedWindow) -> None:
        async with self._changed:
            if not scraped.bodies:
                # nothing to deliver: the window counts as delivered right away
                self._settle(scraped)
            else:
                self._ready.append(scraped)
                self._ready.sort(key=lambda s: s.window.tick)
            self._changed.notify_all()

    async def get(self) -> ScrapedWindow | None:
        """The oldest ready window, waiting for one; None once closed."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._closed or bool(self._ready))
            if self._closed:
                return None
            scraped = self._ready.pop(0)
            scraped.deliveries += 1
            self._in_flight.append(scraped)
            return scraped

    async def ack(self, scraped: ScrapedWindow, err: BaseException | None) -> None:
        async with self._changed:
            if scraped not in self._in_flight:
                return
            self._in_flight.remove(scraped)
            if err is None:
                self._settle(scraped)
            else:
                self._ready.append(scraped)
                self._ready.sort(key=lambda s: s.window.tick)
            self._changed.notify_all()

    async def wait_for_room(self, limit: int) -> None:
        """Wait until fewer than ``limit`` windows are undelivered (back pressure on scraping)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._closed or self.undelivered < limit)

    def _settle(self, scraped: ScrapedWindow) -> None:
        scraped.acked = True
        self._settled_ends.append(scraped.window.end)
        pending = [s.window.end for s in (*self._ready, *self._in_flight)]
        oldest_pending = min(pending) if pending else None
        below = [e for e in self._settled_ends if oldest_pending is None or e < oldest_pending]
        if not below:
            return
        newest = max(below)
        self._settled_ends = [e for e in self._settled_ends if e > newest]
        if self.watermark is None or newest > self.watermark:
            self.watermark = newest
            self._save_state()

    async def restart_at(self, watermark: datetime | None) -> None:
        """Forget every window, ready or in delivery (a late ack of one is ignored), and go on
        from ``watermark``: another leader may have delivered them, and the new term re-scrapes
        what the checkpoint does not cover."""
        async with self._changed:
            self._ready.clear()
            self._in_flight.clear()
            self._settled_ends.clear()
            self.watermark = watermark
            self._changed.notify_all()

    async def close(self) -> None:
        async with self._changed:
            self._closed = True
            self._changed.notify_all()


async def sleep_until(when: datetime) -> None:
    """Sleep until a UTC instant; re-checks the clock so a long sleep does not drift early."""
    while True:
        remaining = (when - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            return
        await asyncio.sleep(min(remaining, 60.0))
