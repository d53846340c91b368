"""The SQL components (``sql_insert``, ``sql_select``) on the sqlite driver, as a user meets them:
configs run with the real CLI against real database files, lint of other drivers, inserts that
break a constraint, mappings that give no array."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.component_runs import REPORT, lint, run_config, run_lines
from tests.pipeline.sql_helpers import rows, seed

TABLE = "CREATE TABLE IF NOT EXISTS people (id INTEGER PRIMARY KEY, name TEXT, score REAL, avatar BLOB, note TEXT)"


def test_generate_into_sql_insert_then_sql_select_input_reads_every_row_back(tmp_path: Path) -> None:
    db = tmp_path / "people.db"
    writer = f"""
input:
  generate:
    count: 6
    interval: ""
    mapping: |
      root.id = counter()
      root.name = "person " + counter().string()
      root.score = counter() * 1.5
      root.avatar = "ab".bytes()
      root.note = if counter() % 2 == 0 {{ null }} else {{ "odd" }}
output:
  sql_insert:
    driver: sqlite
    dsn: "file:{db}?_pragma=journal_mode(WAL)"
    init_statement: {TABLE}
    table: people
    columns: [id, name, score, avatar, note]
    args_mapping: root = [this.id, this.name, this.score, this.avatar, this.note]
    batching: {{count: 3}}
"""
    result = run_config(tmp_path, writer)
    assert result.returncode == 0, result.stderr
    assert rows(db, "SELECT id, name, score, avatar, note FROM people ORDER BY id")[:2] == [
        (1, "person 1", 1.5, b"ab", "odd"),
        (2, "person 2", 3.0, b"ab", None),
    ]
    reader = f"""
input:
  sql_select:
    driver: sqlite
    dsn: {db}
    table: people
    columns: ["*"]
    where: id >= ?
    args_mapping: root = [5]
    suffix: ORDER BY id
output:
  stdout: {{}}
"""
    assert run_lines(tmp_path, reader) == [
        {"id": 5, "name": "person 5", "score": 7.5, "avatar": "ab", "note": "odd"},
        {"id": 6, "name": "person 6", "score": 9.0, "avatar": "ab", "note": None},
    ]


def test_an_insert_that_breaks_a_constraint_is_nacked_and_the_batch_reaches_the_fallback(
    tmp_path: Path,
) -> None:
    db = seed(tmp_path / "people.db", TABLE, "INSERT INTO people (id, name) VALUES (2, 'already here')")
    rescued = tmp_path / "rescued.txt"
    config = f"""
input:
  generate:
    count: 4
    interval: ""
    mapping: 'root = {{"id": counter()}}'
output:
  fallback:
    - sql_insert:
        driver: sqlite
        dsn: {db}
        table: people
        columns: [id, name]
        args_mapping: root = [this.id, "new"]
        batching: {{count: 2}}
    - file:
        path: {rescued}
        codec: lines
      processors:
        - mapping: 'root = content().string() + " " + @fallback_error'
"""
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    # the batch [1, 2] fails as a whole: neither row is written, both messages are rescued
    assert rows(db, "SELECT id, name FROM people ORDER BY id") == [
        (2, "already here"),
        (3, "new"),
        (4, "new"),
    ]
    error = "constraint failed: UNIQUE constraint failed: people.id (1555)"
    assert rescued.read_text().splitlines() == [f'{{"id":1}} {error}', f'{{"id":2}} {error}']


def test_sql_insert_processor_passes_messages_on_and_flags_them_when_the_insert_fails(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    init = tmp_path / "init"
    init.mkdir()
    (init / "01_table.sql").write_text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n")
    (init / "02_seed.sql").write_text("INSERT INTO t VALUES (3, 'seed'); INSERT INTO t VALUES (4, 'seed');\n")
    config = f"""
input:
  generate:
    count: 4
    interval: ""
    mapping: |
      let n = counter()
      root = {{"id": $n, "v": if $n == 2 {{ "no array" }} else {{ "x" }} }}
pipeline:
  processors:
    - sql_insert:
        driver: sqlite
        dsn: {db}
        init_files: ["{init}/*.sql"]
        table: t
        columns: [id, v]
        args_mapping: 'root = if this.v == "no array" {{ "oops" }} else {{ [this.id, this.v] }}'
        suffix: ON CONFLICT (id) DO NOTHING
{REPORT}output:
  stdout: {{}}
"""
    lines = run_lines(tmp_path, config)
    # message 2 is a batch of its own: with no row left, the statement fails as squirrel's does
    no_rows = "insert statements must have at least one set of values or select clause"
    errors = {json.loads(line["content"])["id"]: line["error"] for line in lines}
    assert errors == {1: None, 2: no_rows, 3: None, 4: None}
    assert rows(db, "SELECT id, v FROM t ORDER BY id") == [(1, "x"), (3, "seed"), (4, "seed")]


def test_sql_insert_processor_flags_the_whole_batch_with_the_database_error(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    config = f"""
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = {{"id": 1}}'
pipeline:
  processors:
    - sql_insert:
        driver: sqlite
        dsn: {db}
        init_statement: CREATE TABLE t (id INTEGER NOT NULL)
        table: t
        columns: [id]
        args_mapping: root = [null]
{REPORT}output:
  stdout: {{}}
