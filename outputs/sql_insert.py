"""The ``sql_insert`` output: insert one row per message into a table.

As upstream (``internal/impl/sql/output_sql_insert.go``): ``args_mapping`` gives each message's
row as an array, one value per column; a batch becomes one ``INSERT ... VALUES (...),(...)``
statement built as squirrel builds it (``prefix``, ``options`` before ``INTO``, ``suffix`` at the
end), so a batch is written whole or not at all, and a failed insert (a constraint violation, a
mapping that gives no array) nacks the whole batch.

Where we differ: only the ``sqlite`` driver exists (``pipeline/sql_conn.py``).
"""

from __future__ import annotations

from typing import Any

from pipeline import spec as s
from pipeline import sql_conn
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import register_output

SPEC = s.ComponentSpec(
    "sql_insert",
    "output",
    summary="Writes a row into a SQL table for every message.",
    description="The messages of a batch go into the table with one INSERT statement.",
    categories=("Services",),
    fields=[
        *sql_conn.driver_fields(),
        *sql_conn.insert_fields(),
        s.integer(
            "max_in_flight",
            "Most inserts running at once.",
            default=64,
        ),
        *sql_conn.conn_fields(),
        s.batching_field(),
    ],
    lint=sql_conn.conn_problems,
    examples=[
        (
            "Table insert (sqlite)",
            """output:
  sql_insert:
    driver: sqlite
    dsn: file:./events.db
    init_statement: CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, name TEXT, topic TEXT)
    table: events
    columns: [ id, name, topic ]
    args_mapping: root = [ this.user.id, this.user.name, meta("kafka_topic") ]
""",
        )
    ],
)


class SQLInsertOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.inserter = sql_conn.Inserter(conf, res)
        self.db = sql_conn.Database(conf, res)
        self.connected = False

    async def connect(self) -> None:
        await self.db.open()
        self.connected = True

    async def write_batch(self, batch: list[Message]) -> None:
        if not self.connected:
            raise NotConnectedError()
        rows = [self.inserter.row(batch, index) for index in range(len(batch))]
        await self.inserter.insert(self.db, rows)

    async def close(self) -> None:
        self.connected = False
        await self.db.close()


register_output(SPEC, SQLInsertOutput)
