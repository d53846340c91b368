"""The ``sql_raw`` input, output and processor and the ``sql`` cache on sqlite, as a user meets
them: configs run to the end in process against real database files, placeholders bound as
upstream's driver binds them, failed statements that flag or nack, and lint."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.builder import Manager
from tests.pipeline.sql_helpers import REPORT_LINE, file_output, lint_problems, rows, run_to_file, seed

PEOPLE = "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)"


def generate(count: int, mapping: str, batch_size: int = 1) -> str:
    return f"""input:
  generate:
    count: {count}
    batch_size: {batch_size}
    interval: ""
    mapping: '{mapping}'
"""


# -- input ------------------------------------------------------------------------------------------


def test_input_turns_each_row_of_the_query_into_a_message_then_ends(tmp_path: Path) -> None:
    db = seed(
        tmp_path / "in.db",
        PEOPLE,
        "INSERT INTO people VALUES (1, 'ann'), (2, 'bob'), (3, 'cy'), (4, NULL)",
    )
    config = f"""input:
  sql_raw:
    driver: sqlite
    dsn: {db}
    query: "SELECT id, name FROM people WHERE id >= $1 AND id < ? ORDER BY id"
    args_mapping: root = [2, 4]
output:
{file_output()}"""
    # $1 is the first value; the bare ? is the second parameter, so it takes the second value
    assert run_to_file(tmp_path, config) == [{"id": 2, "name": "bob"}, {"id": 3, "name": "cy"}]


def test_input_runs_earlier_statements_and_reads_the_last_ones_rows(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    config = f"""input:
  sql_raw:
    driver: sqlite
    dsn: {db}
    init_statement: {PEOPLE}
    query: "INSERT INTO people (name) VALUES (?); INSERT INTO people (name) VALUES ('x;y'); SELECT name FROM people ORDER BY id"
    args_mapping: root = ["first"]
output:
{file_output()}"""
    assert run_to_file(tmp_path, config) == [{"name": "first"}, {"name": "x;y"}]


def test_input_rows_nacked_without_auto_replay_are_dropped_and_the_stream_ends(tmp_path: Path) -> None:
    db = seed(tmp_path / "n.db", PEOPLE, "INSERT INTO people VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')")
    config = f"""input:
  sql_raw:
    driver: sqlite
    dsn: {db}
    query: SELECT id, name FROM people ORDER BY id
    auto_replay_nacks: false
pipeline:
  processors:
    - mapping: 'root = if this.id == 2 {{ throw("not bob") }} else {{ this }}'
output:
  reject_errored:
{file_output("    ")}"""
    assert run_to_file(tmp_path, config) == [{"id": 1, "name": "ann"}, {"id": 3, "name": "cy"}]


def _input(conf: dict[str, Any]) -> Any:
    return Manager().build_input({"sql_raw": {"driver": "sqlite", **conf}}, "root.input").input


@pytest.mark.parametrize(
    ("args_mapping", "query", "error"),
    [
        ('root = {"id": 1}', "SELECT ?", "mapping returned non-array result: map[string]interface {}"),
        ("root = deleted()", "SELECT ?", "root was deleted"),
        ("root = [1]", "SELECT ?, ?", "missing argument with index 2"),
        ("root = [1]", "SELECT :name", 'missing named argument "name"'),
        ("root = [1]", "SELECT * FROM missing", "SQL logic error: no such table: missing (1)"),
    ],
)
def test_input_that_cannot_run_its_query_fails_to_connect_with_the_reason(
    tmp_path: Path, args_mapping: str, query: str, error: str
) -> None:
    sql_input = _input({"dsn": str(tmp_path / "c.db"), "query": query, "args_mapping": args_mapping})

    async def connect() -> None:
        try:
            await sql_input.connect()
        finally:
            await sql_input.close()

    with pytest.raises(Exception, match="^" + re.escape(error) + "$"):
        asyncio.run(connect())


# -- output -----------------------------------------------------------------------------------------


def test_output_runs_the_query_once_per_message_with_its_values(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    config = (
        generate(5, 'root = {"id": counter(), "name": "p" + counter().string()}', batch_size=5)
        + f"""
output:
  sql_raw:
    driver: sqlite
    dsn: "file:{db}?_pragma=journal_mode(WAL)"
    init_statement: {PEOPLE}
    query: INSERT INTO people (name, id) VALUES ($2, $1)
    args_mapping: root = [this.id, this.name]
    max_in_flight: 2
    batching: {{count: 2}}
