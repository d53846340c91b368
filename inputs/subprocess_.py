"""The ``subprocess`` input: run a program and turn each line it prints into a message.

As upstream: the program's stdout is cut into messages with the ``lines`` codec (lines longer
than ``max_buffer`` are an error); what it writes to stderr is logged. When the program exits,
the input ends, or with ``restart_on_exit`` the program is started again. A program that cannot
be started is a connection error, retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pipeline import spec as s
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.programs import start_program

SPEC = s.ComponentSpec(
    "subprocess",
    "input",
    summary="Runs a program and emits each line it prints as a message.",
    categories=("Utility",),
    status="beta",
    fields=[
        s.string("name", "The program to run.", examples=("cat", "sed")),
        s.string_list("args", "Arguments for the program.", default=[]),
        s.enum("codec", ("lines",), "How the program's output is cut into messages.", default="lines"),
        s.boolean("restart_on_exit", "Start the program again whenever it exits.", default=False),
        s.integer("max_buffer", "The longest line accepted, in bytes.", default=65536, advanced=True),
    ],
)


async def _ack(_: BaseException | None) -> None:
    return None


class SubprocessInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.argv = [conf["name"], *conf["args"]]
        self.restart = conf["restart_on_exit"]
        self.max_buffer = conf["max_buffer"]
        self.logger = res.logger
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr_task: asyncio.Task[None] | None = None
        self.ended = False

    async def connect(self) -> None:
        if self.proc is not None:
            return
        self.proc = await start_program(
            self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=self.max_buffer + 1,
        )
        self.stderr_task = asyncio.create_task(self._log_stderr(self.proc))

    async def _log_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            self.logger.error(f"Subprocess stderr: {line.decode('utf-8', 'replace').rstrip()}")

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while True:
            if self.ended:
                raise EndOfInputError()
            if self.proc is None:
                await self.connect()
            assert self.proc is not None and self.proc.stdout is not None
            try:
                line = await self.proc.stdout.readuntil(b"\n")
                return [Message(line[:-1])], _ack
            except asyncio.LimitOverrunError:
                await self._stop()
                raise ValueError("bufio.Scanner: token too long") from None
            except asyncio.IncompleteReadError as err:
                await self.proc.wait()
                if self.stderr_task is not None:
                    await self.stderr_task
                self.proc = None
                if not self.restart:
                    self.ended = True
                self.logger.info("Subprocess exited" + (", restarting it" if self.restart else ""))
                if err.partial:
                    return [Message(err.partial)], _ack

    async def _stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 5)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if self.stderr_task is not None:
            self.stderr_task.cancel()

    async def close(self) -> None:
        await self._stop()


register_input(SPEC, SubprocessInput)
