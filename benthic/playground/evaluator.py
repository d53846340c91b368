"""The server's side of the evaluator: a warm child process, one request at a time, a deadline.

A request waits for the child (requests are served in arrival order), writes one line and reads
one line back. When the answer does not come within the time limit the child is killed and a
fresh one is started for the next request, so a hostile mapping costs its author one timeout and
nobody else anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import benthic
from benthic.playground.responses import response_body

# an answer holds at most the worker's result cap, JSON-escaped (up to six bytes a character)
_LINE_LIMIT = 64 * 1024 * 1024
# how long the child may take to import the engine and say it is ready
_START_SECONDS = 60.0


def _child_environment() -> dict[str, str]:
    """Our environment (mappings may read it), with the packages found where this process found
    them, also when it runs from a source checkout that is not installed."""
    env = dict(os.environ)
    source_root = str(Path(benthic.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH", "")) if p)
    return env


class Evaluator:
    """Runs ``/execute`` requests in a child process with ``timeout`` seconds each."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._child: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._respawning: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        """Start the child now, so that the first request does not pay for its imports."""
        async with self._lock:
            if not self._closed:
                await self._ensure_child()

    async def _ensure_child(self) -> asyncio.subprocess.Process:
        if self._child is not None and self._child.returncode is None:
            return self._child
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # not the working directory first: a user's own pipeline/ folder must not shadow ours
            "-m",
            "benthic.playground.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
            env=_child_environment(),
        )
        assert child.stdout is not None
        try:
            ready = await asyncio.wait_for(child.stdout.readline(), _START_SECONDS)
        except TimeoutError:
            ready = b""
        if ready != b"ready\n":
            await self._kill(child)
            raise RuntimeError("the mapping evaluator did not start")
        self._child = child
        return child

    async def execute(self, request_line: bytes) -> bytes:
        """One request (a JSON line without its newline) to one response body."""
        async with self._lock:
            try:
                child = await self._ensure_child()
            except (OSError, RuntimeError) as err:
                return response_body(mapping_error=f"the mapping evaluator could not start: {err}")
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(request_line + b"\n")
                await child.stdin.drain()
                answer = await asyncio.wait_for(child.stdout.readline(), self.timeout)
            except TimeoutError:
                await self._kill(child)
                self._respawn()
                return response_body(
                    mapping_error=f"the mapping did not finish within {self.timeout:g}s and was stopped"
                )
            except asyncio.CancelledError:
                # the answer would reach the next request: this child cannot be used again
                self._child = None
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                raise
            except (OSError, ValueError, asyncio.LimitOverrunError) as err:
                await self._kill(child)
                return response_body(mapping_error=f"the mapping evaluator failed: {err}")
            if not answer.endswith(b"\n"):
                await self._kill(child)
                self._respawn()
                return response_body(
                    mapping_error="the mapping evaluator stopped while running the mapping "
                    "(out of memory or crashed)"
                )
            return answer[:-1]

    def _respawn(self) -> None:
        """Start the next child in the background, so that the next request finds it warm."""
        task = asyncio.get_running_loop().create_task(self.start())
        self._respawning = task  # keep a reference until it is done
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _kill(self, child: asyncio.subprocess.Process) -> None:
        if child is self._child:
            self._child = None
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        with contextlib.suppress(Exception):
            await child.wait()

    async def close(self) -> None:
        self._closed = True
        async with self._lock:
            if self._child is not None:
                await self._kill(self._child)
