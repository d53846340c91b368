"""The event loop a benthic process runs on: uvloop's when it is installed, else asyncio's.

Redpanda Connect is Go and has no event loop to choose. Here every stream runs on one asyncio
loop, and uvloop (libuv under asyncio's API) makes the loop's own work cheaper: on
``bench/pipeline.py`` (generate -> seed mapping -> drop_on/http_client) it measured 3-7 % more
events per second than the standard loop on this project's 2-core test machine. It is an
optional extra (``pip install 'benthic[speed]'``), used whenever it can be imported;
``BENTHIC_EVENT_LOOP=asyncio`` keeps the standard loop (to rule the loop out when chasing a bug).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

ENV_EVENT_LOOP = "BENTHIC_EVENT_LOOP"


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


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
