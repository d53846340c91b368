"""What every SQL component shares: the connection fields, the sqlite database, and the
conversion of values between Bloblang and SQL.

Upstream (``internal/impl/sql/conn_fields.go``) opens a Go ``database/sql`` pool for one of a
dozen drivers; ``init_files`` (globs) then ``init_statement`` run once, on the first connection,
and a failure there is only a warning. Queries are built by the squirrel library; rows come back
as the driver's Go values and become JSON (``util.go``).

benthic has only the ``sqlite`` driver, on Python's built-in ``sqlite3``: every other driver
fails lint. The DSN is read as upstream's sqlite driver (modernc.org/sqlite) reads it: a
``file:`` URI is handed to SQLite as a URI (so ``mode=ro`` and friends work); for a plain path,
anything after ``?`` is cut off; in both, each ``_pragma=...`` parameter runs as ``PRAGMA ...``
once the database is open. Like that driver we set no busy timeout (``_pragma=busy_timeout(5000)``
sets one). Each component holds one connection, used by one worker thread at a time, so a slow
statement never stalls the event loop.

Where we differ: the ``conn_*`` pool settings are accepted and have nothing to tune (one
connection); text in columns declared ``DATE``/``DATETIME``/``TIMESTAMP`` stays text where the Go
driver would parse it into a timestamp. Errors read as modernc's do (``constraint failed: UNIQUE
constraint failed: t.id (1555)``). The DSN never appears in a log or an error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import glob
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from mapping_lang.gofmt import go_type
from pipeline import spec as s
from pipeline.message import Message
from pipeline.workers import run_off_loop

T = TypeVar("T")

DRIVERS = (
    "mysql",
    "postgres",
    "pgx",
    "clickhouse",
    "mssql",
    "sqlite",
    "oracle",
    "snowflake",
    "trino",
    "gocosmos",
    "spanner",
    "databricks",
)

# sqlite3_errstr() of the primary result codes, which modernc puts before SQLite's own message.
_ERRSTR = {
    1: "SQL logic error",
    2: "internal logic error",
    3: "access permission denied",
    4: "query aborted",
    5: "database is locked",
    6: "database table is locked",
    7: "out of memory",
    8: "attempt to write a readonly database",
    9: "interrupted",
    10: "disk I/O error",
    11: "database disk image is malformed",
    12: "unknown operation",
    13: "database or disk is full",
    14: "unable to open database file",
    15: "locking protocol",
    17: "database schema has changed",
    18: "string or blob too big",
    19: "constraint failed",
    20: "datatype mismatch",
    21: "bad parameter or other API misuse",
    23: "authorization denied",
    25: "column index out of range",
    26: "file is not a database",
}


def driver_fields() -> list[s.Field]:
    """``driver`` and ``dsn``, which upstream puts first in every SQL component."""
    return [
        s.enum(
            "driver",
            DRIVERS,
            "The database driver. benthic has only `sqlite`; the others are listed so that lint can say so.",
        ),
        s.string(
            "dsn",
            "Which database to use. For sqlite, a file path or a `file:` URI; `_pragma=` query "
            "parameters run as PRAGMA statements when the database is opened.",
            secret=True,
            examples=(
                "file:/path/to/filename.db?_pragma=journal_mode(WAL)",
                "./data.db",
            ),
        ),
    ]


def conn_fields() -> list[s.Field]:
    """The set-up and pool fields every SQL component has after its own."""
    return [
        s.string_list(
            "init_files",
            "Files of SQL statements (globs, `**` included) run once, on the first connection, "
            "before `init_statement`. Write them so that running again after a restart does no "
            "harm; a failing file is logged as a warning and the component carries on.",
            optional=True,
            advanced=True,
            examples=(["./init/*.sql"], ["./foo.sql", "./bar.sql"]),
        ),
        s.string(
            "init_statement",
            "SQL run once, on the first connection, after any `init_files` (for example a "
            "CREATE TABLE IF NOT EXISTS). A failure is logged as a warning and the component "
            "carries on.",
            optional=True,
            advanced=True,
            examples=("CREATE TABLE IF NOT EXISTS some_table (foo varchar(50) not null, bar integer)",),
        ),
        s.duration(
            "conn_max_idle_time",
            "How long a pooled connection may sit idle before it is closed; 0 or less never.",
            optional=True,
            advanced=True,
        ),
        s.duration(
            "conn_max_life_time",
            "How long a pooled connection may be reused before it is closed; 0 or less never.",
            optional=True,
            advanced=True,
        ),
        s.integer(
            "conn_max_idle",
            "Most idle connections kept in the pool.",
            default=2,
            optional=True,
            advanced=True,
        ),
        s.integer(
            "conn_max_open",
            "Most connections open at once; 0 or less sets no limit.",
            optional=True,
            advanced=True,
        ),
    ]


def conn_problems(conf: Any) -> list[str]:
    """Lint: any driver but sqlite is refused by name."""
    if not isinstance(conf, dict):
        return []
    driver = conf.get("driver")
    if driver in DRIVERS and driver != "sqlite":
        return [
            f"driver {driver} is not available: benthic only has the sqlite driver "
            "(Python's built-in sqlite3), set driver: sqlite"
        ]
    return []


# -- errors and values ---------------------------------------------------------------------------


def error_text(err: BaseException) -> str:
    """A sqlite error as modernc.org/sqlite words it: ``<errstr>: <message> (<code>)``."""
    code = getattr(err, "sqlite_errorcode", None)
    if not isinstance(err, sqlite3.Error) or code is None:
        return str(err)
    errstr = _ERRSTR.get(code & 0xFF, f"unknown error ({code & 0xFF})")
    msg = str(err)
    busy = " (SQLITE_BUSY)" if code == 5 else ""
    if msg == errstr:
        return f"{errstr} ({code}){busy}"
    return f"{errstr}: {msg} ({code}){busy}"


class SQLError(RuntimeError):
    """A statement failed; the text is the driver's."""


