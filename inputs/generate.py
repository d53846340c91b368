"""The ``generate`` input: messages made by a Bloblang mapping, on an interval or a cron schedule."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from inputs.run_ai.schedule import Schedule, ScheduleError
from pipeline import spec as s
from pipeline.durations import parse_duration_ns
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.resources import Resources

SPEC = s.ComponentSpec(
    "generate",
    "input",
    [
        s.bloblang("mapping", "Bloblang mapping whose result is the content of each new message."),
        s.string(
            "interval",
            "How often to produce messages: a duration string or a cron expression. An empty string means "
            "no pause at all, as fast as the rest of the pipeline takes them. A cron expression may start "
            "with `TZ=<location name>` to be read in that time zone.",
            default="1s",
        ),
        s.integer(
            "count",
            "Stop after producing this many messages, closing the input; 0 means no limit.",
            default=0,
        ),
        s.integer(
            "batch_size",
            "Messages produced per interval, sent together as one batch.",
            default=1,
        ),
        s.auto_replay_nacks_field(),
    ],
    summary="Creates messages on a timer from a Bloblang mapping that has no input message to read.",
    categories=("Utility",),
)


def _lint(conf: dict[str, Any]) -> list[str]:
    try:
        _parse_interval(conf["interval"])
    except ValueError as err:
        return [str(err)]
    if conf["batch_size"] < 1:
        return ["batch_size must be at least 1"]
    return []


SPEC.lint = _lint


def _parse_interval(interval: str) -> tuple[float | None, Any]:
    """(ticker seconds, cron schedule): a Go duration is a ticker; otherwise a cron with optional
    seconds, a descriptor or ``@every``; empty means as fast as possible."""
    if not interval:
        return None, None
    try:
        return parse_duration_ns(interval) / 1e9, None
    except ValueError:
        pass

    text = interval.strip()
    prefix = ""
    if text.startswith(("TZ=", "CRON_TZ=")):
        prefix, _, text = text.partition(" ")
        prefix += " "
        text = text.strip()
    if not text.startswith("@") and len(text.split()) == 5:
        text = "0 " + text  # seconds are optional for generate
    try:
        return None, Schedule(prefix + text)
    except ScheduleError as err:
        raise ValueError(
            f"failed to parse interval as duration string: {interval}, or as cron expression: {err}"
        ) from None


class GenerateInput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.mapping = res.mapping(conf["mapping"])
        self.ticker, self.schedule = _parse_interval(conf["interval"])
        self.count = conf["count"]
        self.batch_size = conf["batch_size"]
        self.remaining = self.count if self.count > 0 else None
        self.next_tick: float | None = None
        self.logger = res.logger

    async def connect(self) -> None:
        return None

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        if self.remaining is not None and self.remaining <= 0:
            raise EndOfInputError()
        await self._wait_for_tick()
        size = self.batch_size if self.remaining is None else min(self.batch_size, self.remaining)
        batch = []
        for index in range(size):
            msg = self.mapping.map_message(Message(b""), None, index)
            if msg is not None:
                batch.append(msg)
        if self.remaining is not None:
            self.remaining -= size
        return batch, _ack

    async def _wait_for_tick(self) -> None:
        if self.ticker is not None:
            now = time.monotonic()
            if self.next_tick is None:
                self.next_tick = now  # a ticker fires at once, then every interval
            elif self.next_tick > now:
                await asyncio.sleep(self.next_tick - now)
            self.next_tick = max(self.next_tick + self.ticker, time.monotonic() - self.ticker)
        elif self.schedule is not None:
            wall_now = datetime.now(UTC)
            tick = self.schedule.next_after(wall_now)
            await asyncio.sleep(max(0.0, (tick - wall_now).total_seconds()))

    async def close(self) -> None:
        return None


async def _ack(_: BaseException | None) -> None:
    return None


register_input(SPEC, lambda conf, res: (GenerateInput(conf, res), conf["auto_replay_nacks"]))
