"""The ``sql_raw`` output: run a query (or several) for every message.

As upstream (``internal/impl/sql/output_sql_raw.go``):

- With one query (``query``, or a single entry of ``queries``), each message of a batch runs it on
  its own, outside any transaction, and every message is tried; when some fail the batch fails
  with the first error (``running query: ...``, ``arguments mapping failed: ...``) as a
  ``BatchError`` naming them, so only they are tried again. A ``when`` that gives false skips the
  message.
- With several queries the whole batch runs in one transaction, messages ordered by their
  ``kafka_partition`` metadata (numerically; none counts as 0; the batch's order within a
  partition). Without ``when`` every query runs for every message; with ``when`` the first query
  whose ``when`` is true (or that has none) runs. Any failure rolls the transaction back and
  fails the batch.
- ``args_mapping`` makes a message whose payload is read as a document and must be an array
  (``mapping returned non-array result: ...``); ``unsafe_dynamic_query`` resolves ``${! }`` in the
  query per message.

Where we differ: only the ``sqlite`` driver exists (``pipeline/sql_conn.py``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from typing import Any

from mapping_lang.assign_path import go_atoi
from pipeline import spec as s
from pipeline import sql_conn
from pipeline.errors import BatchError, NotConnectedError
from pipeline.message import Message
from pipeline.plugin import register_output


def _when_problems(conf: Any) -> list[str]:
    """Upstream's rule: with ``when`` in use, only the last query may go without one."""
    queries = conf.get("queries") if isinstance(conf, dict) else None
    if not isinstance(queries, list) or len(queries) < 2:
        return []
    has_when = [isinstance(q, dict) and q.get("when") is not None for q in queries]
    if not any(has_when):
        return []
    return [
        f"query at index {i} has no `when` condition and will always match, making subsequent queries unreachable"
        for i, when in enumerate(has_when[:-1])
        if not when
    ]


def _problems(conf: Any) -> list[str]:
    return sql_conn.conn_problems(conf) + sql_conn.raw_query_problems(conf) + _when_problems(conf)


SPEC = s.ComponentSpec(
    "sql_raw",
    "output",
    summary="Runs a SQL query for every message.",
    description=(
        "With one query each message runs it on its own, outside a transaction. With several "
        "(`queries`), a batch runs in one transaction, ordered by `kafka_partition` metadata, and "
        "either every query runs for each message or, when `when` conditions are given, the first "
        "query whose condition holds."
    ),
    categories=("Services",),
    fields=[
        *sql_conn.driver_fields(),
        sql_conn.raw_query_field("INSERT INTO footable (foo, bar, baz) VALUES (?, ?, ?);", optional=True),
        sql_conn.unsafe_dynamic_query_field(),
        sql_conn.raw_args_mapping_field(),
        s.obj_list(
            "queries",
            [
                sql_conn.raw_query_field(),
                sql_conn.raw_args_mapping_field(),
                s.bloblang(
                    "when",
                    "A Bloblang query giving a boolean per message: the first query whose `when` is "
                    "true, or that has none, is the one that runs.",
                    optional=True,
                    examples=(
                        'root = meta("kafka_tombstone_message") == "true"',
                        'root = this.operation == "delete"',
                    ),
                ),
            ],
            "Queries to run per message, a batch in one transaction: all of them, or with `when` "
            "conditions the first that matches.",
            optional=True,
        ),
        s.integer("max_in_flight", "Most batches being written at once.", default=64),
        *sql_conn.conn_fields(),
        s.batching_field(),
    ],
    lint=_problems,
    examples=[
        (
            "Insert or delete by a condition (sqlite)",
            """output:
  sql_raw:
    driver: sqlite
    dsn: file:./users.db
    init_statement: CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)
    queries:
      - when: 'root = meta("kafka_tombstone_message") == "true"'
        query: DELETE FROM users WHERE id = ?
        args_mapping: root = [ this.id ]
      - query: INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name
        args_mapping: root = [ this.id, this.name ]
""",
        )
    ],
)


class SQLRawOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.queries = sql_conn.raw_queries(conf, res)
        self.has_when = any(q.when is not None for q in self.queries)
        self.db = sql_conn.Database(conf, res)
        self.logger = res.logger
        self.connected = False

    async def connect(self) -> None:
        await self.db.open()
        self.connected = True

    async def write_batch(self, batch: list[Message]) -> None:
        if not self.connected:
            raise NotConnectedError()
        if not batch:
            return
        if len(self.queries) == 1:
            await self._each_on_its_own(batch)
        else:
            await self._in_one_transaction(batch)

    # -- one query: every message on its own ---

    async def _each_on_its_own(self, batch: list[Message]) -> None:
        query = self.queries[0]
        problem: BatchError | None = None
        for index in range(len(batch)):
            try:
                if query.when is not None and not sql_conn.when_matches(query, batch, index, None):
                    continue
                args = query.args_for(batch, index)
                text = query.text_for(batch, index)
                try:
                    await self.db.raw(text, args)
                except sql_conn.SQLError as err:
                    raise sql_conn.SQLError(f"running query: {err}") from None
            except sql_conn.SQLError as err:
                if len(batch) == 1:
                    raise
                # every message is tried; only the failed ones are written again
                problem = (problem or BatchError(batch, err)).failed(index, err)
        if problem is not None:
            raise problem

    # -- several queries: the batch in one transaction ---

    def _partition_order(self, batch: list[Message]) -> list[int]:
        groups: dict[int, list[int]] = {}
        for index, msg in enumerate(batch):
            partition = 0
            text = msg.meta_str("kafka_partition")
            if text:
                try:
                    partition = go_atoi(text)
                except ValueError as err:
                    self.logger.warn(
                        f'Failed to parse kafka_partition metadata "{text}" as integer, defaulting to '
                        f"partition 0: {err}"
                    )
            groups.setdefault(partition, []).append(index)
        return [index for partition in sorted(groups) for index in groups[partition]]

    async def _in_one_transaction(self, batch: list[Message]) -> None:
        order = self._partition_order(batch)
        async with self.db.exclusive() as run:
            try:
                await run(lambda conn: conn.execute("BEGIN"))
            except sql_conn.SQLError as err:
                raise sql_conn.SQLError(f"beginning transaction: {err}") from None
            try:
                for index in order:
                    for position, query in enumerate(self.queries):
                        if self.has_when and query.when is not None:
                            if not sql_conn.when_matches(query, batch, index, position):
                                continue
                        args = query.args_for(batch, index)
                        text = query.text_for(batch, index)
                        try:
                            await run(_statements(text, args))
                        except sql_conn.SQLError as err:
                            raise sql_conn.SQLError(f"running query: {err}") from None
                        if self.has_when:
                            break  # the first match is the one that runs
                    else:
                        if self.has_when:
                            self.logger.debug(f"No query matched for message at index {index}, skipping")
            except BaseException:
                try:
                    await run(lambda conn: conn.execute("ROLLBACK"))
                except sql_conn.SQLError as err:
                    self.logger.warn(f"Failed to rollback transaction: {err}")
                raise
            try:
                await run(lambda conn: conn.execute("COMMIT"))
            except sql_conn.SQLError as err:
                # sqlite keeps the transaction open when COMMIT fails: end it, or the next BEGIN fails
                with contextlib.suppress(sql_conn.SQLError):
                    await run(lambda conn: conn.execute("ROLLBACK"))
                raise sql_conn.SQLError(f"committing transaction: {err}") from None

    async def close(self) -> None:
        self.connected = False
        await self.db.close()


def _statements(text: str, args: list[Any]) -> Callable[[sqlite3.Connection], Any]:
    return lambda conn: sql_conn.run_raw(conn, text, args, want_rows=False)


register_output(SPEC, SQLRawOutput)
