"""The ``retry`` processor: run child processors on each message and, while any result is
flagged as errored, run them again on the message as it first arrived, waiting by an
exponential backoff between attempts.

As upstream: an error the message carries on arrival is cleared; once ``max_retries`` or
``backoff.max_elapsed_time`` runs out, the last (errored) results pass on; every result gets the
metadata ``retry_count`` and ``backoff_duration`` (nanoseconds waited in total); messages are
retried one after another, or concurrently with ``parallel``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.backoff import backoff_field, from_conf
from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, boolean, component_list, integer

SPEC = ComponentSpec(
    "retry",
    "processor",
    summary="Runs child processors on each message and repeats them, after a growing wait, until none of the results is flagged as errored.",
    description=(
        "Every attempt starts from the message as it reached the retry: changes a failed attempt made are "
        "thrown away. When the retries run out the errored results continue down the pipeline, where the "
        "usual error handling applies. Batches are retried message by message; to retry a whole batch, "
        "`archive` it into one message first."
    ),
    status="beta",
    categories=("Composition",),
    fields=[
        backoff_field(),
        component_list("processors", "processor", "The processors run on each message."),
        boolean(
            "parallel",
            "Retry the messages of a batch at the same time instead of one after another.",
            default=False,
        ),
        integer("max_retries", "Most retries of one message; 0 means no limit.", default=0),
    ],
    lint=lambda conf: [] if conf.get("processors") else ["at least one child processor must be specified"],
)


class Retry:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.children = res.build_processors(conf["processors"], "processors")
        if not self.children:
            raise ValueError("at least one child processor must be specified")
        self.backoff_conf = conf["backoff"]
        self.parallel = bool(conf["parallel"])
        self.max_retries = int(conf["max_retries"])
        self.res = res

    async def _one(self, msg: Message) -> list[Message]:
        backoff = from_conf(self.backoff_conf)
        retries = 0
        waited = 0.0
        msg.error = None
        while True:
            batches = await run_processors(self.children, [msg.copy()])
            results = [m for b in batches for m in b]
            if not any(m.error is not None for m in results):
                break
            retries += 1
            if retries == self.max_retries:
                self.res.logger.debug("Error occurred and maximum number of retries was reached.")
                break
            wait = backoff.next()
            if wait is None:
                self.res.logger.debug("Error occurred and maximum wait period was reached.")
                break
            waited += wait
            self.res.logger.debug(f"Error occurred, sleeping for next backoff period: {wait:.3f}s")
            await asyncio.sleep(wait)
        for m in results:
            m.metadata["retry_count"] = retries
            m.metadata["backoff_duration"] = int(waited * 1e9)
        return results

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if self.parallel:
            groups = await asyncio.gather(*(self._one(m) for m in batch))
        else:
            groups = [await self._one(m) for m in batch]
        out = [m for g in groups for m in g]
        return [out]

    async def close(self) -> None:
        for child in self.children:
            await child.close()


register_processor(SPEC, Retry)
