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

The ``sql_raw`` components hand their query to the driver as written: modernc runs each
``;``-separated statement in turn and binds a parameter by its position (``?``) or number
(``?N``, ``$N``); ``bind`` and ``run_raw`` below do the same with ``sqlite3``, which runs one
statement at a time and numbers parameters its own way.

Where we differ: the ``conn_*`` pool settings are accepted and have nothing to tune (one
connection); text in columns declared ``DATE``/``DATETIME``/``TIMESTAMP`` stays text where the Go
driver would parse it into a timestamp. Errors read as modernc's do (``constraint failed: UNIQUE
constraint failed: t.id (1555)``). The DSN never appears in a log or an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import glob
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from mapping_lang.gofmt import go_type
from mapping_lang.value import DELETED, NOTHING
from pipeline import spec as s
from pipeline.errors import EndOfInputError, NotConnectedError
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
    """``args_mapping`` run as upstream's inputs run it (``Executor.Query(nil)``): the value of
    ``root`` itself, which must be an array."""
    value = mapping.query(msg, batch, index)
    if value is DELETED:
        raise SQLError("root was deleted")
    if value is NOTHING:
        value = None  # the mapping leaves its input, nothing, as it was
    if not isinstance(value, list):
        raise SQLError(f"mapping returned non-array result: {go_type(value)}")
    return value


NON_STRUCTURED = "mapping returned non-structured result: "


def mapped_args(
    mapping: Any, batch: list[Message], index: int, *, structured_prefix: str = "", failed_prefix: str = ""
) -> list[Any]:
    """``args_mapping`` run for one message of a batch as upstream runs it on a message
    (``BloblangExecutor.Query`` then ``AsStructured``): the mapping makes a new message, whose
    payload is then read as a document. So a root that is a string is parsed as JSON (``"[1, 2]"``
    gives two arguments, ``"oops"`` a JSON error), and a mapping that leaves ``root`` alone reads
    the message itself. ``failed_prefix`` heads a mapping error and ``structured_prefix`` the JSON
    error, as each component words them."""
    try:
        result = mapping.map_message(batch[index], batch, index)
    except Exception as err:
        raise SQLError(f"{failed_prefix}{err}") from None
    if result is None:  # upstream gets no message back and cannot go on either
        raise SQLError(f"{structured_prefix}root was deleted")
    try:
        value = result.structured()
    except ValueError as err:
        raise SQLError(f"{structured_prefix}{err}") from None
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

    def __init__(self, conf: dict[str, Any], res: Any, *, structured_prefix: str = "") -> None:
        self.structured_prefix = structured_prefix
        self.table: str = conf["table"]
        self.columns: list[str] = conf["columns"]
        self.prefix: str | None = conf.get("prefix")
        self.suffix: str | None = conf.get("suffix")
        self.options: list[str] = conf.get("options") or []
        self.args = res.mapping(conf["args_mapping"]) if conf.get("args_mapping") else None

    def row(self, batch: list[Message], index: int) -> list[Any]:
        if self.args is None:
            return []
        return sql_args(mapped_args(self.args, batch, index, structured_prefix=self.structured_prefix))

    async def insert(self, db: Database, rows: list[list[Any]]) -> None:
        statement = insert_statement(self.table, self.columns, rows, self.prefix, self.suffix, self.options)
        await db.execute(statement, [value for row in rows for value in row])


# -- raw queries, run as modernc.org/sqlite runs them ----------------------------------------------


def raw_query_field(*examples: str, optional: bool = False) -> s.Field:
    """``query`` of the ``sql_raw`` components."""
    return s.string(
        "query",
        "The SQL to run. For sqlite, placeholders are `?` (filled in order from `args_mapping`), "
        "`?NNN` or `$NNN` (the NNNth value). Several statements separated by `;` run one after the "
        "other, each taking its values from the same array.",
        optional=optional,
        examples=examples,
    )


def raw_args_mapping_field() -> s.Field:
    """``args_mapping`` of the ``sql_raw`` components."""
    return s.bloblang(
        "args_mapping",
        "A Bloblang mapping giving an array with one value per placeholder of `query`.",
        optional=True,
        examples=("root = [ this.cat.meow, this.doc.woofs[0] ]", 'root = [ meta("user.id") ]'),
    )


def unsafe_dynamic_query_field() -> s.Field:
    return s.boolean(
        "unsafe_dynamic_query",
        "Whether `${! }` interpolations in the query are resolved per message. Whatever they insert "
        "becomes SQL: quote and escape it yourself, or the query is open to injection.",
        default=False,
        advanced=True,
    )


def raw_query_problems(conf: Any) -> list[str]:
    """Lint, as upstream's rule: ``query`` or ``queries`` must be given."""
    if isinstance(conf, dict) and conf.get("query") is None and conf.get("queries") is None:
        return ["either `query` or `queries` is required"]
    return []


