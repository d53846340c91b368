"""The ``sqlite`` buffer: batches are stored in an SQLite file before the input is acknowledged.

What the input had acknowledged survives a crash (the row is committed before the ack) and is
delivered after a restart. A row is deleted only when everything made of it was delivered; a nack
puts it back at the front of the queue. SQLite runs in one worker thread of its own, so the event
loop never waits on the disk.

Group commit: ``write`` queues a batch and returns, so the input goes on taking requests; writes
that arrive while a commit is running wait for the next one, and all of them share its
transaction; each write is acknowledged only once that transaction is committed (beyond 1024
queued writes the input waits for the disk). Deletes
of delivered rows are grouped the same way (in a transaction of their own), and the output side
reads rows ahead in small runs, so a busy ingest costs a few transactions per burst, not one per
request.

Differences from upstream, chosen on purpose:
- rows hold metadata as JSON instead of msgpack (the file is not shared with a Go process);
- ``synchronous=NORMAL`` with WAL instead of ``OFF``: a committed row survives the process being
  killed either way, and NORMAL also keeps the file consistent across an OS crash;
- a nacked row is re-read on its own: rows read after it and still in flight are not re-sent
  (upstream rewinds its read cursor and delivers them twice);
- a row the ``post_processors`` filter entirely is deleted (upstream leaves it in the file).

A full disk: a write that fails is refused to the input (its client gets an error) and counted in
``buffer_write_error``. Deleting a delivered row can fail too (the delete needs room in the
write-ahead log); the row is then remembered as delivered, never handed out again, counted in
``buffer_delete_error`` and ``buffer_deletes_pending``, and the delete is retried with backoff until
it works (and once more at close). Each delete that succeeds after a failure is followed by a WAL checkpoint, so
the freed pages are reused and writes are accepted again as soon as space returns. (While the disk
has room, SQLite's own automatic checkpoints are enough: a checkpoint after every delete would cost
a sync each.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sqlite3
import struct
from collections.abc import Callable
from typing import Any, TypeVar

from mapping_lang.value import format_json, parse_json
from pipeline.engine import run_processors
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_buffer
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, component_list, string

_T = TypeVar("_T")

SPEC = ComponentSpec(
    "sqlite",
    "buffer",
    summary="Keeps messages in an SQLite database and acknowledges them to the input as soon as they are stored.",
    description=(
        "The pipeline reads messages back from the database in order; a row is deleted only after its "
        "message was delivered by the outputs. Rows left over when the service stops are read again on "
        "the next start."
    ),
    fields=[
        string(
            "path",
            'Database file, created when missing; ":memory:" keeps the database in memory instead.',
        ),
        component_list(
            "pre_processors",
            "processor",
            "Processors run on messages before they are written to the database.",
            optional=True,
        ),
        component_list(
            "post_processors",
            "processor",
            "Processors run on messages after they are read back from the database.",
            optional=True,
        ),
    ],
)

_FORMAT_VERSION = 1  # upstream writes 0 (msgpack metadata); ours is JSON metadata
_FRESH = 9223372036854775807  # requeue value of a row never nacked (upstream: max int64)
_READ_AHEAD = 64  # rows the output side reads from the file at once
_MAX_WAITING = 1024  # writes queued for the next commit before the input has to wait


def encode_batch(batch: list[Message]) -> bytes:
    """A batch as a row: version, count, then per message framed JSON metadata and raw payload."""
    parts = [struct.pack(">II", _FORMAT_VERSION, len(batch))]
    for msg in batch:
        meta = format_json(msg.metadata)
        body = msg.content
        parts.append(struct.pack(">I", len(meta)))
        parts.append(meta)
        parts.append(struct.pack(">I", len(body)))
        parts.append(body)
    return b"".join(parts)


def decode_batch(row: bytes) -> list[Message]:
    version, count = struct.unpack_from(">II", row, 0)
    if version != _FORMAT_VERSION:
        raise ValueError(f"unsupported buffer row format version {version}")
    offset = 8
    batch = []
    for _ in range(count):
        (meta_len,) = struct.unpack_from(">I", row, offset)
        offset += 4
        meta = parse_json(row[offset : offset + meta_len])
        offset += meta_len
        (body_len,) = struct.unpack_from(">I", row, offset)
        offset += 4
        body = row[offset : offset + body_len]
        offset += body_len
        batch.append(Message(bytes(body), dict(meta) if isinstance(meta, dict) else {}))
    return batch


class _Store:
    """The SQLite file; every method runs on the buffer's single worker thread."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            if not os.path.exists(path):
                # upstream creates the file with mode 0600: it may hold sensitive events
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, content BLOB NOT NULL, requeue INTEGER NOT NULL)"
        )

    def insert(self, rows: list[bytes]) -> None:
        with self.db:  # one transaction: committed before the input is acked
            self.db.executemany(
                "INSERT INTO messages (content, requeue) VALUES (?, ?)", [(r, _FRESH) for r in rows]
            )

    def commit(
        self, rows: list[bytes], deletes: list[int], checkpoint: bool
    ) -> tuple[sqlite3.Error | None, sqlite3.Error | None]:
        """One group: the rows of every write waiting (one transaction), then the deletes waiting
        (another, so a delete that finds no room never refuses a write); the error of each."""
        insert_error = delete_error = None
        if rows:
            try:
                self.insert(rows)
            except sqlite3.Error as err:
                insert_error = err
        if deletes:
            try:
                self.delete(deletes, checkpoint)
            except sqlite3.Error as err:
                delete_error = err
        return insert_error, delete_error

    def next_rows(self, after_id: int, limit: int) -> list[tuple[int, bytes]]:
        found = self.db.execute(
            "SELECT id, content FROM messages WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        ).fetchall()
        return [(row_id, bytes(content)) for row_id, content in found]

    def row(self, row_id: int) -> bytes | None:
        found = self.db.execute("SELECT content FROM messages WHERE id = ?", (row_id,)).fetchone()
        return None if found is None else bytes(found[0])

    def delete(self, row_ids: list[int], checkpoint: bool = True) -> None:
        with self.db:
            self.db.executemany("DELETE FROM messages WHERE id = ?", [(r,) for r in row_ids])
        if checkpoint:
            # move the WAL back into the file so its pages can hold new rows (best effort: a
            # checkpoint can find no room either; the next one catches up)
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def close(self) -> None:
        self.db.close()


class _RowAck:
    """The shared ack of every transaction made from one row: delete when all succeeded, give
    the row back for redelivery on the first failure."""

    def __init__(self, buffer: SQLiteBuffer, row_id: int, parts: int) -> None:
        self.buffer = buffer
        self.row_id = row_id
        self.remaining = parts
        self.done = False

    def part(self) -> AckFn:
        async def ack(err: BaseException | None) -> None:
            if self.done:
                return
            if err is not None:
                self.done = True
                await self.buffer._requeue(self.row_id)
                return
            self.remaining -= 1
            if self.remaining <= 0:
                self.done = True
                await self.buffer._delete(self.row_id)

        return ack


class SQLiteBuffer:
    def __init__(
        self, path: str, res: Resources, pre_processors: list[Any] | None, post_processors: list[Any] | None
    ) -> None:
        self.path = path
        self.res = res
        self.pre_processors = res.build_processors(pre_processors, "pre_processors") if pre_processors else []
        self.post_processors = (
            res.build_processors(post_processors, "post_processors") if post_processors else []
        )
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sqlite-buffer"
        )
        self._store: _Store | None = None
        self._last_id = 0  # the highest row id handed out so far
        self._in_flight: set[int] = set()
        self._requeued: list[int] = []
        self._ready: list[tuple[list[Message], AckFn]] = []  # transactions of the row being read
        self._changed = asyncio.Event()
        self._opening = asyncio.Lock()
        self._ended = False
        self._closed = False
        m = res.metrics
        self._received = m.counter("buffer_received")
        self._batch_received = m.counter("buffer_batch_received")
        self._sent = m.counter("buffer_sent")
        self._batch_sent = m.counter("buffer_batch_sent")
        self._write_error = m.counter("buffer_write_error")
        self._delete_error = m.counter("buffer_delete_error")
        self._deletes_pending_gauge = m.gauge("buffer_deletes_pending")
        # rows delivered whose delete failed (a full disk): never handed out again, retried
        self._undeleted: set[int] = set()
        self._delete_retry: asyncio.Task[None] | None = None
        # group commit: writes and deletes that arrive while a commit runs wait for the next one,
        # and share its transaction
        self._waiting_rows: list[tuple[list[bytes], int, AckFn]] = []  # rows, messages, ack
        self._waiting_deletes: list[tuple[int, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None
        # after the disk ran out of space, every delete is followed by a checkpoint so the freed
        # pages can take new rows; otherwise SQLite's own automatic checkpoints suffice
        self._short_of_space = False
        self._prefetched: list[tuple[int, bytes]] = []  # rows read ahead, in id order

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def connect(self) -> None:
        async with self._opening:  # the input and output sides may both arrive first
            if self._store is None:
                self._store = await self._run(_Store, self.path)
                backlog = await self._run(self._store.count)
                if backlog:
                    self.res.logger.info(
                        f"Resuming {backlog} undelivered batches from the buffer at {self.path}"
                    )

    # -- input side ---------------------------------------------------------------------------------

    async def write(self, batch: list[Message], ack: AckFn) -> None:
        await self.connect()
        assert self._store is not None
        try:
            batches = [batch]
            if self.pre_processors:
                batches = await run_processors(self.pre_processors, batch)
            rows = [encode_batch(b) for b in batches if b]
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self._write_error.incr()
            self.res.logger.error(f"Failed to write to the buffer: {err}")
            await ack(err)
            return
        if not rows:  # the pre_processors filtered everything: nothing to keep
            self._received.incr(len(batch))
            self._batch_received.incr()
            await ack(None)
            return
        # queued for the next group commit, which acks it; the input goes on reading meanwhile
        self._waiting_rows.append((rows, len(batch), ack))
        self._start_committer()
        if len(self._waiting_rows) >= _MAX_WAITING and self._committer is not None:
            await asyncio.wait({self._committer})  # back pressure: the disk is behind

    def _start_committer(self) -> None:
        if self._committer is None or self._committer.done():
            self._committer = asyncio.get_running_loop().create_task(self._commit_waiting())

    async def _commit_waiting(self) -> None:
        """Commit what waits, as one group, until nothing does: each write is resolved only once
        the transaction holding its rows is committed."""
        while (self._waiting_rows or self._waiting_deletes) and self._store is not None:
            writes, self._waiting_rows = self._waiting_rows, []
            deletes, self._waiting_deletes = self._waiting_deletes, []
            rows = [row for batch_rows, _, _ in writes for row in batch_rows]
            insert_error: BaseException | None
            delete_error: BaseException | None
            try:
                insert_error, delete_error = await self._run(
                    self._store.commit, rows, [row_id for row_id, _ in deletes], self._short_of_space
                )
            except Exception as err:  # the executor is gone (closing): nothing was committed
                insert_error = delete_error = err
            if rows:
                self._short_of_space = insert_error is not None
            if writes:
                if insert_error is None:
                    self._received.incr(sum(size for _, size, _ in writes))
                    self._batch_received.incr(len(writes))
                    self._changed.set()
                else:
                    self._write_error.incr(len(writes))
                    self.res.logger.error(f"Failed to write to the buffer: {insert_error}")
                for _, _, ack in writes:
                    try:
                        await ack(insert_error)
                    except Exception as err:  # one input's ack must not stop the others'
                        self.res.logger.error(f"Failed to acknowledge a buffered batch: {err}")
            for _, done in deletes:
                if not done.done():
                    if delete_error is None:
                        done.set_result(None)
                    else:
                        done.set_exception(delete_error)

    async def end_of_input(self) -> None:
        if self._committer is not None:
            await asyncio.wait({self._committer})  # what was written is in the file first
        self._ended = True
        self._changed.set()

    # -- output side --------------------------------------------------------------------------------

    async def read(self) -> tuple[list[Message], AckFn]:
        await self.connect()
        assert self._store is not None
        while True:
            if self._ready:
                batch, ack = self._ready.pop(0)
                self._sent.incr(len(batch))
                self._batch_sent.incr()
                return batch, ack
            if self._closed:
                raise EndOfInputError()
            self._changed.clear()
            found = await self._next_row()
            if found is not None:
                await self._expand(*found)
                continue
            if self._ended and not self._in_flight:
                raise EndOfInputError()
            await self._changed.wait()

    async def _next_row(self) -> tuple[int, bytes] | None:
        assert self._store is not None
        while self._requeued:
            row_id = self._requeued.pop(0)
            if row_id in self._undeleted:
                continue
            content = await self._run(self._store.row, row_id)
            if content is not None:
                return row_id, content
        if not self._prefetched:
            self._prefetched = await self._run(self._store.next_rows, self._last_id, _READ_AHEAD)
            if self._prefetched:
                self._last_id = max(self._last_id, self._prefetched[-1][0])
        return self._prefetched.pop(0) if self._prefetched else None

    async def _expand(self, row_id: int, content: bytes) -> None:
        try:
            batch = decode_batch(content)
        except Exception as err:
            # an unreadable row can never be delivered: keep it in the file, skip it
            self.res.logger.error(f"Failed to read buffer row {row_id}: {err}")
            return
        batches = [batch]
        if self.post_processors:
            batches = [b for b in await run_processors(self.post_processors, batch) if b]
        if not batches:
            await self._delete(row_id)
            return
        self._in_flight.add(row_id)
        row_ack = _RowAck(self, row_id, len(batches))
        self._ready.extend((b, row_ack.part()) for b in batches)

    async def _delete(self, row_id: int) -> None:
        assert self._store is not None
        try:
            done = asyncio.get_running_loop().create_future()
            self._waiting_deletes.append((row_id, done))
            self._start_committer()
            await done
        except sqlite3.Error as err:
            self._short_of_space = True
            self._delete_error.incr()
            self._undeleted.add(row_id)
            self._deletes_pending_gauge.set(len(self._undeleted))
            if self._delete_retry is None or self._delete_retry.done():
                self.res.logger.error(
                    f"Failed to delete delivered rows from the buffer at {self.path}: {err}; "
                    "retrying (they are not delivered again unless the process stops first)"
                )
                self._delete_retry = asyncio.get_running_loop().create_task(self._retry_deletes())
        finally:
            self._in_flight.discard(row_id)
            self._changed.set()

    async def _retry_deletes(self) -> None:
        wait = 0.5
        while self._undeleted and self._store is not None:
            await asyncio.sleep(wait)
            if await self._flush_deletes():
                return
            wait = min(wait * 2, 10.0)

    async def _flush_deletes(self) -> bool:
        """Try the failed deletes again; True once none are left."""
        if not self._undeleted or self._store is None:
            return not self._undeleted
        rows = sorted(self._undeleted)
        deleted = 0
        try:
            # small transactions: each needs little room in the write-ahead log
            for first in range(0, len(rows), 32):
                chunk = rows[first : first + 32]
                await self._run(self._store.delete, chunk, True)
                self._undeleted.difference_update(chunk)
                deleted += len(chunk)
        except sqlite3.Error:
            self._delete_error.incr()
        self._deletes_pending_gauge.set(len(self._undeleted))
        if deleted:
            self.res.logger.info(
                f"Deleted {deleted} delivered rows from the buffer at {self.path} after retrying"
            )
        return not self._undeleted

    async def _requeue(self, row_id: int) -> None:
        self._in_flight.discard(row_id)
        # a nack after the input ended is a shutdown abandoning the row: it stays in the file for
        # the next run instead of being sent again now (which would never let the stream stop)
        if not self._ended and row_id not in self._requeued:
            self._requeued.append(row_id)
            self._requeued.sort()
        self._changed.set()

    async def close(self) -> None:
        self._closed = True
        self._changed.set()
        for stage in [*self.pre_processors, *self.post_processors]:
            with contextlib.suppress(Exception):
                await stage.close()
        if self._delete_retry is not None:
            self._delete_retry.cancel()
        if self._committer is not None:
            with contextlib.suppress(Exception):
                await self._committer
        if self._store is not None:
            if self._undeleted and not await self._flush_deletes():
                self.res.logger.error(
                    f"{len(self._undeleted)} delivered rows could not be deleted from the buffer at "
                    f"{self.path}: they will be delivered again on the next run"
                )
            store, self._store = self._store, None
            await self._run(store.close)
        self._executor.shutdown(wait=False)


def _build(conf: dict[str, Any], res: Resources) -> SQLiteBuffer:
    return SQLiteBuffer(conf["path"], res, conf.get("pre_processors"), conf.get("post_processors"))


register_buffer(SPEC, _build)
