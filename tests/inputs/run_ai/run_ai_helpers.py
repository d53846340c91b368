"""Helpers shared by the run_ai tests (a module with a unique name, so that it never collides
with another directory's ``conftest``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inputs.run_ai.schedule import Window


def window_ending(end: datetime, interval_s: int = 30, offset_s: int = 0) -> Window:
    """The window whose end is ``end`` (what a tick at ``end + offset`` scrapes)."""
    return Window(end + timedelta(seconds=offset_s), interval_s * 1_000_000_000, offset_s * 1_000_000_000)


def a_past_window(offset_s: int = 0) -> Window:
    now = datetime.now(UTC).replace(microsecond=0)
    return window_ending(now.replace(second=0), 30, offset_s)
