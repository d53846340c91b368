"""The event loop a benthic process runs on: uvloop's when it is installed, else asyncio's.

Redpanda Connect is Go and has no event loop to choose. Here every stream runs on one asyncio
loop, and uvloop (libuv under asyncio's API) makes the loop's own work cheaper: on
``bench/pipeline.py`` (generate -> seed mapping -> drop_on/http_client) it measured 3-7 % more
events per second than the standard loop on this project's 2-core test machine. It is an
optional extra (``pip install 'benthic[speed]'``), used whenever it can be imported;
``BENTHIC_EVENT_LOOP=asyncio`` keeps the standard loop (to rule the loop out when chasing a bug).

The process also tunes Python's cyclic garbage collector (:func:`tune_gc`). A stream allocates
several containers per message (the message, its metadata, the mapped document), almost none of
them in reference cycles, so with the default young-generation threshold of 700 allocations the
collector runs every few dozen messages and, now and then, walks every object the process holds
(the compiled grammar, the component modules, the mappings). Freezing what exists at start-up
moves those objects out of the collector's sight for good, and a threshold of 10,000 lets a young
collection find the few cycles a batch leaves behind less often. On ``bench/pipeline.py`` this
took about 15 % of the seed pipeline's CPU per event. ``BENTHIC_GC=default`` keeps Python's
defaults.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

ENV_EVENT_LOOP = "BENTHIC_EVENT_LOOP"
ENV_GC = "BENTHIC_GC"
GC_YOUNG_THRESHOLD = 10_000


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor, or None for asyncio's default loop."""
    if os.environ.get(ENV_EVENT_LOOP, "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop  # optional dependency: the "speed" extra
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def tune_gc() -> bool:
    """Freeze the objects that exist now and raise the collector's thresholds (see the module
    docstring); returns whether it did (``BENTHIC_GC=default`` leaves the collector alone)."""
    if os.environ.get(ENV_GC, "").strip().lower() == "default":
        return False
    gc.collect()  # what is garbage already should not be frozen with the rest
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)
    return True


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the chosen loop, with the collector tuned for streaming."""
    tune_gc()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
