"""The composition and utility processors run in a pipeline as a user configures them."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from tests.pipeline.conftest import start_cli
from tests.processors.flow_helpers import run_config


def config(out: Path, processors: str, *, count: int = 3, batch_size: int = 1, extra: str = "") -> str:
    return f"""
input:
  generate:
    count: {count}
    batch_size: {batch_size}
    interval: ""
    mapping: 'root = {{"id": counter()}}'
pipeline:
  threads: 1
  processors:
{processors}
output:
  file:
    path: {out}
{extra}
"""


def test_for_each_runs_batch_wide_children_on_each_message(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - for_each:
        - mapping: 'root = this.merge({"size": batch_size()})'
"""
    assert run_config(config(out, procs, count=3, batch_size=3), out) == [
        {"id": 1, "size": 1},
        {"id": 2, "size": 1},
        {"id": 3, "size": 1},
    ]


def test_processors_groups_children_into_one_step(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - processors:
        - mapping: 'root = this.id * 2'
        - mapping: 'root = this + 1'
"""
    assert run_config(config(out, procs), out) == [3, 5, 7]


def test_parallel_keeps_the_batch_order(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - parallel:
        cap: 2
        processors:
          - sleep: {duration: '${! (5 - this.id) * 10 }ms'}
          - mapping: 'root = this.id'
"""
    assert run_config(config(out, procs, count=4, batch_size=4), out) == [1, 2, 3, 4]


def test_while_loops_until_the_check_fails_and_max_loops_caps_it(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - while:
        check: '(this.n | 0) < 5'
        processors:
          - mutation: 'root.n = (this.n | 0) + 1'
    - while:
        at_least_once: true
        max_loops: 3
        check: 'true'
        processors:
          - mutation: 'root.m = (this.m | 0) + 1'
    - mapping: 'root = {"n": this.n, "m": this.m}'
"""
    assert run_config(config(out, procs, count=1), out) == [{"n": 5, "m": 3}]


def test_while_requires_a_check() -> None:
    with pytest.raises(ConfigError, match="a check query is required"):
        run_config(
            config(Path("/nonexistent"), "    - while: {processors: [{noop: {}}]}"), Path("/nonexistent")
        )


def test_retry_repeats_failed_children_from_the_original_message(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - retry:
        backoff: {initial_interval: 1ms, max_interval: 2ms}
        max_retries: 3
        processors:
          - mapping: 'root = throw("always")'
    - mapping: 'root = {"err": error(), "retry_count": @retry_count}'
"""
    assert run_config(config(out, procs, count=1), out) == [
        {"err": "failed assignment (line 1): always", "retry_count": 3}
    ]


def test_retry_succeeds_once_the_children_stop_failing(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - retry:
        backoff: {initial_interval: 1ms, max_interval: 2ms}
        processors:
          - cache: {resource: seen, operator: add, key: 'k', value: x}
    - mapping: 'root = {"err": error(), "retry_count": @retry_count}'
"""
    extra = """
cache_resources:
  - label: seen
    memory: {}
"""
    # the first message adds the key; the second fails on every attempt until max_elapsed_time
    procs = procs.replace("processors:", "max_retries: 2\n        processors:")
    lines = run_config(config(out, procs, count=2, extra=extra), out)
    assert lines[0] == {"err": None, "retry_count": 0}
    assert lines[1] == {"err": "key already exists: k", "retry_count": 2}


def test_group_by_splits_a_batch_and_runs_each_groups_processors(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - group_by:
        - check: 'this.id % 2 == 0'
          processors:
            - mapping: 'root = this.merge({"even": true})'
    - mapping: 'root = this.merge({"batch": batch_size()})'
"""
    assert run_config(config(out, procs, count=4, batch_size=4), out) == [
        {"id": 2, "even": True, "batch": 2},
        {"id": 4, "even": True, "batch": 2},
        {"id": 1, "batch": 2},
        {"id": 3, "batch": 2},
    ]


def test_group_by_value_groups_by_an_interpolated_key(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - group_by_value: {value: '${! this.id % 3 }'}
    - archive: {format: json_array}
"""
    assert run_config(config(out, procs, count=5, batch_size=5), out) == [
        [{"id": 1}, {"id": 4}],
        [{"id": 2}, {"id": 5}],
        [{"id": 3}],
    ]


def test_select_parts_and_insert_part_reshape_a_batch(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - select_parts: {parts: [-1, 0, 9]}
    - insert_part: {index: 1, content: '{"inserted": ${! batch_size() }}'}
"""
    assert run_config(config(out, procs, count=3, batch_size=3), out) == [
        {"id": 3},
        {"inserted": 2},
        {"id": 1},
    ]


def test_bounds_check_drops_batches_outside_the_limits(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - bounds_check: {max_parts: 2}
"""
    assert run_config(config(out, procs, count=5, batch_size=3), out) == [{"id": 4}, {"id": 5}]


def test_sleep_with_a_bad_duration_logs_and_passes_the_message(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - sleep: {duration: 'not a duration'}
"""
    assert run_config(config(out, procs, count=1), out) == [{"id": 1}]


def test_rate_limit_passes_messages_through_its_resource(tmp_path: Path) -> None:
    out = tmp_path / "o"
    extra = """
rate_limit_resources:
  - label: slow
    local: {count: 2, interval: 50ms}
"""
    assert run_config(config(out, "    - rate_limit: {resource: slow}", count=5, extra=extra), out) == [
        {"id": i} for i in range(1, 6)
    ]


def test_rate_limit_names_a_missing_resource() -> None:
    with pytest.raises(ConfigError, match="rate limit resource 'gone' was not found"):
        run_config(config(Path("/x"), "    - rate_limit: {resource: gone}"), Path("/x"))


def test_resource_processor_runs_the_labelled_processor(tmp_path: Path) -> None:
    out = tmp_path / "o"
    extra = """
processor_resources:
  - label: double
    mapping: 'root = this.id * 2'
"""
    assert run_config(config(out, "    - resource: double", extra=extra), out) == [2, 4, 6]


def test_cache_processor_operators_and_their_errors(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - cache: {resource: c, operator: add, key: 'k${! this.id % 2 }', value: '${! this.id }'}
    - mapping: 'root = {"id": this.id, "add_err": error()}'
    - branch:
        processors:
          - cache: {resource: c, operator: get, key: 'k${! this.id % 2 }'}
        result_map: 'root.stored = content().string()'
    - branch:
        processors:
          - cache: {resource: c, operator: exists, key: 'missing'}
        result_map: 'root.exists = this'
    - catch: []
    - cache: {resource: c, operator: get, key: 'missing'}
    - mapping: 'root = this.merge({"get_err": error()})'
"""
    extra = """
cache_resources:
  - label: c
    memory: {}
"""
    lines = run_config(config(out, procs, count=3, extra=extra), out)
    assert lines[0] == {
        "id": 1,
        "add_err": None,
        "stored": "1",
        "exists": False,
        "get_err": "operator failed for key 'missing': key does not exist",
    }
    assert lines[2]["add_err"] == "key already exists: k1"
    assert lines[2]["stored"] == "1"


def test_cache_processor_names_a_missing_cache() -> None:
    with pytest.raises(ConfigError, match="cache resource 'nope' was not found"):
        run_config(config(Path("/x"), "    - cache: {resource: nope, operator: get, key: k}"), Path("/x"))


def test_cached_runs_children_once_per_key_and_reuses_the_result(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - cached:
        cache: results
        key: 'k${! this.id % 2 }'
        processors:
          - mapping: 'root = {"computed_for": this.id}'
"""
    extra = """
cache_resources:
  - label: results
    lru: {cap: 10}
"""
    assert run_config(config(out, procs, count=4, extra=extra), out) == [
        {"computed_for": 1},
        {"computed_for": 2},
        {"computed_for": 1},
        {"computed_for": 2},
    ]


def test_cached_refuses_a_value_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - cached:
        cache: results
        key: 'preset'
        processors: [{noop: {}}]
    - mapping: 'root = error()'
"""
    extra = """
cache_resources:
  - label: results
    memory: {init_values: {preset: "hello"}}
"""
    [line] = run_config(config(out, procs, count=1, extra=extra), out)
    assert line.startswith(
        "failed to parse cached result, this indicates the data was not set by this processor"
    )


def test_cached_skip_on_keeps_errored_results_out_of_the_cache(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = """
    - cached:
        cache: results
        key: 'same'
        skip_on: 'errored()'
        processors:
          - mapping: 'root = if this.id == 1 { throw("first fails") } else { {"ok": this.id} }'
    - catch: []
"""
    extra = """
cache_resources:
  - label: results
    memory: {}
"""
    assert run_config(config(out, procs, count=3, extra=extra), out) == [{"id": 1}, {"ok": 2}, {"ok": 2}]


def test_an_endless_while_loop_still_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "loop.yaml"
    config.write_text(
        """
http: {enabled: false}
shutdown_timeout: 1s
input:
  generate: {count: 1, interval: "", mapping: 'root = {}'}
pipeline:
  processors:
    - while:
        check: 'true'
        processors: [{mutation: 'root.n = (this.n | 0) + 1'}]
output:
  drop: {}
"""
    )
    proc = start_cli("run", str(config))
    try:
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode is not None
