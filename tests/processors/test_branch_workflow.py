"""``branch`` and ``workflow`` run in a pipeline: requests, results folded back, skipped and
failed branches, and the order a workflow works out from its mappings."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from pipeline.builder import Manager
from pipeline.errors import ConfigError
from pipeline.message import Message
from tests.pipeline.conftest import run_cli
from tests.processors.flow_helpers import run_config


def config(
    out: Path,
    processors: str,
    mapping: str = 'root = {"id": counter(), "name": "n" + counter().string()}',
    count: int = 2,
) -> str:
    return f"""
input:
  generate:
    count: {count}
    interval: ""
    mapping: '{mapping}'
pipeline:
  threads: 1
  processors:
{processors}
output:
  file:
    path: {out}
"""


def test_branch_maps_the_child_result_back_and_keeps_the_original(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    procs = """
    - branch:
        request_map: 'root = this.name'
        processors:
          - mapping: 'root = content().string().uppercase()'
        result_map: 'root.upper = content().string()'
"""
    assert run_config(config(out, procs), out) == [
        {"id": 1, "name": "n1", "upper": "N1"},
        {"id": 2, "name": "n2", "upper": "N2"},
    ]


def test_branch_request_deleted_skips_the_children_for_that_message(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    procs = """
    - branch:
        request_map: 'root = if this.id == 1 { deleted() } else { this }'
        processors:
          - mapping: 'root = {"seen": true}'
        result_map: 'root.seen = this.seen'
"""
    assert run_config(config(out, procs), out) == [
        {"id": 1, "name": "n1"},
        {"id": 2, "name": "n2", "seen": True},
    ]


def test_branch_child_error_flags_the_message_and_leaves_it_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    procs = """
    - branch:
        processors:
          - mapping: 'root = throw("boom")'
        result_map: 'root.never = true'
    - mapping: 'root = this.merge({"err": error()})'
"""
    lines = run_config(config(out, procs, count=1), out)
    assert lines == [{"id": 1, "name": "n1", "err": "processors failed: failed assignment (line 1): boom"}]


def test_branch_metadata_is_copied_back_only_when_result_map_says_so(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    procs = """
    - branch:
        processors:
          - mapping: 'meta code = "200"'
        result_map: 'meta result_code = metadata("code")'
    - mapping: 'root = {"code": @code, "result_code": @result_code}'
"""
    assert run_config(config(out, procs, count=1), out) == [{"code": None, "result_code": "200"}]


def test_branch_that_filters_messages_flags_the_whole_batch(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    procs = """
    - branch:
        processors:
          - mapping: 'root = deleted()'
    - mapping: 'root = {"err": error()}'
"""
    assert run_config(config(out, procs, count=1), out) == [
        {"err": "child processors resulted in zero messages"}
    ]


def test_workflow_orders_branches_from_what_they_read_and_write(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    procs = """
    - workflow:
        meta_path: meta.workflow
        branches:
          total:
            request_map: 'root = this.a + this.b'
            processors: [{mapping: 'root = this * 10'}]
            result_map: 'root.total = this'
          a:
            request_map: 'root = this.id'
            processors: [{mapping: 'root = this + 1'}]
            result_map: 'root.a = this'
          b:
            request_map: 'root = this.id'
            processors: [{mapping: 'root = this + 2'}]
            result_map: 'root.b = this'
"""
    [line] = run_config(config(out, procs, mapping='root = {"id": 1}', count=1), out)
    assert line["total"] == 50
    assert line["meta"]["workflow"] == {"succeeded": ["a", "b", "total"]}


def test_workflow_records_failed_and_skipped_branches_and_skips_them_on_replay(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    procs = """
    - workflow:
        order: [[good, bad, skip]]
        branches:
          good:
            processors: [{mapping: 'root = "ok"'}]
            result_map: 'root.good = content().string()'
          bad:
            processors: [{mapping: 'root = throw("nope")'}]
            result_map: 'root.bad = this'
          skip:
            request_map: 'root = deleted()'
            processors: [{noop: {}}]
    - workflow:
        order: [[good, bad, skip]]
        branches:
          good:
            processors: [{mapping: 'root = "again"'}]
            result_map: 'root.good = content().string()'
          bad:
            processors: [{mapping: 'root = "fixed"'}]
            result_map: 'root.bad = content().string()'
          skip:
            processors: [{noop: {}}]
