"""The ``command`` processor: run a program once per message, payload on its stdin.

As upstream: ``name`` is interpolated per message and ``args_mapping`` (Bloblang, optional) must
give an array whose elements become the arguments. The program's stdout replaces the payload,
``exit_code`` metadata is set to 0 and any stderr output goes to ``command_stderr``. When the
program fails (non-zero exit, or it cannot be started) the message keeps its payload, gets
``exit_code`` and is flagged with ``execution error: ...`` followed by stderr. The program runs
directly (no shell); a run that is cancelled at shutdown kills it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from mapping_lang.value import to_text
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.programs import ProgramStartError, start_program
from pipeline.spec import ComponentSpec, bloblang, interp

SPEC = ComponentSpec(
    "command",
    "processor",
    summary="Runs a program for each message with the payload as its input; its output becomes the payload.",
    description=(
        "A new process starts for every message, which is costly at high rates: the `subprocess` "
        "processor keeps one process running instead."
    ),
    categories=("Integration",),
    status="experimental",
    fields=[
        interp("name", "The program to run (looked up on PATH).", examples=("bash", "${! @command }")),
        bloblang(
            "args_mapping",
            "A Bloblang mapping that gives the arguments as an array.",
            optional=True,
            examples=('[ "-c", this.script_path ]',),
        ),
    ],
)


class Command:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.name = res.interpolation(conf["name"])
        self.args = res.mapping(conf["args_mapping"]) if conf.get("args_mapping") else None

    def _arguments(self, msg: Message, batch: list[Message], index: int) -> list[str]:
        if self.args is None:
            return []
        try:
            value = self.args.query(msg, batch, index)
        except Exception as err:
            raise ValueError(f"args mapping error: {err}") from None
        if not isinstance(value, list):
            raise ValueError(f"args mapping result error: expected array value, got {type(value).__name__}")
        return [to_text(v) for v in value]

    async def _run(self, msg: Message, batch: list[Message], index: int) -> None:
        try:
            name = self.name.render(msg, batch, index)
        except Exception as err:
            raise ValueError(f"name interpolation error: {err}") from None
        args = self._arguments(msg, batch, index)
        try:
            proc = await start_program(
                [name, *args],
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except ProgramStartError as err:
            msg.metadata["exit_code"] = -1
            raise ValueError(f"execution error: {err}: ") from None
        try:
            stdout, stderr = await proc.communicate(msg.content)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise
        code = proc.returncode or 0
        if code != 0:
            msg.metadata["exit_code"] = code
            status = f"exit status {code}" if code > 0 else f"signal: {-code}"
            raise ValueError(f"execution error: {status}: {stderr.decode('utf-8', 'replace')}")
        msg.content = stdout
        if stderr:
            msg.metadata["command_stderr"] = stderr.decode("utf-8", "replace")
        msg.metadata["exit_code"] = 0

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for index, msg in enumerate(batch):
            try:
                await self._run(msg, batch, index)
            except ValueError as err:
                msg.error = str(err)
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, Command)
