"""The engine: input → [buffer] → processors on ``pipeline.threads`` workers → output.

Every batch read from the input is a transaction whose ack reaches the input exactly once, after
the output delivered everything the processors made of it (or a drop rule dropped it). A failed
delivery is retried here with the *same processed messages*, so event ids and times do not
change between attempts, and the output's own and batch processors do not run again on a retry
(``ProcessedOnce``, in ``pipeline.processing``): their side effects, such as a ``metric``, happen
once per message; only a forced shutdown hands the batch back to the input as a nack. When a
write names the messages that failed (``BatchError``), only those are retried, traced back to
the transaction through the ``origin`` every copy of a message keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline.backoff import Backoff
from pipeline.batching import Batcher, BatchPolicy
from pipeline.errors import (
    BackoffError,
    BatchError,
    EndOfInputError,
    NotConnectedError,
    RejectedError,
    ShutdownError,
    UnwritableError,
)
from pipeline.message import Message, mark_origins
from pipeline.plugin import AckFn, Input, Output
from pipeline.processing import (
    ProcessedOnce,
    ProcessedRecord,
    ProcessorStage,
    flag_unserialisable,
    run_processors,
)
from pipeline.resources import Resources
from pipeline.tracing import traced_input, traced_output

# ProcessorStage and run_processors are imported from here by components and the test runner
__all__ = [
    "InputStage",
    "OutputStage",
    "ProcessedOnce",
    "ProcessorStage",
    "Stream",
    "flag_unserialisable",
    "run_processors",
]

# -- input ------------------------------------------------------------------------------------------


class _Replay:
    __slots__ = ("batch", "ack", "attempts")

    def __init__(self, batch: list[Message], ack: AckFn) -> None:
        self.batch = batch
        self.ack = ack
        self.attempts = 0


class InputStage:
    """An input with connect/reconnect loops, read backoff, auto-replay of nacks, its own
    ``processors`` and the ``input_*`` metrics."""

    def __init__(
        self,
        inp: Input,
        res: Resources,
        type_name: str,
        *,
        auto_replay: bool = False,
        processors: list[ProcessorStage] | None = None,
    ) -> None:
        self.input = traced_input(inp, type_name)  # itself when no tracer is set
        self.res = res
        self.type_name = type_name
        self.auto_replay = auto_replay
        self.processors = processors or []
        self.connected = False
        self.error: str | None = None
        self._replays: list[_Replay] = []
        self._outstanding = 0  # auto-replayed transactions not yet acknowledged
        self._replay_changed = asyncio.Event()
        self._ended = False
        # set by the stream: flushes the output's partial batches once the input has ended
        self.idle_flush: Callable[[], Awaitable[None]] | None = None
        self._read_backoff = Backoff()
        m = res.metrics
        self._received = m.counter("input_received")
        self._latency = m.timer("input_latency_ns")
        self._conn_up = m.counter("input_connection_up")
        self._conn_failed = m.counter("input_connection_failed")
        self._conn_lost = m.counter("input_connection_lost")

    @property
    def input_ended(self) -> bool:
        """The input has no more data; only nacked transactions may still come back for replay
        (a reader holding unacknowledged messages uses this to flush them instead of waiting)."""
        return self._ended

    async def connect(self) -> None:
        backoff = Backoff(0.1, 1.0, 1.5)
        while True:
            try:
                await self.input.connect()
            except asyncio.CancelledError:
                raise
            except EndOfInputError:
                raise
            except BackoffError as err:
                self._conn_failed.incr()
                self.error = str(err)
                self.res.logger.error(f"Failed to connect to {self.type_name}: {err}")
                await asyncio.sleep(err.duration)
                continue
            except Exception as err:
                self._conn_failed.incr()
                self.error = str(err)
                self.res.logger.error(f"Failed to connect to {self.type_name}: {err}")
                await asyncio.sleep(backoff.next())
                continue
            self.connected = True
            self.error = None
            self._conn_up.incr()
            self.res.logger.info(f"Input type {self.type_name} is now active")
            return

    async def read(self) -> tuple[list[Message], AckFn]:
        """The next transaction: a replayed nack first, else new data (waiting as needed)."""
        while True:
            if self._replays:
                replay = self._replays.pop(0)
                replay.attempts += 1
                if replay.attempts > 2:
                    await asyncio.sleep(min(1.0, 0.001 * (1.1**replay.attempts)))
                return self._replay_transaction(replay)
            if self._ended:
                # the input has no more data, but nacked batches may still come back for replay
                if self._outstanding == 0:
                    raise EndOfInputError()
                self._replay_changed.clear()
                if self.idle_flush is None:
                    await self._replay_changed.wait()
                    continue
                try:
                    await asyncio.wait_for(self._replay_changed.wait(), 0.1)
                except TimeoutError:
                    # what is still out may sit in an output batch that only a count would
                    # complete: flush it, as upstream's batcher does once its input has closed
                    await self.idle_flush()
                continue
            try:
                batch, ack = await self.input.read_batch()
            except asyncio.CancelledError:
                raise
            except EndOfInputError:
                if not self.auto_replay:
                    raise
                self._ended = True
                continue
            except NotConnectedError:
                self.connected = False
                self._conn_lost.incr()
                await self.connect()
                continue
            except BackoffError as err:
                await asyncio.sleep(err.duration)
                continue
            except Exception as err:
                self.res.logger.error(f"Failed to read message: {err}")
                await asyncio.sleep(self._read_backoff.next())
                continue
            if not batch:
                await ack(None)
                await asyncio.sleep(self._read_backoff.next())
                continue
            self._read_backoff.reset()
            self._received.incr(len(batch))
            if flag_unserialisable(batch):
                self.res.logger.error(f"Input {self.type_name} produced a message that cannot be serialised")
            mark_origins(batch)  # before the replay copies, which keep them
            started = time.perf_counter_ns()
            if self.auto_replay:
                replay = _Replay([m.deep_copy() for m in batch], ack)
                self._outstanding += 1
                return await self._with_processors(batch, self._replaying_ack(replay, started))
            return await self._with_processors(batch, self._timed_ack(ack, started))

    def _replay_transaction(self, replay: _Replay) -> tuple[list[Message], AckFn]:
        batch = [m.deep_copy() for m in replay.batch]
        return batch, self._replaying_ack(replay, time.perf_counter_ns())

    async def _with_processors(self, batch: list[Message], ack: AckFn) -> tuple[list[Message], AckFn]:
        if not self.processors:
            return batch, ack
        batches = await run_processors(self.processors, batch)
        merged = [m for b in batches for m in b]
        if not merged:
            await ack(None)
            return [], _noop
        return merged, ack

    def _timed_ack(self, ack: AckFn, started: int) -> AckFn:
        async def timed(err: BaseException | None) -> None:
            self._latency.timing(time.perf_counter_ns() - started)
            await ack(err)

        return timed

    def _replaying_ack(self, replay: _Replay, started: int) -> AckFn:
        async def replaying(err: BaseException | None) -> None:
            if err is None:
                self._latency.timing(time.perf_counter_ns() - started)
                self._outstanding -= 1
                await replay.ack(None)
            else:
                if isinstance(err, BatchError):
                    # as upstream's auto-replay: only the messages that failed come back
                    failed = err.indexes_in(replay.batch)
                    if failed:
                        replay.batch = [replay.batch[i] for i in failed]
                self._replays.append(replay)
            self._replay_changed.set()

        return replaying

    async def close(self) -> None:
        for stage in self.processors:
            with contextlib.suppress(Exception):
                await stage.close()
        await self.input.close()


async def _noop(_: BaseException | None) -> None:
    return None


# -- output -----------------------------------------------------------------------------------------


class OutputStage:
    """An output with its batch policy, ``processors``, ``max_in_flight`` writers, connect loop and
    the ``output_*`` metrics. ``submit`` hands over one transaction and returns once it has been
    accepted (this is the back pressure); the returned future resolves when it was written."""

    def __init__(
        self,
        out: Output,
        res: Resources,
        type_name: str,
        *,
        max_in_flight: int = 1,
        policy: BatchPolicy | None = None,
        processors: list[ProcessorStage] | None = None,
    ) -> None:
        self.output = traced_output(out, type_name)  # itself when no tracer is set
        self.res = res
        self.type_name = type_name
        self.processors = processors or []
        self.max_in_flight = max_in_flight
        self._slots = asyncio.Semaphore(max_in_flight) if max_in_flight > 0 else None
        self._writes: set[asyncio.Task[None]] = set()
        self.connected = False
        self.error: str | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._connected_event = asyncio.Event()
        self._own_processing = ProcessedOnce(self.processors) if self.processors else None
        # As upstream, an output's own processors are one stage that takes transactions in the
        # order they arrive: the pipeline's workers hand them over concurrently, and without
        # this a message whose processing finished sooner would overtake the one before it.
        self._in_order = asyncio.Lock()
        self._policy_processing = (
            ProcessedOnce(policy.processors) if policy is not None and policy.processors else None
        )
        self.batcher: Batcher | None = None
        if policy is not None and not policy.is_noop:
            self.batcher = Batcher(policy, self._flush, res.logger, res.metrics)
        self.policy = policy
        m = res.metrics
        self._sent = m.counter("output_sent")
        self._batch_sent = m.counter("output_batch_sent")
        self._error = m.counter("output_error")
        self._latency = m.timer("output_latency_ns")
        self._rejected = m.counter("output_rejected")
        self._conn_up = m.counter("output_connection_up")
        self._conn_failed = m.counter("output_connection_failed")
        self._conn_lost = m.counter("output_connection_lost")

    # -- lifecycle ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Start connecting in the background (retried with backoff until it works)."""
        if self._connect_task is None:
            self._connect_task = asyncio.get_running_loop().create_task(self._connect_loop())
        if self.batcher is not None:
            self.batcher.start()

    async def _connect_loop(self) -> None:
        backoff = Backoff(0.1, 1.0, 1.5)
        while True:
            try:
                await self.output.connect()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._conn_failed.incr()
                self.error = str(err)
                self.res.logger.error(f"Failed to connect to {self.type_name}: {err}")
                await asyncio.sleep(err.duration if isinstance(err, BackoffError) else backoff.next())
                continue
            self.connected = True
            self.error = None
            self._conn_up.incr()
            self._connected_event.set()
            self.res.logger.info(f"Output type {self.type_name} is now active")
            return

    async def _reconnect(self) -> None:
        self.connected = False
        self._connected_event.clear()
        self._conn_lost.incr()
        self._connect_task = asyncio.get_running_loop().create_task(self._connect_loop())
        await self._connected_event.wait()

    def statuses(self) -> list[dict[str, Any]]:
        own: dict[str, Any] = {"label": self.res.label, "path": self.res.path, "connected": self.connected}
        if self.error and not self.connected:
            own["error"] = self.error
        children = getattr(self.output, "statuses", None)
        return [own, *(children() if callable(children) else [])]

    # -- sending -----------------------------------------------------------------------------------

    async def submit(self, batch: list[Message]) -> asyncio.Future[None]:
        if self._own_processing is None:
            return await self._hand_on(batch)
        async with self._in_order:  # FIFO: held until the transaction is handed on
            return await self._hand_on(batch)

    async def _hand_on(self, batch: list[Message]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if self._own_processing is not None:
            processing = self._own_processing
            batch, records = await processing.run(batch)
            done.add_done_callback(lambda fut: _forget_if_delivered(fut, processing, records))
            if not batch:
                done.set_result(None)
                return done
        if self.res.strict:
            failed = [m for m in batch if m.error is not None]
            if failed:
                self._rejected.incr(len(failed))
                self.res.logger.error(f"Rejecting message due to processing error: {failed[0].error}")
                done.set_exception(
                    RejectedError(f"message rejected due to processing error: {failed[0].error}")
                )
                return done
        if self.batcher is not None:
            record = self._policy_processing.record_of(batch) if self._policy_processing else None
            if record is not None and record.partial:
                # the failed part of a batch: written again as it was processed, when traceable
                part = record.results_for(batch)
                if part is not None:
                    await self._start_write(part, [done])
                    return done
                assert self._policy_processing is not None
                self._policy_processing.forget([record])
                await self.batcher.add(batch, done)
            elif record is not None:
                await self._return_to_batch(record, batch, done)
            else:
                await self.batcher.add(batch, done)
        else:
            await self._start_write(batch, [done])
        return done

    async def _return_to_batch(
        self, record: ProcessedRecord, batch: list[Message], done: asyncio.Future[None]
    ) -> None:
        """A retried transaction of a batch whose write failed: once every transaction of that
        batch is back, the batch is written again as it was processed (the batch processors do
        not run again). Were one never to come back, the others are batched anew after a while."""
        record.returned.append((batch, done))
        record.returned_count += len(batch)
        if record.returned_count >= len(record.sources):
            if record.regather is not None:
                record.regather.cancel()
            waiting = [fut for _, fut in record.returned]
            record.returned, record.returned_count, record.regather = [], 0, None
            await self._start_write(record.result, waiting, [record])
        elif record.regather is None:
            loop = asyncio.get_running_loop()
            record.regather = loop.call_later(REGATHER_AFTER, lambda: loop.create_task(self._rebatch(record)))

    async def _rebatch(self, record: ProcessedRecord) -> None:
        returned, record.returned, record.returned_count, record.regather = record.returned, [], 0, None
        assert self._policy_processing is not None and self.batcher is not None
        self._policy_processing.forget([record])
        for batch, done in returned:
            await self.batcher.add(batch, done)

    async def send(self, batch: list[Message]) -> None:
        """Hand over a transaction and wait for its result (raises the write error: a nack)."""
        done = await self.submit(batch)
        await done

    async def _flush(self, messages: list[Message], pending: list[asyncio.Future[None]]) -> None:
        batch = messages
        records: list[ProcessedRecord] = []
        if self._policy_processing is not None:
            batch, records = await self._policy_processing.run(messages)
            if not batch:
                self._policy_processing.forget(records)
                for fut in pending:
                    if not fut.done():
                        fut.set_result(None)
                return
        await self._start_write(batch, pending, records)

    async def _start_write(
        self,
        batch: list[Message],
        pending: list[asyncio.Future[None]],
        records: list[ProcessedRecord] | None = None,
    ) -> None:
        if self._slots is not None:
            await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._write(batch, pending, records or []))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(
        self, batch: list[Message], pending: list[asyncio.Future[None]], records: list[ProcessedRecord]
    ) -> None:
        error: BaseException | None = None
        try:
            if not self.connected:
                await self._connected_event.wait()
            start = time.perf_counter_ns()
            while True:
                try:
                    await self.output.write_batch(batch)
                    break
                except NotConnectedError:
                    await self._reconnect()
            self._latency.timing(time.perf_counter_ns() - start)
            self._batch_sent.incr()
            self._sent.incr(sum(m.collapsed for m in batch))
            if self._policy_processing is not None:
                self._policy_processing.forget(records)
        except asyncio.CancelledError as err:
            error = err
        except Exception as err:
            error = err
            self._error.incr()
            if self.max_in_flight > 0:  # a pass-through wrapper's child has logged it already
                self.res.logger.error(f"Failed to send message to {self.type_name}: {err}")
            if isinstance(err, BatchError) and err.indexes_in(batch) is not None:
                # only the failed messages come back, not the whole batch to regather
                for record in records:
                    record.partial = True
        finally:
            if self._slots is not None:
                self._slots.release()
            for fut in pending:
                if fut.done():
                    continue
                if error is None:
                    fut.set_result(None)
                elif isinstance(error, asyncio.CancelledError):
                    fut.set_exception(ShutdownError("context canceled"))
                else:
                    fut.set_exception(error)

    async def drain(self) -> None:
        """Flush the batcher (honouring a pending period tick) and wait for writes in flight."""
        drain_children = getattr(self.output, "drain", None)
        if self.batcher is not None:
            await self.batcher.close()
        # a wrapper's writes wait on its child: drain the child while they are pending
        while True:
            if callable(drain_children):
                await drain_children()
            if not self._writes:
                break
            await asyncio.wait(set(self._writes), timeout=0.1)

    def abort(self) -> None:
        """Forced shutdown: cancel pending writes (their transactions are nacked)."""
        if self.batcher is not None:
            self.batcher.cancel()
            for fut in self.batcher.pending:
                if not fut.done():
                    fut.set_exception(ShutdownError("context canceled"))
            self.batcher.pending.clear()
            self.batcher.messages.clear()
        for task in list(self._writes):
            task.cancel()
        for processing in (self._own_processing, self._policy_processing):
            if processing is not None:
                for record in processing.clear():
                    if record.regather is not None:
                        record.regather.cancel()
                    for _, fut in record.returned:
                        if not fut.done():
                            fut.set_exception(ShutdownError("context canceled"))
        abort_children = getattr(self.output, "abort", None)
        if callable(abort_children):
            abort_children()

    async def close(self) -> None:
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()
        if self.batcher is not None:
            self.batcher.cancel()
        for stage in self.processors:
            with contextlib.suppress(Exception):
                await stage.close()
        if self.policy is not None:
            for stage in self.policy.processors or []:
                with contextlib.suppress(Exception):
                    await stage.close()
        await self.output.close()


