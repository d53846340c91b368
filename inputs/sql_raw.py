"""The ``sql_raw`` input: run one query and emit a message per row it returns, then end.

As upstream (``internal/impl/sql/input_sql_raw.go``): the query runs when the input connects
(after the init statements), with ``args_mapping`` run once, on no message, to give the values of
its placeholders (an array, or the input fails to connect with ``mapping returned non-array
result``). Each row becomes a JSON object (column name to value); when the rows run out the input
ends, which ends the stream (or moves a ``sequence`` on). Nothing is acknowledged to the database:
a row an output rejects is replayed from memory with ``auto_replay_nacks``, as upstream.

Where we differ: only the ``sqlite`` driver exists (``pipeline/sql_conn.py``). Rows are fetched
a few hundred at a time (``pipeline/sql_conn.py``'s ``RowsInput``, shared with ``sql_select``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pipeline import spec as s
from pipeline import sql_conn
from pipeline.plugin import register_input

SPEC = s.ComponentSpec(
    "sql_raw",
    "input",
    summary="Runs a query once and turns every row it returns into a message.",
    description=(
        "When the last row has been read the input ends, so the stream shuts down gracefully "
        "(or a `sequence` moves on to its next input)."
    ),
    categories=("Services",),
    fields=[
        *sql_conn.driver_fields(),
        sql_conn.raw_query_field("SELECT * FROM footable WHERE user_id = $1;"),
        sql_conn.raw_args_mapping_field(),
        s.auto_replay_nacks_field(),
        *sql_conn.conn_fields(),
    ],
    lint=sql_conn.conn_problems,
    examples=[
        (
            "Rows of an aggregate (sqlite)",
            """input:
  sql_raw:
    driver: sqlite
    dsn: file:./people.db
    query: "SELECT name, count(*) AS n FROM person WHERE last_updated < ? GROUP BY name;"
    args_mapping: root = [ now().ts_unix() - 3600 ]
""",
        )
    ],
)


def _start(query: str) -> Any:
    def start(conn: sqlite3.Connection, args: list[Any]) -> sqlite3.Cursor:
        # every statement before the last runs to its end; the last one's rows are read lazily
        values = sql_conn.sql_args(args)
        statements = sql_conn.split_statements(query) or [query]
        for statement in statements[:-1]:
            sql_conn.run_raw(conn, statement, values, want_rows=False)
        text, bound = sql_conn.bind(statements[-1], values)
        return conn.execute(text, bound)

    return start


register_input(
    SPEC,
    lambda conf, res: (sql_conn.RowsInput(conf, res, _start(conf["query"])), conf["auto_replay_nacks"]),
)