"""
    )
    run_to_file(tmp_path, config)
    assert rows(db, "SELECT id, name FROM people ORDER BY id") == [(i, f"p{i}") for i in range(1, 6)]


def test_output_one_query_tries_every_message_and_the_retry_runs_only_those_that_failed(
    tmp_path: Path,
) -> None:
    # no key, so a message written twice would show up twice; id 2 fails on its first try only
    db = seed(
        tmp_path / "r.db",
        "CREATE TABLE log (id INTEGER)",
        "CREATE TABLE tries (n INTEGER)",
        "CREATE TRIGGER flaky BEFORE INSERT ON log WHEN NEW.id = 2 AND NOT EXISTS (SELECT 1 FROM tries) "
        "BEGIN INSERT INTO tries VALUES (1); SELECT RAISE(FAIL, 'not yet'); END",
    )
    config = (
        generate(4, 'root = {"id": counter()}', batch_size=4)
        + f"""
output:
  sql_raw:
    driver: sqlite
    dsn: {db}
    query: INSERT INTO log (id) VALUES (?)
    args_mapping: root = [this.id]
"""
    )
    run_to_file(tmp_path, config)
    assert rows(db, "SELECT count(*) FROM tries") == [(1,)]
    assert rows(db, "SELECT id FROM log ORDER BY id") == [(1,), (2,), (3,), (4,)]


def test_output_one_query_failure_goes_to_the_fallback_with_its_error(tmp_path: Path) -> None:
    db = seed(tmp_path / "f.db", "CREATE TABLE log (id INTEGER CHECK (id != 2))")
    config = (
        generate(4, 'root = {"id": counter()}', batch_size=4)
        + f"""
output:
  fallback:
    - sql_raw:
        driver: sqlite
        dsn: {db}
        query: INSERT INTO log (id) VALUES (?)
        args_mapping: root = [this.id]
    - processors:
        - mapping: 'root = content().string() + " " + @fallback_error'
{file_output("      ")}"""
    )
    lines = run_to_file(tmp_path, config)
    assert rows(db, "SELECT id FROM log ORDER BY id") == [(1,), (3,), (4,)]
    error = "running query: constraint failed: CHECK constraint failed: id != 2 (275)"
    # as upstream, only the message that failed goes on to the fallback
    assert lines == [f'{{"id":2}} {error}']


def test_output_several_queries_run_a_batch_in_one_transaction_rolled_back_on_failure(tmp_path: Path) -> None:
    db = seed(
        tmp_path / "t.db",
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE audit (id INTEGER, what TEXT)",
    )
    config = f"""input:
  generate:
    count: 3
    batch_size: 3
    interval: ""
    mapping: |
      let n = counter()
      root = {{"id": $n, "name": if $n == 3 {{ null }} else {{ "n" }} }}
output:
  fallback:
    - sql_raw:
        driver: sqlite
        dsn: {db}
        queries:
          - query: INSERT INTO audit (id, what) VALUES (?, 'insert')
            args_mapping: root = [this.id]
          - query: INSERT INTO people (id, name) VALUES (?, ?)
            args_mapping: root = [this.id, this.name]
    - processors:
        - mapping: 'root = @fallback_error'
{file_output("      ")}"""
    lines = run_to_file(tmp_path, config)
    assert lines == ["running query: constraint failed: NOT NULL constraint failed: people.name (1299)"] * 3
    assert rows(db, "SELECT count(*) FROM audit") == [(0,)]
    assert rows(db, "SELECT count(*) FROM people") == [(0,)]


def test_output_when_picks_the_first_matching_query_and_partitions_keep_their_order(tmp_path: Path) -> None:
    db = seed(
        tmp_path / "w.db",
        PEOPLE,
        "CREATE TABLE seen (n INTEGER PRIMARY KEY AUTOINCREMENT, id INTEGER)",
        "INSERT INTO people VALUES (9, 'old')",
    )
    config = f"""input:
  generate:
    count: 4
    batch_size: 4
    interval: ""
    mapping: |
      let n = counter()
      meta kafka_partition = (2 - $n % 2).string()
      root = {{"id": if $n == 1 {{ 9 }} else {{ $n }}, "gone": $n == 1}}
output:
  sql_raw:
    driver: sqlite
    dsn: {db}
    queries:
      - when: root = this.gone
        query: DELETE FROM people WHERE id = ?; INSERT INTO seen (id) VALUES (?1)
        args_mapping: root = [this.id]
      - query: INSERT INTO people (id, name) VALUES (?, 'new'); INSERT INTO seen (id) VALUES (?1)
        args_mapping: root = [this.id]
"""
    run_to_file(tmp_path, config)
    assert rows(db, "SELECT id, name FROM people ORDER BY id") == [(2, "new"), (3, "new"), (4, "new")]
    # partition 1 (messages 1 and 3) before partition 2 (messages 2 and 4), each in batch order
    assert rows(db, "SELECT id FROM seen ORDER BY n") == [(9,), (3,), (2,), (4,)]


def test_output_dynamic_query_only_when_unsafe_dynamic_query_is_on(tmp_path: Path) -> None:
    db = seed(tmp_path / "d.db", "CREATE TABLE a (v TEXT)", "CREATE TABLE b (v TEXT)")
    for unsafe, table in (("true", "${! @t }"), ("false", "a")):
        config = (
            generate(1, 'meta t = "b"')
            + f"""
