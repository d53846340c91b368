"""Processors in the engine: a processor with its metrics (``ProcessorStage``), a chain of them
(``run_processors``), and ``ProcessedOnce``, which keeps what an output's processors made of a
batch so that a retried write sends the same messages (see ``pipeline.engine``)."""

from __future__ import annotations

import asyncio
import time

from pipeline.message import Message
from pipeline.plugin import Processor
from pipeline.resources import Resources
from pipeline.tracing import traced_processor

# -- processors -------------------------------------------------------------------------------------


class ProcessorStage:
    """A processor with upstream's ``processor_*`` metrics and error flagging."""

    def __init__(self, processor: Processor, res: Resources, type_name: str) -> None:
        self.processor = traced_processor(processor, type_name)  # itself when no tracer is set
        self.res = res
        self.type_name = type_name
        m = res.metrics
        self._received = m.counter("processor_received")
        self._batch_received = m.counter("processor_batch_received")
        self._sent = m.counter("processor_sent")
        self._batch_sent = m.counter("processor_batch_sent")
        self._error = m.counter("processor_error")
        self._latency = m.timer("processor_latency_ns")

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        self._received.incr(len(batch))
        self._batch_received.incr()
        errors_before = sum(1 for m in batch if m.error is not None)
        start = time.perf_counter_ns()
        try:
            result = await self.processor.process(batch)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            text = str(err)
            self.res.logger.debug(f"Processor failed: {text}")
            for msg in batch:
                msg.error = text
            self._error.incr(len(batch))
            result = [batch]
        self._latency.timing(time.perf_counter_ns() - start)
        for out in result:
            flag_unserialisable(out)
        errors_after = sum(1 for b in result for m in b if m.error is not None)
        if errors_after > errors_before:
            self._error.incr(errors_after - errors_before)
        for out in result:
            self._sent.incr(len(out))
            self._batch_sent.incr()
        return result

    async def close(self) -> None:
        await self.processor.close()


def flag_unserialisable(batch: list[Message]) -> int:
    """Serialise each message whose structured payload changed; one that cannot be serialised (a
    NaN or an infinity, which JSON cannot carry) is flagged as a processing error of that message
    with empty content, so ``catch``, ``errored()`` and ``reject_errored`` handle it; retrying it
    could never succeed. Returns how many were flagged."""
    flagged = 0
    for msg in batch:
        if msg.has_structured() and not msg.has_content():
            try:
                msg.content  # noqa: B018 (serialises once; the bytes are cached)
            except ValueError as err:
                msg.content = b""
                msg.error = f"failed to serialise message: {err}"
                flagged += 1
    return flagged


async def run_processors(stages: list[ProcessorStage], batch: list[Message]) -> list[list[Message]]:
    """Run a chain of processors over a batch: each stage sees every batch the previous made."""
    batches = [batch]
    for stage in stages:
        next_batches: list[list[Message]] = []
        for b in batches:
            if b:
                next_batches.extend(out for out in await stage.process(b) if out)
        batches = next_batches
        if not batches:
            break
    return batches


class ProcessedRecord:
    __slots__ = ("sources", "result", "returned", "returned_count", "regather", "partial")

    def __init__(self, sources: list[Message], result: list[Message]) -> None:
        self.sources = sources  # held, so their ids stay unique while the record lives
        self.result = result
        # transactions of a failed batch handed over again, waiting for the rest of the batch
        self.returned: list[tuple[list[Message], asyncio.Future[None]]] = []
        self.returned_count = 0
        self.regather: asyncio.TimerHandle | None = None
        # its write named the messages that failed: only those come back, each on its own
        self.partial = False

    def results_for(self, sources: list[Message]) -> list[Message] | None:
        """The results made from ``sources`` (some of this record's sources), traced by origin;
        None when a result cannot be traced (a processor made it anew)."""
        origins = {msg.origin for msg in sources}
        if None in origins or any(m.origin is None for m in self.result):
            return None
        return [m for m in self.result if m.origin in origins]


class ProcessedOnce:
    """An output's processors (its own and its batch policy's) run once per message, however
    often a failed write is retried: a retry of the same messages reuses what they made, so a
    ``metric`` counts each event once and a mapping keeps the bytes of the first attempt.

    A record lives from processing until its write succeeds; at most ``limit`` are kept (a
    caller that retries with fresh copies never matches one, so old records are dropped)."""

    def __init__(self, stages: list[ProcessorStage], limit: int = 256) -> None:
        self.stages = stages
        self.limit = limit
        self._by_message: dict[int, ProcessedRecord] = {}
        self._records: dict[int, ProcessedRecord] = {}  # insertion ordered: the oldest first

    async def run(self, messages: list[Message]) -> tuple[list[Message], list[ProcessedRecord]]:
        by_message = self._by_message
        found = [by_message.get(id(msg)) for msg in messages] if by_message else []
        records: list[ProcessedRecord] = []
        seen_before = any(found)
        reused: list[Message] = []  # results of a record whose messages came back in part
        if not seen_before:  # the common case: none of them was processed before
            fresh = list(messages)
        else:
            groups: dict[int, tuple[ProcessedRecord, list[Message]]] = {}
            fresh = []
            for msg, record in zip(messages, found, strict=True):
                if record is None:
                    fresh.append(msg)
                else:
                    groups.setdefault(id(record), (record, []))[1].append(msg)
            for record, back in groups.values():
                if len(back) == len(record.sources):
                    records.append(record)
                    continue
                # only some came back (the write named the others delivered): their results, if
                # the results can be traced to them; the record stays for the rest of it
                part = record.results_for(back)
                if part is None:
                    fresh.extend(back)
                else:
                    reused.extend(part)
        if fresh:
            batches = await run_processors(self.stages, fresh)
            record = ProcessedRecord(fresh, [m for b in batches for m in b])
            self._remember(record, replaces=seen_before)
            records.append(record)
        return [m for r in records for m in r.result] + reused, records

    def record_of(self, messages: list[Message]) -> ProcessedRecord | None:
        """The record holding every one of ``messages`` (a transaction of a failed batch)."""
        record = self._by_message.get(id(messages[0])) if messages else None
        if record is None or any(self._by_message.get(id(m)) is not record for m in messages):
            return None
        return record

    def _remember(self, record: ProcessedRecord, *, replaces: bool = True) -> None:
        """Keep ``record``; ``replaces`` says some of its messages may have an older record."""
        by_message = self._by_message
        if replaces:
            for msg in record.sources:
                old = by_message.get(id(msg))
                if old is not None:
                    self.forget([old])
        self._records[id(record)] = record
        by_message.update(dict.fromkeys(map(id, record.sources), record))
        while len(self._records) > self.limit:
            self.forget([next(iter(self._records.values()))])

    def forget(self, records: list[ProcessedRecord]) -> None:
        """The records' results were delivered (or abandoned): a later send processes anew."""
        by_message = self._by_message
        for record in records:
            if self._records.pop(id(record), None) is None:
                continue
            for key in map(id, record.sources):
                if by_message.get(key) is record:
                    del by_message[key]

    def clear(self) -> list[ProcessedRecord]:
        """Forget everything (a forced shutdown); returns the records that were kept."""
        records = list(self._records.values())
        self._by_message.clear()
        self._records.clear()
        return records
