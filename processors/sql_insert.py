"""The ``sql_insert`` processor: insert one row per message, and pass the messages on unchanged.

As upstream (``internal/impl/sql/processor_sql_insert.go``): ``args_mapping`` gives each message's
row; the rows of a batch go in with one INSERT statement. A message whose mapping fails, or gives
no array, is flagged and left out of the statement; when the statement itself fails, every
message of the batch is flagged with the database's error (catch it with ``catch``, or route it
with ``switch``), and the payloads stay as they were.

Where we differ: only the ``sqlite`` driver exists (``pipeline/sql_conn.py``); the database is
opened on the first batch rather than when the processor is built.
"""

from __future__ import annotations

from typing import Any

from pipeline import spec as s
from pipeline import sql_conn
from pipeline.message import Message
from pipeline.plugin import register_processor

SPEC = s.ComponentSpec(
    "sql_insert",
    "processor",
    summary="Writes a row into a SQL table for every message, leaving the message as it was.",
    description=(
        "When the insert fails the messages keep their payloads and carry the error, for the "
        "usual error handling (`catch`, `switch` on `errored()`)."
    ),
    categories=("Integration",),
    fields=[*sql_conn.driver_fields(), *sql_conn.insert_fields(), *sql_conn.conn_fields()],
    lint=sql_conn.conn_problems,
)


class SQLInsertProcessor:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.inserter = sql_conn.Inserter(conf, res, structured_prefix=sql_conn.NON_STRUCTURED)
        self.db = sql_conn.Database(conf, res)
        self.logger = res.logger

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        rows: list[list[Any]] = []
        for index, msg in enumerate(batch):
            try:
                rows.append(self.inserter.row(batch, index))
            except Exception as err:
                self.logger.debug(f"Arguments mapping failed: {err}")
                msg.error = str(err)
        try:
            if not rows:  # as squirrel refuses an INSERT without rows
                raise ValueError("insert statements must have at least one set of values or select clause")
            await self.inserter.insert(self.db, rows)
        except Exception as err:
            self.logger.debug(f"Failed to run query: {err}")
            for msg in batch:
                msg.error = str(err)
        return [batch]

    async def close(self) -> None:
        await self.db.close()


register_processor(SPEC, SQLInsertProcessor)
