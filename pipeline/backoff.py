"""Exponential backoff as upstream's retrying components use it (Go's ``cenkalti/backoff``): the one
implementation behind the engine's reconnect and delivery retries, ``broker``/``switch`` children
and the ``retry`` processor and output.

Each wait is the current interval randomised by ±50%; the interval then grows by 1.5 up to
``max_interval``. Once ``max_elapsed_time`` (when above zero) has passed since the first
attempt, or ``max_retries`` (when above zero) waits were handed out, ``next()`` returns ``None``:
give up. The config shape comes from ``backoff_field`` (the ``retry`` processor's ``backoff``).
"""

from __future__ import annotations

import random
import time

from pipeline.spec import Field, duration, obj


class ExponentialBackoff:
    def __init__(
        self,
        initial_interval: float,
        max_interval: float,
        max_elapsed_time: float,
        *,
        max_retries: int = 0,
        multiplier: float = 1.5,
        randomization: float = 0.5,
    ) -> None:
        self.initial_interval = initial_interval
        self.max_interval = max_interval
        self.max_elapsed_time = max_elapsed_time
        self.max_retries = max_retries
        self.multiplier = multiplier
        self.randomization = randomization
        self.reset()

    def reset(self) -> None:
        self._current = self.initial_interval
        self._started = time.monotonic()
        self._handed_out = 0

    def next(self) -> float | None:
        """The next wait in seconds, or None once the retries are used up."""
        if self.max_retries > 0 and self._handed_out >= self.max_retries:
            return None
        if self.max_elapsed_time > 0 and time.monotonic() - self._started > self.max_elapsed_time:
            return None
        delta = self.randomization * self._current
        wait = random.uniform(self._current - delta, self._current + delta)
        self._current = min(self._current * self.multiplier, self.max_interval)
        self._handed_out += 1
        return wait


class Backoff(ExponentialBackoff):
    """The engine's form: it never gives up (no elapsed-time or retry limit), so ``next()`` is
    always a wait."""

    def __init__(self, initial: float = 0.1, maximum: float = 1.0, multiplier: float = 1.5) -> None:
        super().__init__(initial, maximum, 0, multiplier=multiplier)

    def next(self) -> float:
        wait = super().next()
        assert wait is not None  # unbounded by construction
        return wait


def backoff_field(
    name: str = "backoff",
    *,
    initial: str = "500ms",
    maximum: str = "10s",
    max_elapsed: str = "1m",
    allow_unbounded: bool = True,
    **kw: object,
) -> Field:
    """The ``backoff`` object field: ``initial_interval``, ``max_interval``, ``max_elapsed_time``."""
    elapsed_doc = "How long retrying may go on in total before the attempt is given up."
    if allow_unbounded:
        elapsed_doc += " A zero duration (`0s`) retries without a time limit."
    return obj(
        name,
        [
            duration("initial_interval", "Wait before the first retry.", default=initial),
            duration("max_interval", "Longest wait between two retries.", default=maximum),
            duration("max_elapsed_time", elapsed_doc, default=max_elapsed),
        ],
        "How long to wait between retries, and when to stop.",
        **kw,
    )


def from_conf(conf: dict[str, float | None], *, max_retries: int = 0) -> ExponentialBackoff:
    """A backoff from a resolved ``backoff_field`` value (durations in seconds, empty as 0)."""
    return ExponentialBackoff(
        conf.get("initial_interval") or 0.0,
        conf.get("max_interval") or 0.0,
        conf.get("max_elapsed_time") or 0.0,
        max_retries=max_retries,
    )