def split_statements(text: str) -> list[str]:
    """The statements of ``text``, as SQLite itself would prepare them one after the other (a
    ``;`` inside a string, a comment or a trigger body does not end one)."""
    statements: list[str] = []
    start = 0
    for pos, char in enumerate(text):
        if char == ";" and sqlite3.complete_statement(text[start : pos + 1]):
            statements.append(text[start : pos + 1])
            start = pos + 1
    statements.append(text[start:])
    return [st for st in statements if st.strip(" \t\r\n;")]


_IDENT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")


def _placeholders(statement: str) -> list[tuple[int, int, str]]:
    """``(start, end, name)`` of each parameter of a statement, skipping strings, quoted names
    and comments; ``name`` is SQLite's (``""`` for a bare ``?``)."""
    found: list[tuple[int, int, str]] = []
    i, n = 0, len(statement)
    while i < n:
        c = statement[i]
        if c in "'\"`[":
            close = "]" if c == "[" else c
            end = statement.find(close, i + 1)
            while close != "]" and end != -1 and statement.startswith(close * 2, end):
                end = statement.find(close, end + 2)  # a doubled quote stays inside
            i = n if end == -1 else end + 1
        elif statement.startswith("--", i):
            end = statement.find("\n", i)
            i = n if end == -1 else end + 1
        elif statement.startswith("/*", i):
            end = statement.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif c == "?":
            j = i + 1
            while j < n and statement[j].isdigit():
                j += 1
            found.append((i, j, statement[i:j] if j > i + 1 else ""))
            i = j
        elif c in ":@$" and i + 1 < n and statement[i + 1] in _IDENT:
            j = i + 1
            while j < n and statement[j] in _IDENT:
                j += 1
            found.append((i, j, statement[i:j]))
            i = j
        else:
            i += 1
    return found


def bind(statement: str, args: list[Any]) -> tuple[str, list[Any]]:
    """The statement with each parameter numbered (``?N``) and the values that go with them,
    chosen as modernc chooses: parameter N takes the Nth value when it is a bare ``?`` or named
    ``?N``/``$N``; any other name has no value (Bloblang gives no named arguments). Values past the
    last parameter are ignored, as there."""
    index_of: dict[str, int] = {}
    names: dict[int, str] = {}
    numbered: list[tuple[int, int, int]] = []
    count = 0
    for start, end, name in _placeholders(statement):
        if not name:
            count += 1
            index = count
        elif name[0] == "?":
            index = int(name[1:])
            count = max(count, index)
        elif name in index_of:
            index = index_of[name]
        else:
            count += 1
            index = index_of[name] = count
        if name:
            names.setdefault(index, name)
        numbered.append((start, end, index))
    values: list[Any] = []
    for index in range(1, count + 1):
        name = names.get(index, "")
        ordinal = index
        if name:
            digits = name[1:]
            if name[0] not in "?$" or not digits.isdigit() or str(int(digits)) != digits:
                raise SQLError(f'missing named argument "{digits}"')
            ordinal = int(digits)
        if not 1 <= ordinal <= len(args):
            if name:
                raise SQLError(f'missing named argument "{name[1:]}"')
            raise SQLError(f"missing argument with index {index}")
        values.append(args[ordinal - 1])
    pieces: list[str] = []
    last = 0
    for start, end, index in numbered:
        pieces.append(statement[last:start])
        pieces.append(f"?{index}")
        last = end
    pieces.append(statement[last:])
    return "".join(pieces), values


def run_raw(
    conn: sqlite3.Connection, query: str, args: list[Any], *, want_rows: bool
) -> list[dict[str, Any]]:
    """Run every statement of ``query`` with ``args``; the rows of the last one when asked for."""
    result: list[dict[str, Any]] = []
    for statement in split_statements(query) or [query]:
        text, values = bind(statement, args)
        cursor = conn.execute(text, values)
        try:
            if want_rows:
                names = [d[0] for d in cursor.description or ()]
                result = [row_object(names, row) for row in cursor.fetchall()]
            else:
                cursor.fetchall()  # a statement that returns rows runs to its end
        finally:
            cursor.close()
    return result


class RawQuery:
    """One entry of ``query``/``queries``: the statement (fixed, or interpolated per message when
    ``unsafe_dynamic_query`` is on), its ``args_mapping`` and, where the component has them,
    ``when`` and ``exec_only``."""

    def __init__(self, conf: dict[str, Any], res: Any, dynamic: bool, exec_only: bool = True) -> None:
        self.static: str = conf["query"]
        self.dynamic = res.interpolation(conf["query"]) if dynamic else None
        self.args = res.mapping(conf["args_mapping"]) if conf.get("args_mapping") else None
        self.when = res.mapping(conf["when"]) if conf.get("when") else None
        self.exec_only = exec_only

    def args_for(self, batch: list[Message], index: int) -> list[Any]:
        """The values for message ``index``, worded as the ``sql_raw`` components word errors."""
        if self.args is None:
            return []
        values = mapped_args(
            self.args,
            batch,
            index,
            structured_prefix=NON_STRUCTURED,
            failed_prefix="arguments mapping failed: ",
        )
        return sql_args(values)

    def text_for(self, batch: list[Message], index: int) -> str:
        if self.dynamic is None:
            return self.static
        try:
            return str(self.dynamic.render(batch[index], batch, index))
        except Exception as err:
            raise SQLError(f"query interpolation error: {err}") from None


