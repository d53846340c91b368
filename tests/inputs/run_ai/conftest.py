"""Shared pieces of the run_ai tests: a simulator on 127.0.0.1 and a ``run_ai`` input built the
way the engine builds it (``pipeline.builder.Manager``), with its log captured.

    def test_case(runai):
        async def scenario():
            async with runai(sim={"workloads": 30}, metrics_offset="30s") as h:
                batch, ack = await h.read()
        asyncio.run(scenario())
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from benthic.simulators.run_ai import RunAISimulator
from inputs.run_ai.client import RunAIClient
from inputs.run_ai.input import RunAIInput
from pipeline.builder import Manager
from pipeline.logs import Logger, LogSink
from pipeline.message import Message
from pipeline.metrics import Metrics
from pipeline.plugin import AckFn

READ_TIMEOUT = 15.0


@dataclass
class Harness:
    sim: RunAISimulator
    input: RunAIInput
    log: io.StringIO
    metrics: Metrics

    @property
    def client(self) -> RunAIClient:
        return self.input.client

    async def read(self, timeout: float = READ_TIMEOUT) -> tuple[list[Message], AckFn]:
        return await asyncio.wait_for(self.input.read_batch(), timeout)

    @property
    def log_text(self) -> str:
        return self.log.getvalue()


@contextlib.asynccontextmanager
async def _harness(
    sim: dict[str, Any] | None = None, connect: bool = True, **conf: Any
) -> AsyncIterator[Harness]:
    simulator = RunAISimulator(**(sim or {}))
    await simulator.start()
    log = io.StringIO()
    metrics = Metrics()
    manager = Manager(logger=Logger(LogSink(level="TRACE", stream=log)), metrics=metrics)
    run_ai = {
        "url": simulator.url,
        "app_id": simulator.app_id,
        "app_secret": simulator.app_secret,
        "schedule": "@every 1s",
        **conf,
    }
    stage = manager.build_input({"run_ai": run_ai}, "root.input")
    inp = stage.input
    assert isinstance(inp, RunAIInput)
    try:
        if connect:
            await inp.connect()
        yield Harness(simulator, inp, log, metrics)
    finally:
        await inp.close()
        await simulator.close()


@pytest.fixture
def runai() -> Callable[..., contextlib.AbstractAsyncContextManager[Harness]]:
    return _harness