def _go_time_text(t: dt.datetime) -> str:
    # modernc binds a time.Time as text in Go's "2006-01-02 15:04:05.999999999-07:00"
    nanos = t.microsecond * 1000 + int(getattr(t, "nanos", 0) or 0)
    frac = f".{nanos:09d}".rstrip("0") if nanos else ""
    offset = t.utcoffset() or dt.timedelta(0)
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{t:%Y-%m-%d %H:%M:%S}{frac}{sign}{total // 3600:02d}:{total % 3600 // 60:02d}"


def sql_args(values: list[Any]) -> list[Any]:
    """Bloblang values as sqlite parameters, as Go's database/sql and modernc convert them."""
    out: list[Any] = []
    for position, value in enumerate(values, 1):
        if value is None or isinstance(value, str | bytes | float):
            out.append(value)
        elif isinstance(value, bool | int):
            out.append(int(value))
        elif isinstance(value, bytearray):
            out.append(bytes(value))
        elif isinstance(value, dt.datetime):
            out.append(_go_time_text(value))
        elif isinstance(value, dict):
            raise SQLError(
                f"sql: converting argument ${position} type: unsupported type map[string]interface {{}}, a map"
            )
        elif isinstance(value, list):
            raise SQLError(
                f"sql: converting argument ${position} type: unsupported type []interface {{}}, a slice"
            )
        else:
            raise SQLError(
                f"sql: converting argument ${position} type: unsupported type {type(value).__name__}"
            )
    return out


def row_object(columns: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    """One row as upstream makes it JSON: integers, floats, text and NULL as they are; a blob
    becomes a string of its bytes."""
    obj: dict[str, Any] = {}
    for name, value in zip(columns, row, strict=False):
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        obj[name] = value
    return obj


def args_from_mapping(mapping: Any, msg: Any, batch: list[Any] | None, index: int) -> list[Any]:
    """Run ``args_mapping`` for one message; it must give an array (upstream's error otherwise)."""
    value = mapping.query(msg, batch, index)
    if not isinstance(value, list):
        raise SQLError(f"mapping returned non-array result: {go_type(value)}")
    return value


# -- statements as squirrel builds them ---------------------------------------------------------


def insert_statement(
    table: str,
    columns: list[str],
    rows: list[list[Any]],
    prefix: str | None,
    suffix: str | None,
    options: list[str],
) -> str:
    """``[prefix ]INSERT [options ]INTO table (a,b) VALUES (?,?),(?,?)[ suffix]``."""
    text = f"{prefix} " if prefix is not None else ""
    text += "INSERT "
    if options:
        text += " ".join(options) + " "
    text += f"INTO {table} "
    if columns:
        text += "(" + ",".join(columns) + ") "
    text += "VALUES " + ",".join("(" + ",".join("?" * len(row)) + ")" for row in rows)
    if suffix is not None:
        text += f" {suffix}"
    return text


def select_statement(
    table: str, columns: list[str], where: str | None, prefix: str | None, suffix: str | None
) -> str:
    """``[prefix ]SELECT a, b FROM table[ WHERE where][ suffix]``."""
    text = f"{prefix} " if prefix is not None else ""
    text += "SELECT " + ", ".join(columns) + f" FROM {table}"
    if where:
        text += f" WHERE {where}"
    if suffix is not None:
        text += f" {suffix}"
    return text


# -- the components' fields and statements ---


def insert_fields() -> list[s.Field]:
    """The fields the output and the processor share, between ``dsn`` and the conn fields."""
    return [
        s.string("table", "The table rows go into.", examples=("foo",)),
        s.string_list("columns", "The columns each row fills, in order.", examples=(["foo", "bar", "baz"],)),
        s.bloblang(
            "args_mapping",
            "A Bloblang mapping giving an array with one value per column, in the order of `columns`.",
            examples=("root = [ this.cat.meow, this.doc.woofs[0] ]", 'root = [ meta("user.id") ]'),
        ),
        s.string("prefix", "Text put in front of the INSERT statement.", optional=True, advanced=True),
        s.string(
            "suffix",
            "Text put after the statement's VALUES.",
            optional=True,
            advanced=True,
            examples=("ON CONFLICT (name) DO NOTHING",),
        ),
        s.string_list(
            "options",
            "Keywords put between INSERT and INTO.",
            optional=True,
            advanced=True,
            examples=(["OR IGNORE"], ["OR REPLACE"]),
        ),
    ]


def select_fields() -> list[s.Field]:
    """The fields the ``sql_select`` input and processor share, between ``dsn`` and the rest."""
    return [
        s.string("table", "The table rows come from.", examples=("foo",)),
        s.string_list(
            "columns", "The columns to read (`*` for all).", examples=(["*"], ["foo", "bar", "baz"])
        ),
        s.string(
            "where",
            "A condition rows must meet; `?` placeholders take their values from `args_mapping`.",
            optional=True,
            examples=("meow = ? and woof = ?", "user_id = ?"),
        ),
        s.bloblang(
            "args_mapping",
            "A Bloblang mapping giving an array with one value per placeholder of `where`.",
            optional=True,
            examples=("root = [ this.cat.meow, this.doc.woofs[0] ]", 'root = [ meta("user.id") ]'),
        ),
        s.string("prefix", "Text put in front of the SELECT statement.", optional=True, advanced=True),
        s.string(
            "suffix",
            "Text put at the end of the statement.",
            optional=True,
            advanced=True,
            examples=("ORDER BY id", "LIMIT 100"),
        ),
    ]


class Inserter:
    """Builds and runs the INSERT for a batch; the output and the processor both use it."""

    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.table: str = conf["table"]
        self.columns: list[str] = conf["columns"]
        self.prefix: str | None = conf.get("prefix")
        self.suffix: str | None = conf.get("suffix")
        self.options: list[str] = conf.get("options") or []
        self.args = res.mapping(conf["args_mapping"]) if conf.get("args_mapping") else None

    def row(self, batch: list[Message], index: int) -> list[Any]:
        if self.args is None:
            return []
        return sql_args(args_from_mapping(self.args, batch[index], batch, index))

    async def insert(self, db: Database, rows: list[list[Any]]) -> None:
        statement = insert_statement(self.table, self.columns, rows, self.prefix, self.suffix, self.options)
        await db.execute(statement, [value for row in rows for value in row])


# -- the database ------------------------------------------------------------------------------------


def _expand_init_files(patterns: list[str]) -> list[tuple[str, str]]:
    paths: list[str] = []
    for pattern in patterns:
        if any(c in pattern for c in "*?[{"):
            paths.extend(sorted(glob.glob(pattern, recursive=True)))
        else:
            paths.append(pattern)
    return [(p, Path(p).read_text(encoding="utf-8", errors="replace")) for p in paths]


def _open(dsn: str) -> sqlite3.Connection:
    target, query = dsn, ""
    if "?" in dsn and dsn.index("?") >= 1:
        query = dsn[dsn.index("?") + 1 :]
        if not dsn.startswith("file:"):
            target = dsn[: dsn.index("?")]
    try:
        conn = sqlite3.connect(
            target,
            timeout=0,
            isolation_level=None,  # each statement commits itself, as database/sql's Exec does
            check_same_thread=False,  # used by one worker thread at a time, under a lock
            uri=target.startswith("file:"),
        )
    except sqlite3.Error as err:
        raise SQLError(error_text(err)) from None
    try:
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key == "_pragma":
                conn.execute(f"pragma {value}")
    except sqlite3.Error as err:
        conn.close()
        raise SQLError(error_text(err)) from None
    return conn


class Database:
    """One sqlite connection for one component; statements run in a worker thread."""

    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.dsn: str = conf["dsn"]
        self.logger = res.logger
        self.init_statement: str = conf.get("init_statement") or ""
        try:
            self.init_files = _expand_init_files(conf.get("init_files") or [])
        except OSError as err:
            raise ValueError(f"init_files: {err.strerror}: {err.filename}") from None
        self._initialised = False
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._opening = asyncio.Lock()

    async def open(self) -> None:
        """Open the database (once) and run the init statements on the first connection."""
        async with self._opening:
            if self._conn is None:
                self._conn = await run_off_loop(self._open_and_init)

    def _open_and_init(self) -> sqlite3.Connection:
        conn = _open(self.dsn)
        if not self._initialised:
            self._initialised = True
            for path, statements in self.init_files:
                try:
                    conn.executescript(statements)
                    self.logger.debug(f"Successfully ran init_file '{path}'")
                except sqlite3.Error as err:
                    self.logger.warn(f"Failed to execute init_file '{path}': {error_text(err)}")
            if self.init_statement:
                try:
                    conn.executescript(self.init_statement)
                    self.logger.debug("Successfully ran init_statement")
                except sqlite3.Error as err:
                    self.logger.warn(f"Failed to execute init_statement: {error_text(err)}")
        return conn

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(connection)`` in a worker thread; sqlite errors become ``SQLError``."""
        if self._conn is None:
            await self.open()
        conn = self._conn
        assert conn is not None

        def guarded() -> T:
            with self._lock:
                try:
                    return work(conn)
                except sqlite3.Error as err:
                    raise SQLError(error_text(err)) from None

        return await run_off_loop(guarded)

    async def execute(self, statement: str, args: list[Any]) -> None:
        await self.run(lambda conn: conn.execute(statement, args).close())

    async def query(self, statement: str, args: list[Any]) -> list[dict[str, Any]]:
        def rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            cursor = conn.execute(statement, args)
            try:
                names = [d[0] for d in cursor.description or ()]
                return [row_object(names, row) for row in cursor.fetchall()]
            finally:
                cursor.close()

        return await self.run(rows)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:

            def shut() -> None:
                with self._lock:
                    conn.close()

            await run_off_loop(shut)
