"""The engine's backoff: a wait that grows by a factor up to a cap, with ±50% jitter.

Upstream's reconnect loops, read retries and the output-side retries of ``broker``/``switch``
children all use ``cenkalti/backoff``-style jittered exponential waits; this is the one
implementation benthic keeps for all of them.
"""

from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with ±50% jitter: ``next()`` gives the wait, ``reset()`` starts over."""

    def __init__(self, initial: float = 0.1, maximum: float = 1.0, multiplier: float = 1.5) -> None:
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.current = initial

    def next(self) -> float:
        wait = self.current
        self.current = min(self.current * self.multiplier, self.maximum)
        return wait * random.uniform(0.5, 1.5)

    def reset(self) -> None:
        self.current = self.initial
