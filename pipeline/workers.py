"""Running a CPU-heavy step off the event loop, in daemon threads.

Upstream runs each of ``pipeline.threads`` processing goroutines on its own OS thread, so a slow
mapping never stops the HTTP endpoints or a shutdown. Our processors are asyncio code on one loop;
a mapping that computes for seconds would freeze ``/ping`` and delay SIGTERM handling. A step that
does not touch the loop (a Bloblang mapping does not) runs here instead: the loop thread keeps
getting the GIL every switch interval, so it answers requests and handles signals meanwhile.

The threads are daemons on purpose: a forced shutdown abandons a step still running (its
transaction is nacked) and the process exits without waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_THREADS = 16

_jobs: queue.SimpleQueue[
    tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]]
]
_jobs = queue.SimpleQueue()
_lock = threading.Lock()
_threads = 0
_idle = 0


def _settle(fut: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if fut.done():  # abandoned by a forced shutdown
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)


def _work() -> None:
    global _idle
    while True:
        loop, fut, fn, args = _jobs.get()
        with _lock:
            _idle -= 1
        result: Any = None
        error: BaseException | None = None
        try:
            result = fn(*args)
        except BaseException as err:  # handed to the awaiting coroutine, raised there
            error = err
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(_settle, fut, result, error)
        with _lock:
            _idle += 1


async def run_off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` in a worker thread and await its result (exceptions propagate)."""
    global _threads, _idle
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()
    with _lock:
        if _idle == 0 and _threads < MAX_THREADS:
            _threads += 1
            _idle += 1
            threading.Thread(target=_work, name=f"benthic-worker-{_threads}", daemon=True).start()
    _jobs.put((loop, fut, fn, args))
    return await fut