def _read_result(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled():
        fut.exception()


# Write errors another attempt would meet again: the transaction is nacked at once.
_FINAL = (RejectedError, UnwritableError, UnicodeError)

# How long the transactions of a failed batch wait for the rest of it to come back (their retries
# are spread by jittered backoff of at most a few seconds) before they are batched anew.
REGATHER_AFTER = 10.0


def _forget_if_delivered(
    fut: asyncio.Future[None], processing: ProcessedOnce, records: list[ProcessedRecord]
) -> None:
    if not fut.cancelled() and fut.exception() is None:
        processing.forget(records)


# -- the stream -------------------------------------------------------------------------------------


class _Unsettled:
    """Counts the transactions handed to a buffer whose acknowledgement has not come back."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = asyncio.Event()

    def track(self, ack: AckFn) -> AckFn:
        self.count += 1
        done = False

        async def tracked(err: BaseException | None) -> None:
            nonlocal done
            if not done:
                done = True
                self.count -= 1
                self.changed.set()
            await ack(err)

        return tracked

    async def settled(self) -> None:
        while self.count:
            self.changed.clear()
            await self.changed.wait()


class Stream:
    """Runs one config's input → buffer → pipeline → output until end of input or ``stop()``."""

    def __init__(
        self,
        res: Resources,
        input_stage: InputStage,
        output_stage: OutputStage,
        *,
        processors: list[ProcessorStage] | None = None,
        buffer: Any = None,
        threads: int = 1,
        shutdown_timeout: float = 20.0,
    ) -> None:
        self.res = res
        self.input = input_stage
        self.output = output_stage
        input_stage.idle_flush = output_stage.drain
        self.processors = processors or []
        self.buffer = buffer
        self.threads = max(1, threads)
        self.shutdown_timeout = shutdown_timeout
        self._stop_reading = asyncio.Event()
        self._input_done = asyncio.Event()
        self._forced = False
        self._deliveries: set[asyncio.Task[None]] = set()
        self._queue: asyncio.Queue[tuple[list[Message], AckFn] | None] = asyncio.Queue(maxsize=1)
        self.terminated = False
        self.delivery_backoff_max = 1.0
        # Back pressure on failure: while any delivery is being retried, no new transaction is
        # handed to the output (upstream, too, retries until the send succeeds and holds the
        # rest back meanwhile), so a failing output does not pile up retries without bound.
        self._retrying = 0
        self._healthy = asyncio.Event()
        self._healthy.set()
        self._processing: set[asyncio.Future[list[list[Message]]]] = set()
        # Messages read from the input whose transaction a forced shutdown handed back undelivered.
        self.undelivered = 0

    def statuses(self) -> list[dict[str, Any]]:
        own = {"label": self.input.res.label, "path": self.input.res.path, "connected": self.input.connected}
        if self.input.error and not self.input.connected:
            own["error"] = self.input.error
        return [own, *self.output.statuses()]

    async def run(self) -> None:
        """Run until the input ends or ``stop()`` drains it; returns when everything is done."""
        await self.output.connect()
        if self.buffer is not None:
            await self.buffer.connect()
        reader = asyncio.create_task(self._read_loop(), name="input-reader")
        buffer_reader = (
            asyncio.create_task(self._buffer_loop(), name="buffer-reader")
            if self.buffer is not None
            else None
        )
        workers = [asyncio.create_task(self._worker(), name=f"pipeline-{i}") for i in range(self.threads)]
        await reader
        if buffer_reader is not None:
            await buffer_reader
        for _ in workers:
            await self._queue.put(None)
        await asyncio.gather(*workers)
        # Deliveries wait on batches that only a flush completes (a count-only policy never
        # flushes by itself), and a retried delivery may hand its batch over again: flush
        # until every delivery has its result.
        while self._deliveries:
            await self.output.drain()
            if self._deliveries:
                await asyncio.wait(set(self._deliveries), timeout=0.1)
        await self.output.drain()
        self.terminated = True

    async def _read_loop(self) -> None:
        target = self.buffer
        unsettled = _Unsettled()
        try:
            await self._race_stop(self.input.connect())
            while not self._stop_reading.is_set():
                item = await self._race_stop(self.input.read())
                if item is None:
                    break
                batch, ack = item
                if not batch:
                    continue
                if target is not None:
                    await target.write(batch, unsettled.track(ack))
                else:
                    await self._queue.put((batch, ack))
        except EndOfInputError:
            self.res.logger.info("Input has reached its end; draining the pipeline")
            # As upstream, an input that ends tells the buffer so only once every transaction
            # it wrote there is acknowledged: a buffer that holds acks back (system_window)
            # flushes its windows first. A stop request cuts the wait short.
            await self._race_stop(unsettled.settled())
        finally:
            self._input_done.set()
            if target is not None:
                await target.end_of_input()

    async def _race_stop(self, awaitable: Any) -> Any:
        """Await ``awaitable`` unless a stop is requested first (then cancel it, return None)."""
        task = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._stop_reading.wait())
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            stopper.cancel()
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return None

    async def _buffer_loop(self) -> None:
        assert self.buffer is not None
        while True:
            try:
                item = await self.buffer.read()
            except EndOfInputError:
                return
            await self._queue.put(item)

    async def _worker(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            batch, ack = item
            size = len(batch)
            if self._forced:
                self.undelivered += size
                await ack(ShutdownError("context canceled"))
                continue
            mark_origins(batch)  # (a buffer hands over messages of its own making)
            processing = asyncio.ensure_future(run_processors(self.processors, batch))
            self._processing.add(processing)
            try:
                batches = await processing
            except asyncio.CancelledError:
                if not self._forced:
                    raise
                # a forced shutdown abandoned a processor still running (in a worker thread)
                self.undelivered += size
                await ack(ShutdownError("context canceled"))
                continue
            except Exception as err:  # a processor bug: hand the batch back
                self.res.logger.error(f"Processing failed: {err}")
                await ack(err)
                continue
            finally:
                self._processing.discard(processing)
            if not batches:
                await ack(None)
                continue
            if not self._healthy.is_set():
                await self._race_forced(self._healthy.wait())
                if self._forced:
                    self.undelivered += size
                    await ack(ShutdownError("context canceled"))
                    continue
            pending = []
            for out in batches:
                pending.append((out, await self._submit(out)))
            task = asyncio.create_task(self._deliver(pending, ack, size))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _submit(self, batch: list[Message]) -> asyncio.Future[None]:
        try:
            return await self.output.submit(batch)
        except Exception as err:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            fut.set_exception(err)
            return fut

    async def _deliver(
        self, pending: list[tuple[list[Message], asyncio.Future[None]]], ack: AckFn, size: int
    ) -> None:
        """Wait for each batch's result, retrying failures with the same messages until they are
        delivered; a forced shutdown nacks whatever is still undelivered."""
        error: BaseException | None = None
        retrying = False
        for batch, fut in pending:
            backoff = Backoff(0.1, self.delivery_backoff_max, 2.0)
            while True:
                try:
                    await fut
                    break
                except BatchError as err:
                    failed = err.indexes_in(batch)
                    if failed is not None:
                        if not failed:  # every message of this transaction was delivered
                            break
                        batch = [batch[i] for i in failed]  # retry only what failed
                    errors = list(failed.values()) if failed else [err.error]
                    if all(isinstance(e, _FINAL) for e in errors):
                        error = err
                        break
                    cause: BaseException = err
                except _FINAL as err:
                    # deterministic: another attempt would fail the same way
                    error = err
                    break
                except (ShutdownError, asyncio.CancelledError) as err:
                    error = err if isinstance(err, ShutdownError) else ShutdownError("context canceled")
                    break
                except Exception as err:
                    cause = err
                if self._forced:
                    error = cause
                    break
                if not retrying:
                    retrying = True
                    self._retrying += 1
                    self._healthy.clear()
                await asyncio.sleep(backoff.next())
                if self._forced:
                    error = cause
                    break
                fut = await self._submit(batch)
            if error is not None:
                break
        if retrying:
            self._retrying -= 1
            if self._retrying == 0:
                self._healthy.set()
        for _, fut in pending:
            # the results no longer awaited (a batch before them failed for good) are still read
            fut.add_done_callback(_read_result)
        if isinstance(error, BatchError) and len(pending) > 1:
            # it names messages of one of the transaction's batches only: the input must not take
            # it as the whole story (replaying just those would lose the other batches' failures)
            error = error.error
        if error is not None and (self._forced or isinstance(error, ShutdownError)):
            self.undelivered += size
        await ack(error)

    async def _race_forced(self, awaitable: Any) -> None:
        """Wait for ``awaitable`` unless a forced shutdown comes first."""
        task = asyncio.ensure_future(awaitable)
        while not task.done():
            if self._forced:
                task.cancel()
                return
            await asyncio.wait({task}, timeout=0.2)

    def stop(self) -> None:
        """Begin a graceful shutdown: stop reading; pending work drains."""
        self._stop_reading.set()

    def force(self) -> None:
        """Forced shutdown: abandon writes in flight; their transactions are nacked."""
        self._forced = True
        self._stop_reading.set()
        for processing in list(self._processing):
            processing.cancel()
        self.output.abort()

    async def close(self) -> None:
        for stage in self.processors:
            with contextlib.suppress(Exception):
                await stage.close()
        with contextlib.suppress(Exception):
            await self.input.close()
        if self.buffer is not None:
            with contextlib.suppress(Exception):
                await self.buffer.close()
        with contextlib.suppress(Exception):
            await self.output.close()
