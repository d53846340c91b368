"""The ``read_until`` input: read a child input until a condition is met.

As upstream: ``check`` is a Bloblang query run on each message; the first message for which it
is true is the last one passed on, and the input then ends (or, with ``restart_input``, the child
is built again and reading starts over). When the child ends first it is restarted if
``restart_input`` is set, otherwise this input ends too. ``idle_timeout`` ends the input (or
restarts the child) when no message arrived for that long. One of ``check`` and
``idle_timeout`` is required.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline import spec as s
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "read_until",
    "input",
    summary="Reads a child input until a message meets a condition, or until it goes quiet.",
    categories=("Utility",),
    fields=[
        s.component("input", "input", "The child input to read."),
        s.bloblang(
            "check", "A Bloblang query; the first message it is true for is the last one read.", optional=True
        ),
        s.duration("idle_timeout", "End (or restart) when no message arrived for this long.", optional=True),
        s.boolean(
            "restart_input", "Start the child again when it ends or the condition is met.", default=False
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    if not conf.get("check") and not conf.get("idle_timeout"):
        return ["it is required to set either check or idle_timeout"]
    return []


SPEC.lint = _lint


class ReadUntil:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.res = res
        self.check = res.mapping(conf["check"]) if conf.get("check") else None
        self.idle = conf.get("idle_timeout")
        self.restart = conf["restart_input"]
        self.child: Any = self._build()
        self.done = False
        self.generation = 0

    def _build(self) -> Any:
        return self.res.build_input(self.conf["input"], "input")

    async def connect(self) -> None:
        await self.child.connect()

    async def _restart(self) -> None:
        await self.child.close()
        self.generation += 1
        self.child = self._build()
        await self.child.connect()

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while True:
            if self.done:
                raise EndOfInputError()
            try:
                if self.idle:
                    batch, ack = await asyncio.wait_for(self.child.read(), self.idle)
                else:
                    batch, ack = await self.child.read()
            except TimeoutError:
                self.res.logger.info("Idle timeout reached on read_until input")
                if not self.restart:
                    self.done = True
                    raise EndOfInputError() from None
                await self._restart()
                continue
            except EndOfInputError:
                if not self.restart:
                    self.done = True
                    raise
                await self._restart()
                continue
            if self.check is None:
                return batch, ack
            for index, msg in enumerate(batch):
                try:
                    met = self.check.query(msg, batch, index) is True
                except Exception as err:
                    self.res.logger.error(f"Failed to execute read_until check: {err}")
                    met = False
                if met:
                    if self.restart:
                        await self._restart()
                    else:
                        self.done = True
                    break
            return batch, ack

    async def close(self) -> None:
        await self.child.close()


register_input(SPEC, ReadUntil)
