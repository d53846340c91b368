"""The ``sql_select`` input: run one SELECT and emit a message per row, then end.

As upstream (``internal/impl/sql/input_sql_select.go``): the query runs when the input connects
(after the init statements); ``args_mapping`` runs once, with no message, to fill the ``?``
placeholders of ``where``. Each row becomes a JSON object (column name to value); when the rows
run out the input ends, which ends the stream (or moves a ``sequence`` on). Rows are acknowledged
by nothing upstream: a rejected row is replayed from memory with ``auto_replay_nacks``.

Where we differ: only the ``sqlite`` driver exists (``pipeline/sql_conn.py``). Rows are fetched
a few hundred at a time, so a large table is never held in memory at once.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pipeline import spec as s
from pipeline import sql_conn
from pipeline.errors import EndOfInputError, NotConnectedError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

FETCH_ROWS = 256

SPEC = s.ComponentSpec(
    "sql_select",
    "input",
    summary="Runs a SELECT once and turns every row it returns into a message.",
    description=(
        "When the last row has been read the input ends, so the stream shuts down gracefully "
        "(or a `sequence` moves on to its next input)."
    ),
    categories=("Services",),
    fields=[
        *sql_conn.driver_fields(),
        *sql_conn.select_fields(),
        s.auto_replay_nacks_field(),
        *sql_conn.conn_fields(),
    ],
    lint=sql_conn.conn_problems,
)


async def _ack(_: BaseException | None) -> None:
    return None  # nothing to tell the database; nacks are replayed by auto_replay_nacks


class SQLSelectInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.where: str | None = conf.get("where")
        self.statement = sql_conn.select_statement(
            conf["table"], conf["columns"], self.where, conf.get("prefix"), conf.get("suffix")
        )
        self.args = res.mapping(conf["args_mapping"]) if conf.get("args_mapping") else None
        self.db = sql_conn.Database(conf, res)
        self.cursor: sqlite3.Cursor | None = None
        self.names: list[str] = []
        self.pending: list[dict[str, Any]] = []
        self.connected = False
        self.exhausted = False

    async def connect(self) -> None:
        if self.connected:
            return
        args: list[Any] = []
        if self.args is not None:
            args = sql_conn.args_from_mapping(self.args, None, None, 0)
        bound = sql_conn.sql_args(args) if self.where else []
        try:
            self.cursor = await self.db.run(lambda conn: conn.execute(self.statement, bound))
        except BaseException:
            await self.db.close()
            raise
        self.names = [d[0] for d in self.cursor.description or ()]
        self.connected = True

    def _fetch(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        assert self.cursor is not None
        return [sql_conn.row_object(self.names, row) for row in self.cursor.fetchmany(FETCH_ROWS)]

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        if not self.connected:
            raise NotConnectedError()
        if not self.pending and not self.exhausted:
            self.pending = await self.db.run(self._fetch)
            self.pending.reverse()
            if not self.pending:
                self.exhausted = True
        if not self.pending:
            raise EndOfInputError()
        return [Message.from_structured(self.pending.pop())], _ack

    async def close(self) -> None:
        self.connected = False
        cursor, self.cursor = self.cursor, None
        if cursor is not None:
            await self.db.run(lambda conn: cursor.close())
        await self.db.close()


register_input(SPEC, lambda conf, res: (SQLSelectInput(conf, res), conf["auto_replay_nacks"]))
