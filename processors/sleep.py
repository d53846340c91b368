"""The ``sleep`` processor: wait an interpolated duration for each message of a batch, one after
another. A duration that fails to interpolate or parse is logged and skipped. Closing the
processor (shutdown) ends a sleep early."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.durations import parse_duration_ns
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, interp

SPEC = ComponentSpec(
    "sleep",
    "processor",
    summary="Pauses for a duration, given as an interpolated duration string, for each message.",
    categories=("Utility",),
    fields=[interp("duration", "How long to wait for each message.", examples=("1s", "${! @delay }"))],
)


class Sleep:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        try:
            self.duration = res.interpolation(conf["duration"])
        except Exception as err:
            raise ValueError(f"failed to parse duration expression: {err}") from None
        self.res = res
        self._closed = asyncio.Event()

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for index, msg in enumerate(batch):
            try:
                text = self.duration.render(msg, batch, index)
            except Exception as err:
                self.res.logger.error(f"Period interpolation error: {err}")
                continue
            try:
                seconds = parse_duration_ns(text) / 1e9
            except ValueError as err:
                self.res.logger.error(f"Failed to parse duration: {err}")
                continue
            try:
                await asyncio.wait_for(self._closed.wait(), max(0.0, seconds))
            except TimeoutError:
                continue
            raise RuntimeError("processor stopped")
        return [batch]

    async def close(self) -> None:
        self._closed.set()


register_processor(SPEC, Sleep)
