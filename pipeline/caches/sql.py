"""The ``sql`` cache: each item is a row of a table, its key in one column and its value in another.

As upstream (``internal/impl/sql/cache_sql.go``), the operations are single statements built as
squirrel builds them:

- ``get``: ``SELECT value_column FROM table WHERE key_column = ?``; no row is a missing key.
- ``set``: ``INSERT INTO table (key_column,value_column) VALUES (?,?)`` followed by ``set_suffix``,
  which is what turns it into an upsert (``ON CONFLICT (key) DO UPDATE SET value=excluded.value``);
  without one, setting a present key fails as the database says.
- ``add``: the same INSERT without the suffix. Upstream turns an error saying ``duplicate key`` into
  "key already exists"; sqlite says ``UNIQUE constraint failed`` instead, so, as upstream on sqlite,
  adding a present key fails with the database's error.
- ``delete``: ``DELETE FROM table WHERE key_column = ?``; a missing key is no error.

Values are stored as blobs and read back as bytes (a text, number or NULL value reads as its
text). TTLs are ignored, as upstream. ``init_files``/``init_statement`` run once, when the database
is first opened (a failure is a warning).

Where we differ: only the ``sqlite`` driver exists (``pipeline/sql_conn.py``); the database is
opened on the first operation rather than when the cache is built.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mapping_lang.value import format_float_g
from pipeline import spec as s
from pipeline import sql_conn
from pipeline.plugin import register_cache

SPEC = s.ComponentSpec(
    "sql",
    "cache",
    summary="Keeps cache items as rows of a SQL table, the key in one column and the value in another.",
    description=(
        "Only the key and value columns are written, so any other column of the table must accept "
        "NULL. `get` is a SELECT, `delete` a DELETE, `add` an INSERT, and `set` an INSERT followed by "
        "`set_suffix`, which should make it an upsert (without it, setting a key that is present "
        "fails). TTLs are ignored."
    ),
    categories=("Services",),
    fields=[
        *sql_conn.driver_fields(),
        s.string("table", "The table holding the items.", examples=("foo",)),
        s.string(
            "key_column",
            "The column holding each item's key; it should take strings of any length.",
            examples=("foo",),
        ),
        s.string(
            "value_column",
            "The column holding each item's value; it should take values of any length.",
            examples=("bar",),
        ),
        s.string(
            "set_suffix",
            "Text put after the INSERT of a `set`, to make it replace a present key.",
            optional=True,
            examples=(
                "ON DUPLICATE KEY UPDATE bar=VALUES(bar)",
                "ON CONFLICT (foo) DO UPDATE SET bar=excluded.bar",
                "ON CONFLICT (foo) DO NOTHING",
            ),
        ),
        *sql_conn.conn_fields(),
    ],
    lint=sql_conn.conn_problems,
)


class SQLCache:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        table, key, value = conf["table"], conf["key_column"], conf["value_column"]
        self.select = f"SELECT {value} FROM {table} WHERE {key} = ?"
        self.insert = sql_conn.insert_statement(table, [key, value], [["", b""]], None, None, [])
        suffix = conf.get("set_suffix")
        self.upsert = sql_conn.insert_statement(table, [key, value], [["", b""]], None, suffix, [])
        self.delete_statement = f"DELETE FROM {table} WHERE {key} = ?"
        self.db = sql_conn.Database(conf, res)

    async def get(self, key: str) -> bytes | None:
        def first(conn: sqlite3.Connection) -> tuple[Any, ...] | None:
            cursor = conn.execute(self.select, [key])
            try:
                row: tuple[Any, ...] | None = cursor.fetchone()
                return row
            finally:
                cursor.close()

        row = await self.db.run(first)
        if row is None:
            return None
        return _as_bytes(row[0])

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self.db.execute(self.upsert, [key, bytes(value)])

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        await self.db.execute(self.insert, [key, bytes(value)])
        return True

    async def delete(self, key: str) -> None:
        await self.db.execute(self.delete_statement, [key])

    async def close(self) -> None:
        await self.db.close()


def _as_bytes(value: Any) -> bytes:
    """What Go's ``Scan`` into ``[]byte`` gives for a column value."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, float):
        return format_float_g(value).encode()
    return str(value).encode()


register_cache(SPEC, SQLCache)
