"""The ``crash`` processor: the first message that reaches it stops the whole process.

Upstream renders an interpolated text against the message, logs it at FATAL level and exits the
process with status 1 (logrus' ``Fatal`` does), without acknowledging anything: the message and
everything in flight are left to the input to redeliver on the next run. When the text fails to
interpolate, the FATAL line says so instead. benthic does the same; the log line is flushed
before the exit, and the exit skips every shutdown step, as Go's ``os.Exit`` does.
"""

from __future__ import annotations

import os
import sys

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, interp

SPEC = ComponentSpec(
    "crash",
    "processor",
    summary=(
        "Ends the process at once with a FATAL log line, whose text is interpolated from the message "
        "that triggered it."
    ),
    description=(
        "Meant for a branch of the pipeline that must never be reached: the line can carry the content "
        "and metadata of the offending message. Nothing in flight is acknowledged, so an input that "
        "redelivers will hand the same messages over again on the next run."
    ),
    categories=("Utility",),
    status="beta",
    root=interp("", "Text of the FATAL log line.", examples=("${! content() }",)),
)


class Crash:
    def __init__(self, text: str, res: Resources) -> None:
        self.message = res.interpolation(text or "")
        self.logger = res.logger

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for index, msg in enumerate(batch):
            try:
                line = self.message.render(msg, batch, index)
            except Exception as err:
                line = f"failed to interpolate crash message: {err}"
            self.logger.fatal(line)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, Crash)
