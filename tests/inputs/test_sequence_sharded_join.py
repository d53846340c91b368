"""``sequence`` with ``sharded_join``: documents from the children merged by an id, emitted after
the children end (``full-outer``) or as the last child delivers (``outer``), in one or more passes.

The documented examples run through the real CLI on real files; the merge rules are checked on
the joiner itself."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from inputs._xxh64 import xxh64
from inputs.sequence import SPEC, Joiner
from pipeline.builder import Manager
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from tests.component_runs import lint, run_lines


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return json.dumps(str(path))


MAIN_CSV = "uuid,name,age\nAAA,Melanie,34\nBBB,Emma,28\nCCC,Geri,45\n"


def test_the_simple_documented_join_merges_rows_of_two_csv_files_by_uuid(tmp_path: Path):
    hobbies = write(tmp_path, "hobbies.csv", "uuid,hobby\nCCC,pokemon go\nAAA,rowing\nAAA,golf\n")
    main = write(tmp_path, "main.csv", MAIN_CSV)
    config = f"""
input:
  sequence:
    sharded_join:
      type: full-outer
      id_path: uuid
      merge_strategy: array
    inputs:
      - file:
          paths:
            - {hobbies}
            - {main}
          scanner:
            csv: {{}}
output:
  stdout: {{}}
"""
    out = sorted(run_lines(tmp_path, config), key=lambda doc: doc["uuid"])
    assert out == [
        {"uuid": "AAA", "name": "Melanie", "age": "34", "hobby": ["rowing", "golf"]},
        {"uuid": "BBB", "name": "Emma", "age": "28"},
        {"uuid": "CCC", "name": "Geri", "age": "45", "hobby": "pokemon go"},
    ]


def test_the_advanced_documented_join_runs_ten_passes_and_emits_each_pass_in_turn(tmp_path: Path):
    main = write(tmp_path, "main.csv", MAIN_CSV)
    hobbies = write(
        tmp_path,
        "hobbies.ndjson",
        '{"document":{"uuid":"CCC","hobbies":[{"type":"pokemon go"}]}}\n'
        '{"document":{"uuid":"AAA","hobbies":[{"type":"rowing"},{"type":"golf"}]}}\n',
    )
    config = f"""
input:
  sequence:
    sharded_join:
      type: full-outer
      id_path: uuid
      iterations: 10
      merge_strategy: array
    inputs:
      - file:
          paths: [ {main} ]
          scanner:
            csv: {{}}
      - file:
          paths: [ {hobbies} ]
          scanner:
            lines: {{}}
        processors:
          - mapping: |
              root.uuid = this.document.uuid
              root.hobbies = this.document.hobbies.map_each(this.type)
output:
  stdout: {{}}
"""
    # XXH64 puts AAA, BBB and CCC in passes 0, 2 and 3, so upstream emits them in that order
    assert run_lines(tmp_path, config) == [
        {"uuid": "AAA", "name": "Melanie", "age": "34", "hobbies": ["rowing", "golf"]},
        {"uuid": "BBB", "name": "Emma", "age": "28"},
        {"uuid": "CCC", "name": "Geri", "age": "45", "hobbies": ["pokemon go"]},
    ]


def test_an_outer_join_emits_as_the_last_input_delivers_and_acks_reach_every_file(tmp_path: Path):
    users = write(tmp_path, "users.jsonl", '{"id":"u1","name":"Ann"}\n{"id":"u2","name":"Bo"}\n')
    orders = write(
        tmp_path, "orders.jsonl", '{"id":"u1","order":1}\n{"id":"u3","order":2}\n{"id":"u1","order":3}\n'
    )
    config = f"""
input:
  sequence:
    sharded_join:
      type: outer
      id_path: id
    inputs:
      - file: {{paths: [{users}], codec: lines, delete_on_finish: true}}
      - file: {{paths: [{orders}], codec: lines, delete_on_finish: true}}
pipeline:
  threads: 1
output:
  stdout: {{}}