output:
  sql_raw:
    driver: sqlite
    dsn: {db}
    unsafe_dynamic_query: {unsafe}
    query: INSERT INTO {table} (v) VALUES ('${{! @t }}')
"""
        )
        run_to_file(tmp_path, config)
    assert rows(db, "SELECT v FROM b") == [("b",)]
    assert rows(db, "SELECT v FROM a") == [("${! @t }",)]


# -- processor --------------------------------------------------------------------------------------


def test_processor_replaces_each_message_with_its_rows_and_flags_failures(tmp_path: Path) -> None:
    db = seed(
        tmp_path / "p.db",
        "CREATE TABLE orders (customer INTEGER, item TEXT, price REAL)",
        "INSERT INTO orders VALUES (1, 'tea', 2.5), (1, 'cake', 3), (2, 'coffee', 1)",
    )
    config = f"""input:
  generate:
    count: 6
    batch_size: 6
    interval: ""
    mapping: root = counter()
pipeline:
  processors:
    - sql_raw:
        driver: sqlite
        dsn: {db}
        query: SELECT item, price FROM orders WHERE customer = ? ORDER BY item
        args_mapping: |
          root = match this {{
            4 => {{"not": "an array"}}
            5 => "oops"
            6 => "[2]"
            _ => [this]
          }}
{REPORT_LINE}output:
{file_output()}"""
    assert run_to_file(tmp_path, config) == [
        {"content": '[{"item":"cake","price":3},{"item":"tea","price":2.5}]', "error": None},
        {"content": '[{"item":"coffee","price":1}]', "error": None},
        {"content": "[]", "error": None},
        {"content": "4", "error": "mapping returned non-array result: map[string]interface {}"},
        {
            "content": "5",
            "error": "mapping returned non-structured result: invalid character 'o' looking for beginning of value",
        },
        # a string root is the new payload, read as JSON, as upstream
        {"content": '[{"item":"coffee","price":1}]', "error": None},
    ]


def test_processor_queries_run_in_a_transaction_per_message_and_exec_only_keeps_the_payload(
    tmp_path: Path,
) -> None:
    db = seed(tmp_path / "q.db", PEOPLE, "CREATE TABLE counts (n INTEGER)")
    config = f"""input:
  generate:
    count: 3
    interval: ""
    mapping: 'root = {{"id": counter() % 2, "name": "n" + counter().string()}}'
pipeline:
  processors:
    - sql_raw:
        driver: sqlite
        dsn: {db}
        query: INSERT INTO people (id, name) VALUES (?, ?)
        args_mapping: root = [this.id, this.name]
        queries:
          - query: SELECT count(*) AS n FROM people
            exec_only: false
          - query: INSERT INTO counts (n) VALUES (?)
            args_mapping: root = [this.index(0).n]
            exec_only: true
{REPORT_LINE}output:
{file_output()}"""
    lines = run_to_file(tmp_path, config)
    assert lines[0] == {"content": '[{"n":1}]', "error": None}
    assert lines[1] == {"content": '[{"n":2}]', "error": None}
    # message 3 repeats id 1: its insert fails, so nothing of its transaction stays
    assert lines[2] == {
        "content": '{"id":1,"name":"n3"}',
        "error": "running query: constraint failed: UNIQUE constraint failed: people.id (1555)",
    }
    assert rows(db, "SELECT n FROM counts ORDER BY n") == [(1,), (2,)]
    assert rows(db, "SELECT id, name FROM people ORDER BY id") == [(0, "n2"), (1, "n1")]


def test_processor_single_exec_only_query_leaves_the_payload(tmp_path: Path) -> None:
    # two processors, two connections: the busy timeout lets one wait for the other's write
    db = f"file:{seed(tmp_path / 'e.db', PEOPLE)}?_pragma=busy_timeout(5000)"
    config = (
        generate(2, 'root = {"id": counter()}')
        + f"""
pipeline:
  processors:
    - sql_raw:
        driver: sqlite
        dsn: "{db}"
        query: INSERT INTO people (id, name) VALUES (?, 'x') RETURNING id
        args_mapping: root = [this.id]
        exec_only: true
    - sql_raw:
        driver: sqlite
        dsn: "{db}"
        query: UPDATE people SET name = 'y' WHERE id = ? RETURNING id, name
        args_mapping: root = [this.id]
{REPORT_LINE}output:
{file_output()}"""
    )
    assert run_to_file(tmp_path, config) == [
        {"content": '[{"id":1,"name":"y"}]', "error": None},
        {"content": '[{"id":2,"name":"y"}]', "error": None},
    ]


# -- cache ------------------------------------------------------------------------------------------


def test_sql_cache_keeps_items_as_rows(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    config = f"""cache_resources:
  - label: c
    sql:
      driver: sqlite
      dsn: {db}
      init_statement: CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB)
      table: kv
      key_column: k
      value_column: v
      set_suffix: ON CONFLICT (k) DO UPDATE SET v = excluded.v
