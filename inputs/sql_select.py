"""The ``sql_select`` input: run one SELECT and emit a message per row, then end.

As upstream (``internal/impl/sql/input_sql_select.go``): the query runs when the input connects
(after the init statements); ``args_mapping`` runs once, with no message, to fill the ``?``
placeholders of ``where``. Each row becomes a JSON object (column name to value); when the rows
run out the input ends, which ends the stream (or moves a ``sequence`` on). Rows are acknowledged
by nothing upstream: a rejected row is replayed from memory with ``auto_replay_nacks``.

Where we differ: only the ``sqlite`` driver exists (``pipeline/sql_conn.py``). Rows are fetched
a few hundred at a time (``pipeline/sql_conn.py``'s ``RowsInput``, shared with ``sql_raw``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pipeline import spec as s
from pipeline import sql_conn
from pipeline.plugin import register_input

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


def _start(conf: dict[str, Any]) -> Any:
    where = conf.get("where")
    statement = sql_conn.select_statement(
        conf["table"], conf["columns"], where, conf.get("prefix"), conf.get("suffix")
    )

    def start(conn: sqlite3.Connection, args: list[Any]) -> sqlite3.Cursor:
        # as squirrel: arguments are bound only through a WHERE clause
        return conn.execute(statement, sql_conn.sql_args(args) if where else [])

    return start


register_input(
    SPEC, lambda conf, res: (sql_conn.RowsInput(conf, res, _start(conf)), conf["auto_replay_nacks"])
)
