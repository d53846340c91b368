"""The ``subprocess`` output: write each message as a line to a program's stdin.

As upstream: the program starts when the output connects; each message is written followed by a
newline (``lines`` is the only codec); stderr is logged. When the program exits, the write in
progress fails (and is retried by the engine) and the program is started again on reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.programs import start_program

SPEC = s.ComponentSpec(
    "subprocess",
    "output",
    summary="Writes each message as a line to the stdin of a program it keeps running.",
    categories=("Utility",),
    status="beta",
    fields=[
        s.string("name", "The program to run.", examples=("cat",)),
        s.string_list("args", "Arguments for the program.", default=[]),
        s.enum("codec", ("lines",), "How messages are framed on the program's stdin.", default="lines"),
    ],
)


class SubprocessOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.argv = [conf["name"], *conf["args"]]
        self.logger = res.logger
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr_task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            return
        self.proc = await start_program(
            self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self.stderr_task = asyncio.create_task(self._log_stderr(self.proc))

    async def _log_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            self.logger.error(f"Subprocess stderr: {line.decode('utf-8', 'replace').rstrip()}")

    async def write_batch(self, batch: list[Message]) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None or proc.stdin is None:
            self.proc = None
            raise NotConnectedError("subprocess is not running")
        try:
            for msg in batch:
                proc.stdin.write(msg.content + b"\n")
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionError) as err:
            self.proc = None
            raise NotConnectedError(f"subprocess stopped: {err}") from None

    async def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if self.stderr_task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.stderr_task, 1)


register_output(SPEC, SubprocessOutput)
