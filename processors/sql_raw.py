"""The ``sql_raw`` processor: run a query (or several) per message, and optionally replace the
message with the rows it returned.

As upstream (``internal/impl/sql/processor_sql_raw.go``): ``query`` runs first, then each of
``queries``; with more than one, each message gets its own transaction. A query whose
``exec_only`` is false (by default only the last) replaces the payload with its rows, a JSON array
of objects (column name to value); the ``args_mapping`` of later queries then reads that new
payload. The first failure (``arguments mapping failed: ...``, ``mapping returned non-array
result: ...``, ``running query: ...``) stops that message's queries, rolls its transaction back
and flags it, for the usual error handling; the payload it had by then stays. ``unsafe_dynamic_query``
resolves ``${! }`` in the queries per message.

Where we differ: only the ``sqlite`` driver exists (``pipeline/sql_conn.py``); the database is
opened on the first batch rather than when the processor is built.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline import spec as s
from pipeline import sql_conn
from pipeline.message import Message
from pipeline.plugin import register_processor


def _exec_only_field() -> s.Field:
    return s.boolean(
        "exec_only",
        "Whether the query's result is thrown away, leaving the payload as it was (for inserts, "
        "updates and the like). By default true for every query but the last. A query before the "
        "last with this set to false hands its rows to the next query's `args_mapping` as the payload.",
        optional=True,
    )


SPEC = s.ComponentSpec(
    "sql_raw",
    "processor",
    summary="Runs a SQL query for every message and (optionally) replaces the message with the rows "
    "it returned, as a JSON array of objects.",
    description=(
        "A message whose query fails keeps its payload and carries the error, for the usual error "
        "handling. To keep the payload and add the rows to it, run this inside a `branch`."
    ),
    categories=("Integration",),
    fields=[
        *sql_conn.driver_fields(),
        sql_conn.raw_query_field(
            "INSERT INTO footable (foo, bar, baz) VALUES (?, ?, ?);",
            "SELECT * FROM footable WHERE user_id = $1;",
            optional=True,
        ),
        sql_conn.unsafe_dynamic_query_field(),
        sql_conn.raw_args_mapping_field(),
        _exec_only_field(),
        s.obj_list(
            "queries",
            [sql_conn.raw_query_field(), sql_conn.raw_args_mapping_field(), _exec_only_field()],
            "Queries run after `query`, for each message in one transaction. The payload becomes "
            "the rows of the last query that is not `exec_only`.",
            optional=True,
        ),
        *sql_conn.conn_fields(),
    ],
    lint=lambda conf: sql_conn.conn_problems(conf) + sql_conn.raw_query_problems(conf),
    examples=[
        (
            "Rows added to the message (sqlite)",
            """pipeline:
  processors:
    - branch:
        processors:
          - sql_raw:
              driver: sqlite
              dsn: file:./shop.db
              query: SELECT * FROM orders WHERE user_id = ?;
              args_mapping: root = [ this.user.id ]
        result_map: root.orders = this
""",
        )
    ],
)

Run = Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]


class SQLRawProcessor:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.queries = sql_conn.raw_queries(conf, res, last_returns_rows=True)
        self.db = sql_conn.Database(conf, res)
        self.logger = res.logger

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for index, msg in enumerate(batch):
            if len(self.queries) == 1:
                error = await self._run_queries(batch, index, self.db.run)
            else:
                error = await self._in_transaction(batch, index)
            if error is not None:
                msg.error = error
        return [batch]

    async def _in_transaction(self, batch: list[Message], index: int) -> str | None:
        async with self.db.exclusive() as run:
            try:
                await run(lambda conn: conn.execute("BEGIN"))
            except sql_conn.SQLError as err:
                return str(err)
            error = await self._run_queries(batch, index, run)
            try:
                await run(lambda conn: conn.execute("ROLLBACK" if error is not None else "COMMIT"))
            except sql_conn.SQLError as err:
                if error is not None:
                    self.logger.debug(f"Failed to rollback transaction: {err}")
                    return error
                self.logger.debug(f"Failed to commit transaction: {err}")
                try:
                    await run(lambda conn: conn.execute("ROLLBACK"))  # sqlite keeps it open otherwise
                except sql_conn.SQLError:
                    pass
                return str(err)
            return error

    async def _run_queries(self, batch: list[Message], index: int, run: Run) -> str | None:
        msg = batch[index]
        try:
            for query in self.queries:
                args = query.args_for(batch, index)
                text = query.text_for(batch, index)
                try:
                    rows = await run(_statements(text, args, not query.exec_only))
                except sql_conn.SQLError as err:
                    raise sql_conn.SQLError(f"running query: {err}") from None
                if not query.exec_only:
                    msg.set_structured(rows)
        except sql_conn.SQLError as err:
            self.logger.debug(str(err))
            return str(err)
        return None

    async def close(self) -> None:
        await self.db.close()


def _statements(text: str, args: list[Any], want_rows: bool) -> Callable[[sqlite3.Connection], Any]:
    return lambda conn: sql_conn.run_raw(conn, text, args, want_rows=want_rows)


register_processor(SPEC, SQLRawProcessor)
