"""The ``read_until`` input: read a child input until a condition is met.

As upstream: ``check`` is a Bloblang query run on the first message of each transaction. The
first transaction it is true for gets ``benthos_read_until: final`` metadata and is passed on;
once it is delivered the input ends (if it is nacked, reading goes on). When the child ends
before that, it is built again with ``restart_input``, otherwise this input ends too.
``idle_timeout`` ends the input when no message arrived for that long. One of ``check`` and
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
        self.final: asyncio.Future[bool] | None = None  # resolves with the final transaction's ack

    def _build(self) -> Any:
        return self.res.build_input(self.conf["input"], "input")

    async def connect(self) -> None:
        await self.child.connect()

    async def _restart(self) -> None:
        await self.child.close()
        self.child = self._build()
        await self.child.connect()

    def _met(self, batch: list[Message]) -> bool:
        if self.check is None or not batch:
            return False
        try:
            return self.check.query(batch[0], batch, 0) is True
        except Exception as err:
            self.res.logger.error(f"Failed to execute check query: {err}")
            return False

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while True:
            if self.final is not None:
                delivered = await self.final
                self.final = None
                if delivered:
                    self.done = True
            if self.done:
                raise EndOfInputError()
            try:
                if self.idle:
                    batch, ack = await asyncio.wait_for(self.child.read(), self.idle)
                else:
                    batch, ack = await self.child.read()
            except TimeoutError:
                self.res.logger.info("Idle timeout reached")
                self.done = True
                raise EndOfInputError() from None
            except EndOfInputError:
                if not self.restart:
                    self.done = True
                    raise
                await self._restart()
                continue
            if not self._met(batch):
                return batch, ack
            batch[0].metadata["benthos_read_until"] = "final"
            final: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self.final = final

            async def final_ack(
                err: BaseException | None, ack: AckFn = ack, final: asyncio.Future[bool] = final
            ) -> None:
                await ack(err)
                if not final.done():
                    final.set_result(err is None)

            return batch, final_ack

    async def close(self) -> None:
        await self.child.close()


register_input(SPEC, ReadUntil)