"""
    assert run_lines(tmp_path, config) == [
        {"id": "u1", "name": "Ann", "order": 1},
        {"id": "u3", "order": 2},
        {"id": "u1", "name": "Ann", "order": [1, 3]},  # again, with what has been merged since
    ]
    assert not (tmp_path / "users.jsonl").exists() and not (tmp_path / "orders.jsonl").exists()


def test_a_nacked_joined_document_is_sent_again_and_the_input_ends_once_it_is_delivered(tmp_path: Path):
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id":"a","x":1}\n{"id":"a","y":2}\n')

    async def run() -> list[Any]:
        seq = Manager().build_input(
            {
                "sequence": {
                    "sharded_join": {"type": "full-outer", "id_path": "id"},
                    "inputs": [{"file": {"paths": [str(path)], "codec": "lines"}}],
                }
            },
            "root.input",
        )
        await seq.connect()
        seen = []
        batch, ack = await seq.read()
        seen.append(batch[0].structured())
        await ack(RuntimeError("output refused it"))
        batch, ack = await seq.read()  # a second later
        seen.append(batch[0].structured())
        await ack(None)
        with pytest.raises(EndOfInputError):
            await seq.read()
        await seq.close()
        return seen

    assert asyncio.run(run()) == [{"id": "a", "x": 1, "y": 2}] * 2


def test_a_join_needs_an_id_path(tmp_path: Path):
    result = lint(
        tmp_path, "input:\n  sequence:\n    sharded_join: {type: full-outer}\n    inputs: [{stdin: {}}]\n"
    )
    assert result.returncode == 1
    assert "invalid sharded join config: the id path must not be empty" in result.stderr, result.stderr


def conf(**join: Any) -> dict[str, Any]:
    return {
        "inputs": [{"stdin": {}}],
        "sharded_join": {
            "type": "full-outer",
            "id_path": "id",
            "iterations": 1,
            "merge_strategy": "array",
            **join,
        },
    }


def test_lint_refuses_what_upstream_refuses_to_build():
    assert SPEC.lint is not None
    assert SPEC.lint(conf(iterations=0)) == ["invalid sharded join config: invalid number of iterations: 0"]
    assert SPEC.lint({**conf(), "inputs": []}) == ["requires at least one child input"]
    assert SPEC.lint(conf(type="none", id_path="")) == []
    assert SPEC.lint(conf(type="outter")) == []


class Logger:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)


def joined(strategy: str, *docs: dict[str, Any], **join: Any) -> list[Any]:
    joiner = Joiner({**conf(merge_strategy=strategy, **join)["sharded_join"]}, Logger())
    joiner.add([Message(json.dumps(doc).encode(), {"n": i}) for i, doc in enumerate(docs)], False)
    return [(msg.structured(), msg.metadata) for msg in joiner.end_pass()]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("array", {"id": "a", "tags": ["x", "y", "z"], "n": [1, 2], "deep": {"k": ["v", "w"], "l": 1}}),
        ("replace", {"id": "a", "tags": ["z"], "n": 2, "deep": {"k": "w", "l": 1}}),
        ("keep", {"id": "a", "tags": ["x", "y"], "n": 1, "deep": {"k": "v", "l": 1}}),
    ],
)
def test_merge_strategies_settle_clashing_values_and_objects_merge_key_by_key(strategy: str, expected: Any):
    out = joined(
        strategy,
        {"id": "a", "tags": ["x", "y"], "n": 1, "deep": {"k": "v"}},
        {"id": "a", "tags": ["z"], "n": 2, "deep": {"k": "w", "l": 1}},
    )
    assert out == [(expected, {"n": 1})]  # metadata merged too: the later value wins


def test_documents_without_a_string_id_are_dropped_with_a_warning():
    logger = Logger()
    joiner = Joiner(conf()["sharded_join"], logger)
    batch = [Message(b'"just text"'), Message(b'{"id":7}'), Message(b'{"other":1}'), Message(b'{"id":"ok"}')]
    joiner.add(batch, False)
    assert [msg.structured() for msg in joiner.end_pass()] == [{"id": "ok"}]
    assert logger.warnings and "Dropped 3 message(s)" in logger.warnings[0]


def test_a_nested_id_path_joins_but_its_id_merges_like_any_field_as_upstream():
    out = joined("array", {"doc": {"id": "a", "x": 1}}, {"doc": {"id": "a", "y": 2}}, id_path="doc.id")
    assert out[0][0] == {"doc": {"id": ["a", "a"], "x": 1, "y": 2}}


def test_each_pass_joins_only_its_share_of_the_ids():
    joiner = Joiner(conf(iterations=10)["sharded_join"], Logger())
    batch = [Message(json.dumps({"id": ident}).encode()) for ident in ("AAA", "BBB", "CCC")]
    passes = []
    while not joiner.finished:
        joiner.add(batch, False)
        passes.append([msg.structured()["id"] for msg in joiner.end_pass()])
    assert passes == [["AAA"], [], ["BBB"], ["CCC"], [], [], [], [], [], []]


def test_ids_are_sharded_with_xxh64_as_upstream():
    # reference values from the xxHash C library (seed 0); the long input takes the 32-byte path
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"abc") == 0x44BC2CF5AD770999
    assert xxh64(b"The quick brown fox jumps over the lazy dog, twice over!") == 0x709FB4A3913333D