"""
    [line] = run_config(config(out, procs, mapping='root = {"id": 1}', count=1), out)
    assert line["good"] == "ok"  # not re-run: the first run succeeded
    assert line["bad"] == "fixed"
    record = line["meta"]["workflow"]
    assert record["succeeded"] == ["bad"]
    assert record["skipped"] == ["good", "skip"]
    previous = record["previous"]
    assert previous["succeeded"] == ["good"]
    assert previous["skipped"] == ["skip"]
    assert "nope" in previous["failed"]["bad"]


def test_workflow_without_meta_path_flags_messages_whose_branches_failed(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    procs = """
    - workflow:
        meta_path: ""
        branches:
          x:
            processors: [{mapping: 'root = throw("x failed")'}]
          y:
            processors: [{mapping: 'root = throw("y failed")'}]
    - mapping: 'root = {"err": error(), "id": this.id}'
"""
    assert run_config(config(out, procs, mapping='root = {"id": 1}', count=1), out) == [
        {"err": "workflow branches failed: [x y]", "id": 1}
    ]


def test_workflow_runs_branch_resources_named_in_order(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    text = (
        config(
            out,
            """
    - workflow:
        order: [[shared]]
""",
            mapping='root = {"id": 7}',
            count=1,
        )
        + """
processor_resources:
  - label: shared
    branch:
      processors: [{mapping: 'root = this.id * 3'}]
      result_map: 'root.tripled = this'
"""
    )
    [line] = run_config(text, out)
    assert line["tripled"] == 21
    assert line["meta"]["workflow"]["succeeded"] == ["shared"]


def test_a_workflow_config_passes_its_own_unit_tests_with_benthic_test(tmp_path: Path) -> None:
    config = tmp_path / "enrich.yaml"
    config.write_text("""
pipeline:
  processors:
    - workflow:
        meta_path: ""
        branches:
          greeting:
            request_map: 'root = this.name'
            processors:
              - mapping: 'root = "hello " + content().string()'
            result_map: 'root.greeting = content().string()'
          shout:
            request_map: 'root = this.greeting'
            processors:
              - mapping: 'root = content().string().uppercase()'
            result_map: 'root.shout = content().string()'
tests:
  - name: greets then shouts
    input_batch:
      - json_content: {name: ada}
    output_batches:
      - - json_equals: {name: ada, greeting: hello ada, shout: HELLO ADA}