"""
    [line] = run_lines(tmp_path, config)
    assert line["content"] == '{"id":1}'
    assert line["error"] == "constraint failed: NOT NULL constraint failed: t.id (1299)"


def test_sql_select_processor_replaces_each_message_with_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE orders (customer INTEGER, item TEXT, price REAL, big INTEGER)")
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [(1, "tea", 2.5, 9007199254740993), (1, "cake", 3.0, None), (2, "coffee", 1.0, -1)],
    )
    conn.commit()
    conn.close()
    config = f"""
input:
  generate:
    count: 4
    batch_size: 4
    interval: ""
    mapping: 'root = {{"customer": counter()}}'
pipeline:
  processors:
    - sql_select:
        driver: sqlite
        dsn: {db}
        table: orders
        columns: [item, price, big]
        where: customer = ?
        args_mapping: 'root = if this.customer == 4 {{ {{"not": "an array"}} }} else {{ [this.customer] }}'
        suffix: ORDER BY item
{REPORT}output:
  stdout: {{}}
"""
    lines = run_lines(tmp_path, config)
    assert lines[0]["content"] == (
        '[{"big":null,"item":"cake","price":3},{"big":9007199254740993,"item":"tea","price":2.5}]'
    )
    assert lines[1]["content"] == '[{"big":-1,"item":"coffee","price":1}]'
    assert lines[2]["content"] == "[]"
    assert lines[3]["content"] == '{"customer":4}'
    assert lines[3]["error"] == "mapping returned non-array result: map[string]interface {}"


def test_sql_select_processor_flags_a_message_whose_query_fails(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    config = f"""
input:
  generate: {{count: 1, interval: "", mapping: 'root = "keep me"'}}
pipeline:
  processors:
    - sql_select:
        driver: sqlite
        dsn: {db}
        table: missing
        columns: ["*"]
{REPORT}output:
  stdout: {{}}
"""
    [line] = run_lines(tmp_path, config)
    assert line["content"] == "keep me"
    assert line["error"] == "SQL logic error: no such table: missing (1)"


def test_dsn_pragmas_run_when_the_database_opens_and_a_plain_path_drops_its_query(tmp_path: Path) -> None:
    db = tmp_path / "plain.db"
    config = f"""
input:
  sql_select:
    driver: sqlite
    dsn: "{db}?_pragma=user_version(42)"
    table: pragma_user_version
    columns: [user_version]
output:
  stdout: {{}}
"""
    assert run_lines(tmp_path, config) == [{"user_version": 42}]
    assert db.exists()  # the query part is not part of the file name
    assert rows(db, "PRAGMA user_version") == [(42,)]


def test_a_failing_init_statement_is_a_warning_and_the_component_carries_on(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    config = f"""
input:
  generate: {{count: 1, interval: "", mapping: 'root = {{"a": 1}}'}}
output:
  sql_insert:
    driver: sqlite
    dsn: {db}
    init_files: ["{tmp_path}/create.sql"]
    init_statement: THIS IS NOT SQL
    table: t
    columns: [a]
    args_mapping: root = [this.a]
"""
    (tmp_path / "create.sql").write_text("CREATE TABLE t (a INTEGER);")
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    assert (
        'Failed to execute init_statement: SQL logic error: near \\"THIS\\": syntax error (1)'
        in result.stdout + result.stderr
    )
    assert rows(db, "SELECT a FROM t") == [(1,)]


def test_lint_refuses_drivers_benthic_does_not_have_without_showing_the_dsn(tmp_path: Path) -> None:
    for kind, extra in (
        ("output", "table: t\n    columns: [a]\n    args_mapping: root = [1]\n"),
        ("input", "table: t\n    columns: [a]\n"),
    ):
        config = f"""
{kind}:
  sql_{"insert" if kind == "output" else "select"}:
    driver: postgres
    dsn: postgres://user:s3cret-pw@127.0.0.1:5432/db
    {extra}"""
        result = lint(tmp_path, config)
        text = result.stdout + result.stderr
        assert result.returncode == 1, text
        assert "driver postgres is not available: benthic only has the sqlite driver" in text
        assert "s3cret-pw" not in text
    processor = """
pipeline:
  processors:
    - sql_select: {driver: mysql, dsn: "u:p@tcp(localhost:3306)/db", table: t, columns: [a]}
    - sql_insert: {driver: sqlite, dsn: x.db, table: t, columns: [a], args_mapping: "root = [1]", conn_max_open: 2}
"""
    result = lint(tmp_path, processor)
    text = result.stdout + result.stderr
    assert result.returncode == 1
    assert "driver mysql is not available" in text
    assert text.count("is not available") == 1
    missing = lint(
        tmp_path,
        "output:\n  sql_insert: {driver: sqlite, dsn: x.db, columns: [a], args_mapping: 'root = [1]'}\n",
    )
    assert missing.returncode == 1
    assert "table" in missing.stdout + missing.stderr


def test_list_shows_the_sql_components(tmp_path: Path) -> None:
    from tests.pipeline.conftest import run_cli

    result = run_cli("list", "--format", "json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert "sql_insert" in listed["outputs"]
    assert "sql_insert" in listed["processors"] and "sql_select" in listed["processors"]
    assert "sql_select" in listed["inputs"]
    assert all("sql_raw" in listed[kind] for kind in ("inputs", "processors", "outputs"))
    assert "sql" in listed["caches"]