def raw_queries(conf: dict[str, Any], res: Any, *, last_returns_rows: bool = False) -> list[RawQuery]:
    """``query`` (first) then each of ``queries``. With ``last_returns_rows`` (the processor),
    ``exec_only`` defaults to true for all but the last."""
    entries = ([conf] if conf.get("query") is not None else []) + list(conf.get("queries") or [])
    if not entries:
        raise ValueError("either field 'query' or field 'queries' is required")
    dynamic = bool(conf.get("unsafe_dynamic_query"))
    queries = []
    for position, entry in enumerate(entries):
        exec_only = position < len(entries) - 1 if last_returns_rows else True
        if last_returns_rows and entry.get("exec_only") is not None:
            exec_only = bool(entry["exec_only"])
        queries.append(RawQuery(entry, res, dynamic, exec_only))
    return queries


def when_matches(query: RawQuery, batch: list[Message], index: int, position: int | None) -> bool:
    """Upstream's ``when`` check; ``position`` names the query in errors when there are several."""
    assert query.when is not None
    of = "" if position is None else f" for query {position}"
    try:
        result = query.when.map_message(batch[index], batch, index)
    except Exception as err:
        raise SQLError(f"when condition evaluation failed{of}: {err}") from None
    if result is None:
        raise SQLError(f"when condition returned non-structured result{of}: root was deleted")
    try:
        value = result.structured()
    except ValueError as err:
        raise SQLError(f"when condition returned non-structured result{of}: {err}") from None
    if not isinstance(value, bool):
        if position is None:
            raise SQLError(f"when condition returned non-boolean value: {go_type(value)}")
        raise SQLError(f"when condition for query {position} returned non-boolean value: {go_type(value)}")
    return value


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
        self._exclusive = asyncio.Lock()

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
        async with self._exclusive:
            return await self._run(work)

    @contextlib.asynccontextmanager
    async def exclusive(
        self,
    ) -> AsyncIterator[Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]]:
        """Hold the connection for a series of statements (a transaction whose statements depend on
        mappings run in between): yields the ``run`` to use meanwhile; others wait."""
        async with self._exclusive:
            yield self._run

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
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

    async def raw(self, query: str, args: list[Any], *, want_rows: bool = False) -> list[dict[str, Any]]:
        """Run a ``sql_raw`` query (every statement in it), outside any transaction."""
        return await self.run(lambda conn: run_raw(conn, query, args, want_rows=want_rows))

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


# -- the inputs: one query's rows, one message each ---------------------------------------------

FETCH_ROWS = 256


async def _no_ack(_: BaseException | None) -> None:
    return None  # nothing to tell the database; nacks are replayed by auto_replay_nacks


class RowsInput:
    """What the ``sql_select`` and ``sql_raw`` inputs share: on connect, ``args_mapping`` runs
    once on no message and ``start(connection, values)`` runs the query; then each row read is a
    message, fetched a few hundred at a time; when they run out the input ends."""

    def __init__(
        self,
        conf: dict[str, Any],
        res: Any,
        start: Callable[[sqlite3.Connection, list[Any]], sqlite3.Cursor],
    ) -> None:
        self.start = start
        self.args = res.mapping(conf["args_mapping"]) if conf.get("args_mapping") else None
        self.db = Database(conf, res)
        self.cursor: sqlite3.Cursor | None = None
        self.names: list[str] = []
        self.pending: list[dict[str, Any]] = []
        self.connected = False
        self.exhausted = False

    async def connect(self) -> None:
        if self.connected:
            return
        try:
            values: list[Any] = []
            if self.args is not None:
                values = args_from_mapping(self.args, None, None, 0)
            self.cursor = await self.db.run(lambda conn: self.start(conn, values))
        except BaseException:
            await self.db.close()
            raise
        self.names = [d[0] for d in self.cursor.description or ()]
        self.connected = True

    def _fetch(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        assert self.cursor is not None
        return [row_object(self.names, row) for row in self.cursor.fetchmany(FETCH_ROWS)]

    async def read_batch(self) -> tuple[list[Message], Callable[[BaseException | None], Awaitable[None]]]:
        if not self.connected:
            raise NotConnectedError()
        if not self.pending and not self.exhausted:
            self.pending = await self.db.run(self._fetch)
            self.pending.reverse()
            if not self.pending:
                self.exhausted = True
        if not self.pending:
            raise EndOfInputError()
        return [Message.from_structured(self.pending.pop())], _no_ack

    async def close(self) -> None:
        self.connected = False
        cursor, self.cursor = self.cursor, None
        if cursor is not None:
            await self.db.run(lambda conn: cursor.close())
        await self.db.close()
