"""The ``sql_select`` processor: run a SELECT per message and put the rows in its place.

As upstream (``internal/impl/sql/processor_sql_select.go``): the statement is built as squirrel
builds it (``prefix``, ``SELECT columns FROM table``, ``WHERE where``, ``suffix``); the
``args_mapping`` array fills the ``?`` placeholders of ``where``. Each message becomes a JSON
array with an object per row (column name to value); a message whose mapping or query fails keeps
its payload and is flagged with the error.

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
    "sql_select",
    "processor",
    summary="Runs a SELECT for every message and replaces the message with the rows found, as a JSON array of objects.",
    description=(
        "A message whose query fails keeps its payload and carries the error, for the usual error "
        "handling. To keep the payload and add the rows to it, run this inside a `branch`."
    ),
    categories=("Integration",),
    fields=[*sql_conn.driver_fields(), *sql_conn.select_fields(), *sql_conn.conn_fields()],
    lint=sql_conn.conn_problems,
)


class SQLSelectProcessor:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.where: str | None = conf.get("where")
        self.statement = sql_conn.select_statement(
            conf["table"], conf["columns"], self.where, conf.get("prefix"), conf.get("suffix")
        )
        self.args = res.mapping(conf["args_mapping"]) if conf.get("args_mapping") else None
        self.db = sql_conn.Database(conf, res)
        self.logger = res.logger

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for index, msg in enumerate(batch):
            args: list[Any] = []
            try:
                if self.args is not None:
                    args = sql_conn.mapped_args(
                        self.args, batch, index, structured_prefix=sql_conn.NON_STRUCTURED
                    )
            except Exception as err:
                self.logger.debug(f"Arguments mapping failed: {err}")
                msg.error = str(err)
                continue
            try:
                # as squirrel: arguments are bound only through a WHERE clause
                rows = await self.db.query(self.statement, sql_conn.sql_args(args) if self.where else [])
            except Exception as err:
                self.logger.debug(f"Failed to run query: {err}")
                msg.error = str(err)
                continue
            msg.set_structured(rows)
        return [batch]

    async def close(self) -> None:
        await self.db.close()


register_processor(SPEC, SQLSelectProcessor)