input:
  generate: {{count: 1, interval: "", mapping: 'root = "start"'}}
pipeline:
  processors:
    - cache: {{resource: c, operator: set, key: a, value: first}}
    - cache: {{resource: c, operator: set, key: a, value: second}}
    - cache: {{resource: c, operator: add, key: b, value: bee}}
    - cache: {{resource: c, operator: get, key: a}}
    - mapping: 'root = {{"a": content().string()}}'
    - cache: {{resource: c, operator: add, key: b, value: again}}
    - catch:
        - mapping: 'root = this.merge({{"add_error": error()}})'
    - cache: {{resource: c, operator: delete, key: a}}
    - cache: {{resource: c, operator: delete, key: never-there}}
    - cache: {{resource: c, operator: get, key: a}}
    - catch:
        - mapping: 'root = this.merge({{"get_error": error()}})'
output:
{file_output()}"""
    assert run_to_file(tmp_path, config) == [
        {
            "a": "second",
            # as upstream on sqlite: the collision is the database's error, not "key already exists"
            "add_error": "operator failed for key 'b': constraint failed: UNIQUE constraint failed: kv.k (1555)",
            "get_error": "operator failed for key 'a': key does not exist",
        }
    ]
    assert rows(db, "SELECT k, v FROM kv ORDER BY k") == [("b", b"bee")]


# -- lint -------------------------------------------------------------------------------------------


def test_lint_of_sql_raw_and_the_sql_cache(tmp_path: Path) -> None:
    config = """cache_resources:
  - label: c
    sql: {driver: mysql, dsn: "u:secret@tcp(localhost)/db", table: t, key_column: k, value_column: v}
input:
  sql_raw: {driver: sqlite, dsn: x.db, query: SELECT 1, exec_only: true}
pipeline:
  processors:
    - sql_raw: {driver: sqlite, dsn: x.db}
    - sql_raw: {driver: sqlite, dsn: x.db, queries: [{query: SELECT 1, when: root = true}]}
output:
  sql_raw:
    driver: sqlite
    dsn: x.db
    queries:
      - query: SELECT 1
      - {query: SELECT 2, when: root = true}
      - query: SELECT 3
"""
    problems = lint_problems(tmp_path, config)
    assert problems == [
        "lint.yaml(5,57) field exec_only not recognised",
        "lint.yaml(8,7) either `query` or `queries` is required",
        "lint.yaml(9,72) field when not recognised",
        "lint.yaml(11,3) query at index 0 has no `when` condition and will always match, making "
        "subsequent queries unreachable",
        "lint.yaml(3,5) driver mysql is not available: benthic only has the sqlite driver "
        "(Python's built-in sqlite3), set driver: sqlite",
    ]


def test_placeholders_take_their_values_as_the_go_driver_gives_them(tmp_path: Path) -> None:
    config = f"""input:
  generate: {{count: 1, interval: "", mapping: 'root = [10, 20, 30, 40]'}}
pipeline:
  processors:
    - sql_raw:
        driver: sqlite
        dsn: {tmp_path / "p.db"}
        query: |
          SELECT $2 AS b, $1 AS a, ? AS c, '?' AS q -- a ? in a comment is no placeholder
        args_mapping: root = this
{REPORT_LINE}output:
{file_output()}"""
    # $N is the Nth value; the bare ? is the third parameter, so the third value; the 4th is unused
    assert run_to_file(tmp_path, config) == [{"content": '[{"a":10,"b":20,"c":30,"q":"?"}]', "error": None}]


def test_args_mapping_results_are_read_as_documents_by_sql_insert_too(tmp_path: Path) -> None:
    db = seed(tmp_path / "i.db", PEOPLE)
    config = f"""input:
  generate: {{count: 2, batch_size: 2, interval: "", mapping: 'root = {{"id": counter()}}'}}
pipeline:
  processors:
    - sql_insert:
        driver: sqlite
        dsn: {db}
        table: people
        columns: [id, name]
        args_mapping: 'root = if this.id == 1 {{ "[1, \\"from text\\"]" }} else {{ "oops" }}'
{REPORT_LINE}output:
{file_output()}"""
    assert run_to_file(tmp_path, config) == [
        {"content": '{"id":1}', "error": None},
        {
            "content": '{"id":2}',
            "error": "mapping returned non-structured result: invalid character 'o' looking for beginning of value",
        },
    ]
    assert rows(db, "SELECT id, name FROM people") == [(1, "from text")]
