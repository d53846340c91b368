"""The ``drop_on`` output: drops messages its child output fails to deliver under given conditions.

A dropped message is acknowledged as delivered (logged at WARN), so the input moves on; any other
child error is passed up as a nack. With ``back_pressure`` set, a message the child takes longer
than that to accept and deliver is dropped too, and while the child stays blocked later messages
are dropped at once.

Where we differ from upstream: upstream's drop_on hands its child one transaction at a time and
waits for each result, which serialises the child (its ``max_in_flight`` and batching across
input batches are inert; redpanda-data/connect#1798). Here every caller's write goes straight to
the child stage, so the child keeps its own ``max_in_flight`` concurrency and batch merging.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mapping_lang.re2 import Re2Error, Regex, compile_re2, encode
from pipeline.durations import format_duration_ns
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, boolean, component, duration, string_list

# -- spec -------------------------------------------------------------------------------------------


def _lint(conf: dict[str, Any]) -> list[str]:
    problems = []
    if conf.get("error") and conf.get("error_patterns"):
        problems.append("field 'error_patterns' is ineffective when 'error' is set to `true`")
    for i, pattern in enumerate(conf.get("error_patterns") or []):
        try:
            compile_re2(pattern)
        except Re2Error as err:  # reported at the pattern's own line
            problems.append(f"error_patterns.{i}: error pattern {i} failed to compile: {err}")
    return problems


SPEC = ComponentSpec(
    "drop_on",
    "output",
    summary="Wraps a child output and, when a write fails for one of the reasons you list, acknowledges "
    "and discards the message rather than retrying or rejecting it.",
    description=(
        "Normally an output that cannot reach its destination holds up the pipeline (back pressure), and "
        "every failed delivery is retried or rejected to the input. Where losing some messages is better "
        "than stalling or redelivering them, wrap the output in drop_on. Unlike upstream, the child "
        "output keeps its own max_in_flight concurrency."
    ),
    categories=("Utility",),
    fields=[
        boolean(
            "error",
            "Drop the message whenever the child output reports an error, whatever it is (an http_client "
            "child answered with a 4xx status, for instance).",
            default=False,
        ),
        string_list(
            "error_patterns",
            "Regular expressions (re2 syntax) tested against the child output's error text; the message "
            "is dropped when any of them matches anywhere in it.",
            optional=True,
            examples=(["and that was really bad$"], ["roughly [0-9]+ issues occurred"]),
        ),
        duration(
            "back_pressure",
            "How long a message may wait for the child output to take it before it is dropped, as a "
            "duration string. Outputs usually block like this while they reconnect after losing their "
            "connection.",
            optional=True,
            examples=("30s", "1m"),
        ),
        component("output", "output", "The output whose failures are turned into drops."),
    ],
    lint=_lint,
)

# -- behaviour --------------------------------------------------------------------------------------


class BackPressureError(Exception):
    """The child did not accept and deliver a message within ``back_pressure``."""


class DropOnOutput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.res = res
        self.drop_on_any_error = bool(conf["error"])
        self.patterns: list[Regex] = []
        for i, pattern in enumerate(conf.get("error_patterns") or []):
            try:
                self.patterns.append(compile_re2(pattern))
            except Re2Error as err:
                raise ValueError(f"error pattern {i} failed to compile: {err}") from None
        if self.drop_on_any_error and self.patterns:
            raise ValueError("field 'error_patterns' is ineffective when 'error' is set to `true`")
        self.back_pressure: float | None = conf.get("back_pressure") or None
        self.child = res.build_output(conf["output"], "output")
        # While the child stays blocked past back_pressure, later messages are dropped at once.
        self._blocked = False

    async def connect(self) -> None:
        await self.child.connect()

    async def write_batch(self, batch: list[Message]) -> None:
        try:
            await self._send(batch)
        except BackPressureError as err:
            self.res.logger.warn("Message dropped due to back pressure.")
            if not self.drop_on_any_error:
                raise err
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if not self._should_drop(err):
                raise

    async def _send(self, batch: list[Message]) -> None:
        if self.back_pressure is None:
            await self.child.send(batch)
            return
        limit = format_duration_ns(int(self.back_pressure * 1e9))
        if self._blocked:
            raise BackPressureError(f"experienced back pressure beyond: {limit}")
        task = asyncio.ensure_future(self.child.send(batch))
        done, _ = await asyncio.wait({task}, timeout=self.back_pressure)
        if task in done:
            task.result()
            return
        # Leave the child working on it; the next messages are dropped until it finishes.
        self._blocked = True
        task.add_done_callback(self._unblocked)
        raise BackPressureError(f"experienced back pressure beyond: {limit}")

    def _unblocked(self, task: asyncio.Future[None]) -> None:
        self._blocked = False
        if not task.cancelled():
            task.exception()  # retrieved: its outcome was already reported as a drop

    def _should_drop(self, err: BaseException) -> bool:
        text = str(err)
        if self.drop_on_any_error:
            self.res.logger.warn(f"Message dropped due to: {text}")
            return True
        data = encode(text)
        for i, pattern in enumerate(self.patterns):
            if pattern.search(data) is not None:  # RE2, as Go's regexp: linear in the error text
                self.res.logger.warn(f"Message dropped due to error matching pattern {i}: {text}")
                return True
        return False

    # -- the child stage's readiness and shutdown ----------------------------------------------

    def statuses(self) -> list[dict[str, Any]]:
        return self.child.statuses()

    async def drain(self) -> None:
        await self.child.drain()

    def abort(self) -> None:
        self.child.abort()

    async def close(self) -> None:
        await self.child.close()


register_output(SPEC, DropOnOutput, max_in_flight=0)

__all__ = ["SPEC", "DropOnOutput"]