""")
    result = run_cli("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded" in result.stdout + result.stderr


CHAIN = [
    ("root = this.foo", "root.bar = this"),
    ("root = this.bar", "root.baz = this"),
    ("root = this.baz", "root.buz = this"),
]


@pytest.mark.parametrize(
    ("branches", "order", "expected"),
    [
        (CHAIN, [], [["0"], ["1"], ["2"]]),
        (CHAIN, [["1", "2"], ["0"]], [["1", "2"], ["0"]]),
        (
            [
                ("root = this.foo", "root.bar = this"),
                ("root = this.foo", "root.baz = this"),
                ("root.bar = this.bar\nroot.baz = this.baz", "root.buz = this"),
            ],
            [],
            [["0", "1"], ["2"]],
        ),
        (
            [
                ("root = this.foo", "root.bar = this"),
                ("root = this.foo", "root.baz = this"),
                ("root = this.baz", "root.foo = this"),
            ],
            [],
            "failed to automatically resolve DAG, circular dependencies detected for branches: [0 1 2]",
        ),
        (CHAIN, [["1"], ["0"]], "the following branches were missing from order: [2]"),
        (CHAIN, [["1"], ["0", "2"], ["1"]], "branch specified in order listed multiple times: 1"),
    ],
)
def test_workflow_order_follows_upstreams_dependency_rules(
    branches: list[tuple[str, str]], order: list[list[str]], expected: object
) -> None:
    conf = {
        "workflow": {
            "order": order,
            "branches": {
                str(i): {"request_map": req, "processors": [{"mapping": "root = this"}], "result_map": res}
                for i, (req, res) in enumerate(branches)
            },
        }
    }
    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=re.escape(expected)):
            Manager().build_processor(conf, "root.pipeline.processors.0")
        return
    stage = Manager().build_processor(conf, "root.pipeline.processors.0")
    assert stage.processor.order == expected


NUMBERS = [
    ("root.foo = this.foo.not_null()", "root = this", "root.bar = this.foo.number()"),
    ("root.bar = this.bar.not_null()", "root = this", "root.baz = this.bar.number() + 5"),
    ("root.baz = this.baz.not_null()", "root = this", "root.buz = this.baz.number() + 2"),
]
NULL_FOO = "request mapping failed: failed assignment (line 1): field `this.foo`: value is null"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            {"meta": {"workflow": {"apply": ["2"]}}, "baz": 2},
            {
                "baz": 2,
                "buz": 4,
                "meta": {
                    "workflow": {"previous": {"apply": ["2"]}, "skipped": ["0", "1"], "succeeded": ["2"]}
                },
            },
        ),
        (
            {"meta": {"workflow": {"skipped": ["0"]}}, "bar": 3},
            {
                "bar": 3,
                "baz": 8,
                "buz": 10,
                "meta": {
                    "workflow": {"previous": {"skipped": ["0"]}, "skipped": ["0"], "succeeded": ["1", "2"]}
                },
            },
        ),
        (
            {"meta": {"workflow": {"succeeded": ["1"]}}, "baz": 9},
            {
                "baz": 9,
                "buz": 11,
                "meta": {
                    "workflow": {
                        "failed": {"0": NULL_FOO},
                        "previous": {"succeeded": ["1"]},
                        "skipped": ["1"],
                        "succeeded": ["2"],
                    }
                },
            },
        ),
        (
            {"foo": "not a number"},
            {
                "foo": "not a number",
                "meta": {
                    "workflow": {
                        "failed": {
                            "0": "result mapping failed: failed assignment (line 1): field `this.foo`: strconv.ParseFloat: "
                            'parsing "not a number": invalid syntax',
                            "1": "request mapping failed: failed assignment (line 1): field `this.bar`: value is null",
                            "2": "request mapping failed: failed assignment (line 1): field `this.baz`: value is null",
                        }
                    }
                },
            },
        ),
    ],
)
def test_workflow_records_and_replays_as_upstream(
    given: dict[str, object], expected: dict[str, object]
) -> None:
    conf = {
        "workflow": {
            "branches": {
                str(i): {"request_map": req, "processors": [{"bloblang": proc}], "result_map": res}
                for i, (req, proc, res) in enumerate(NUMBERS)
            }
        }
    }
    stage = Manager().build_processor(conf, "root.pipeline.processors.0")
    [[msg]] = asyncio.run(stage.process([Message(json.dumps(given).encode())]))
    assert json.loads(msg.content) == expected
    assert msg.error is None


def test_workflow_keeps_a_pre_existing_error_flag_and_still_runs_branches() -> None:
    conf = {
        "workflow": {
            "branches": {
                "0": {
                    "request_map": "root = this",
                    "processors": [{"bloblang": "root = this\nroot.name_upper = this.name.uppercase()"}],
                    "result_map": 'root.result = if this.failme.bool(false) { throw("branch error") } else { this.name_upper }',
                }
            }
        }
    }
    stage = Manager().build_processor(conf, "root.pipeline.processors.0")
    batch = [
        Message(b'{"name":"first"}', error="earlier failure"),
        Message(b'{"failme":true,"name":"second"}'),
    ]
    [[first, second]] = asyncio.run(stage.process(batch))
    assert json.loads(first.content) == {
        "name": "first",
        "result": "FIRST",
        "meta": {"workflow": {"succeeded": ["0"]}},
    }
    assert first.error == "earlier failure"
    assert json.loads(second.content)["meta"]["workflow"]["failed"] == {
        "0": "result mapping failed: failed assignment (line 1): branch error"
    }
    assert second.error is None


FIVE = [{"id": i, "name": n} for i, n in enumerate(["first", "second", "third", "fourth", "fifth"])]
COUNT_MISMATCH = (
    "message count from branch processors does not match request, started with 4 messages, finished with 5"
)


@pytest.mark.parametrize(
    ("request_map", "processor_map", "result_map", "given", "expected"),
    [
        (
            "",
            "root.nested = this",
            "root.result = this.nested",
            [{"value": "x"}],
            [({"result": {"value": "x"}, "value": "x"}, None)],
        ),
        ("root.nested = this", "root = this", "", [{"value": "x"}], [({"value": "x"}, None)]),
        (
            'root = match {\n  this.id == 0 => throw("i dont like zero"),\n  this.id == 3 => deleted(),\n  _ => {"name":this.name,"id":this.id}\n}',
            "root = this\nroot.name_upper = this.name.uppercase()",
            'root.result = match {\n  this.id == 2 => throw("i dont like two either"),\n  _ => this.name_upper\n}',
            FIVE,
            [
                (FIVE[0], "request mapping failed: failed assignment (line 1): i dont like zero"),
                ({**FIVE[1], "result": "SECOND"}, None),
                (FIVE[2], "result mapping failed: failed assignment (line 1): i dont like two either"),
                (FIVE[3], None),
                ({**FIVE[4], "result": "FIFTH"}, None),
            ],
        ),
        ("root = deleted()", "root = this", "root.result = this", FIVE, [(m, None) for m in FIVE]),
        (
            'root = if this.id == 3 { throw("foo") } else { this }',
            "root = if this.id == 2 { deleted() }",
            "root.result = this",
            FIVE,
            [
                (
                    m,
                    "request mapping failed: failed assignment (line 1): foo"
                    if m["id"] == 3
                    else COUNT_MISMATCH,
                )
                for m in FIVE
            ],
        ),
    ],
)
def test_branch_behaves_as_upstreams_cases(
    request_map: str,
    processor_map: str,
    result_map: str,
    given: list[dict[str, object]],
    expected: list[tuple[object, str | None]],
) -> None:
    conf = {
        "branch": {
            "request_map": request_map,
            "processors": [{"bloblang": processor_map}],
            "result_map": result_map,
        }
    }
    stage = Manager().build_processor(conf, "root.pipeline.processors.0")
    [out] = asyncio.run(stage.process([Message(json.dumps(m).encode()) for m in given]))
    assert [(json.loads(m.content), m.error) for m in out] == expected


def test_branch_request_map_reads_the_original_error_and_metadata() -> None:
    conf = {
        "branch": {
            "request_map": 'root.err = error()\nmeta foo = meta("foo")',
            "processors": [
                {"bloblang": 'root.err = this.err.string().uppercase()\nmeta foo = meta("foo") + " and this"'}
            ],
            "result_map": 'root.result_err = this.err\nmeta new_foo = meta("foo")',
        }
    }
    stage = Manager().build_processor(conf, "root.pipeline.processors.0")
    batch = [
        Message(b'{"id":0}', {"foo": "bar"}, error="earlier failure"),
        Message(b'{"id":1}', {"foo": "baz"}),
    ]
    [[first, second]] = asyncio.run(stage.process(batch))
    assert json.loads(first.content) == {"id": 0, "result_err": "EARLIER FAILURE"}
    assert first.error == "earlier failure"
    assert first.metadata == {"foo": "bar", "new_foo": "bar and this"}
    assert json.loads(second.content) == {"id": 1, "result_err": "NULL"}
    assert second.metadata == {"foo": "baz", "new_foo": "baz and this"}
