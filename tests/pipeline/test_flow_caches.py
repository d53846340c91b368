"""The ``lru``, ``ttlru``, ``file``, ``multilevel`` and ``noop`` caches, used from a pipeline with
the ``cache`` processor as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from tests.processors.flow_helpers import run_config


def config(out: Path, caches: str, processors: str, count: int = 1) -> str:
    return f"""
input:
  generate:
    count: {count}
    interval: ""
    mapping: 'root = {{"id": counter()}}'
pipeline:
  threads: 1
  processors:
{processors}
output:
  file:
    path: {out}
cache_resources:
{caches}
"""


def lookups(keys: list[str]) -> str:
    """Processors that record, for each key, the stored value or the error."""
    steps = []
    for key in keys:
        steps.append(f"""
    - branch:
        processors:
          - cache: {{resource: c, operator: get, key: '{key}'}}
          - catch:
              - mapping: 'root = "<missing>"'
        result_map: 'root.{key} = content().string()'""")
    return "".join(steps)


def sets(pairs: list[tuple[str, str]]) -> str:
    return "".join(
        f"\n    - cache: {{resource: c, operator: set, key: '{k}', value: '{v}'}}" for k, v in pairs
    )


def test_lru_evicts_the_least_recently_used_key(tmp_path: Path) -> None:
    out = tmp_path / "o"
    caches = "  - label: c\n    lru: {cap: 2, init_values: {a: '1'}}"
    procs = sets([("b", "2")]) + lookups(["a"]) + sets([("c", "3")]) + lookups(["a", "b", "c"])
    assert run_config(config(out, caches, procs), out) == [{"id": 1, "a": "1", "b": "<missing>", "c": "3"}]


def test_lru_two_queues_keeps_frequently_used_keys_through_a_burst(tmp_path: Path) -> None:
    out = tmp_path / "o"
    caches = "  - label: c\n    lru: {cap: 4, algorithm: two_queues}"
    # "hot" is read twice (frequent); a burst of one-off keys then only evicts other one-off keys
    procs = (
        sets([("hot", "h")])
        + lookups(["hot"])
        + sets([(f"k{i}", str(i)) for i in range(6)])
        + lookups(["hot", "k0", "k5"])
    )
    [line] = run_config(config(out, caches, procs), out)
    assert line["hot"] == "h"
    assert line["k0"] == "<missing>"
    assert line["k5"] == "5"


def test_lru_add_refuses_a_present_key(tmp_path: Path) -> None:
    out = tmp_path / "o"
    caches = "  - label: c\n    lru: {}"
    procs = """
    - cache: {resource: c, operator: add, key: 'k', value: 'x'}
    - mapping: 'root = {"id": this.id, "err": error()}'
"""
    assert run_config(config(out, caches, procs, count=2), out) == [
        {"id": 1, "err": None},
        {"id": 2, "err": "key already exists: k"},
    ]


def test_lru_capacity_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid lru cache parameter capacity: must be bigger than 0"):
        run_config(
            config(tmp_path / "o", "  - label: c\n    lru: {cap: 0}", sets([("a", "b")])), tmp_path / "o"
        )


def test_ttlru_forgets_items_after_their_ttl(tmp_path: Path) -> None:
    out = tmp_path / "o"
    caches = "  - label: c\n    ttlru: {default_ttl: 50ms}"
    procs = (
        sets([("a", "1")])
        + lookups(["a"])
        + "\n    - sleep: {duration: 80ms}"
        + lookups(["a"]).replace("root.a", "root.later")
    )
    assert run_config(config(out, caches, procs), out) == [{"id": 1, "a": "1", "later": "<missing>"}]


def test_ttlru_needs_a_positive_ttl(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="default_ttl: must be bigger than 0s"):
        run_config(
            config(tmp_path / "o", "  - label: c\n    ttlru: {default_ttl: 0s}", sets([("a", "b")])),
            tmp_path / "o",
        )


def test_file_cache_keeps_each_key_as_a_file(tmp_path: Path) -> None:
    out = tmp_path / "o"
    store = tmp_path / "store"
    store.mkdir()
    (store / "preset").write_text("from disk")
    caches = f"  - label: c\n    file: {{directory: {store}}}"
    procs = sets([("written", "v1")]) + lookups(["preset", "absent"])
    assert run_config(config(out, caches, procs), out) == [
        {"id": 1, "preset": "from disk", "absent": "<missing>"}
    ]
    assert (store / "written").read_text() == "v1"


def test_file_cache_refuses_keys_outside_its_directory(tmp_path: Path) -> None:
    out = tmp_path / "o"
    store = tmp_path / "store"
    store.mkdir()
    caches = f"  - label: c\n    file: {{directory: {store}}}"
    procs = """
    - cache: {resource: c, operator: set, key: '../escape', value: 'x'}
    - mapping: 'root = error()'
"""
    [line] = run_config(config(out, caches, procs), out)
    assert "points outside the cache directory" in line
    assert not (tmp_path / "escape").exists()


def test_multilevel_fills_the_first_level_from_a_later_hit(tmp_path: Path) -> None:
    out = tmp_path / "o"
    caches = """  - label: c
    multilevel: [front, back]
  - label: front
    memory: {}
  - label: back
    memory: {init_values: {k: deep}}"""
    procs = (
        lookups(["k"])
        + """
    - branch:
        processors:
          - cache: {resource: front, operator: get, key: 'k'}
        result_map: 'root.front = content().string()'
"""
    )
    assert run_config(config(out, caches, procs), out) == [{"id": 1, "k": "deep", "front": "deep"}]


def test_multilevel_needs_two_levels(tmp_path: Path) -> None:
    caches = "  - label: c\n    multilevel: [only]\n  - label: only\n    memory: {}"
    with pytest.raises(ConfigError, match="expected at least two cache levels, found 1"):
        run_config(config(tmp_path / "o", caches, sets([("a", "b")])), tmp_path / "o")


def test_noop_cache_accepts_writes_and_never_finds_anything(tmp_path: Path) -> None:
    out = tmp_path / "o"
    caches = "  - label: c\n    noop: {}"
    procs = sets([("a", "1")]) + lookups(["a"])
    assert run_config(config(out, caches, procs), out) == [{"id": 1, "a": "<missing>"}]


def test_lru_arc_keeps_frequently_used_keys_through_a_burst(tmp_path: Path) -> None:
    out = tmp_path / "o"
    caches = "  - label: c\n    lru: {cap: 4, algorithm: arc}"
    procs = (
        sets([("hot", "h")])
        + lookups(["hot"])
        + sets([(f"k{i}", str(i)) for i in range(6)])
        + lookups(["hot", "k0", "k5"])
    )
    [line] = run_config(config(out, caches, procs), out)
    assert line["hot"] == "h"
    assert line["k0"] == "<missing>"
    assert line["k5"] == "5"
