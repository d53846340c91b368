"""The ``ristretto`` cache used as a user would: from the ``cache`` and ``cached`` processors of a
running stream, through ``benthic test`` and ``benthic lint``. Its bound (18.8M items) is too
large to reach from a pipeline, so eviction is shown on the cache itself with a small bound."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pipeline.caches.ristretto import CAPACITY, RistrettoCache
from tests.pipeline.conftest import run_cli
from tests.processors.flow_helpers import run_config


def config(out: Path, cache: str, processors: str, count: int = 1, threads: int = 1) -> str:
    return f"""
input:
  generate:
    count: {count}
    interval: ""
    mapping: 'root = {{"id": counter()}}'
pipeline:
  threads: {threads}
  processors:
{processors}
output:
  file:
    path: {out}
cache_resources:
  - label: c
    ristretto: {cache}
"""


def lookup(key: str, into: str | None = None) -> str:
    """A step recording under ``into`` the value stored for ``key``, or the error of the get."""
    return f"""
    - branch:
        processors:
          - cache: {{resource: c, operator: get, key: '{key}'}}
          - catch:
              - mapping: 'root = "error: " + error()'
        result_map: 'root.{into or key} = content().string()'"""


def cache_step(operator: str, key: str, value: str = "", ttl: str = "") -> str:
    fields = f"resource: c, operator: {operator}, key: '{key}'"
    if value:
        fields += f", value: '{value}'"
    if ttl:
        fields += f", ttl: '{ttl}'"
    return f"\n    - cache: {{{fields}}}"


def test_set_get_and_delete(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = (
        cache_step("set", "a", "1")
        + lookup("a")
        + cache_step("delete", "a")
        + lookup("a", "after_delete")
        + cache_step("delete", "never-set")
    )
    assert run_config(config(out, "{}", procs), out) == [
        {"id": 1, "a": "1", "after_delete": "error: operator failed for key 'a': key does not exist"}
    ]


def test_add_overwrites_a_present_key_like_set(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = (
        cache_step("add", "k", "${! this.id }")
        + "\n    - mapping: 'root = this.merge({\"add_error\": error()})'"
        + lookup("k")
    )
    assert run_config(config(out, "{}", procs, count=2), out) == [
        {"id": 1, "add_error": None, "k": "1"},
        {"id": 2, "add_error": None, "k": "2"},
    ]


def test_an_item_ttl_outlives_or_undercuts_the_default(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = (
        cache_step("set", "default", "d")
        + cache_step("set", "short", "s", ttl="50ms")
        + cache_step("set", "long", "l", ttl="1h")
        + cache_step("set", "forever", "f", ttl="0s")
        + "\n    - sleep: {duration: 100ms}"
        + lookup("default")
        + lookup("short")
        + lookup("long")
        + lookup("forever")
    )
    missing = "error: operator failed for key '{}': key does not exist"
    # with a default TTL of 50ms, the default item and the 50ms item are gone after 100ms
    assert run_config(config(out, "{default_ttl: 50ms}", procs), out) == [
        {
            "id": 1,
            "default": missing.format("default"),
            "short": missing.format("short"),
            "long": "l",
            "forever": "f",
        }
    ]
    # with no default TTL, only the item given 50ms of its own expires
    out.unlink()
    assert run_config(config(out, "{}", procs), out) == [
        {"id": 1, "default": "d", "short": missing.format("short"), "long": "l", "forever": "f"}
    ]


def test_an_expired_key_can_be_written_again(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = (
        cache_step("set", "k", "old", ttl="20ms")
        + "\n    - sleep: {duration: 50ms}"
        + cache_step("set", "k", "new", ttl="1h")
        + "\n    - sleep: {duration: 50ms}"
        + lookup("k")
    )
    assert run_config(config(out, "{}", procs), out) == [{"id": 1, "k": "new"}]


def test_a_negative_ttl_drops_the_write_with_upstreams_error(tmp_path: Path) -> None:
    out = tmp_path / "o"
    procs = (
        cache_step("set", "k", "v", ttl="-1s")
        + "\n    - mapping: 'root = this.merge({\"set_error\": error()})'"
        + lookup("k")
    )
    assert run_config(config(out, "{}", procs), out) == [
        {
            "id": 1,
            "set_error": "operator failed for key 'k': set operation was dropped",
            "k": "error: operator failed for key 'k': key does not exist",
        }
    ]


def retry_race(out: Path, cache: str) -> list[Any]:
    """Two messages at once: the first reads `k` straight away, the second writes it later."""
    procs = (
        """
    - switch:
        - check: this.id == 1
          processors:"""
        + lookup("k").replace("\n    ", "\n            ")
        + """
        - processors:
            - sleep: {duration: 200ms}
            - cache: {resource: c, operator: set, key: 'k', value: 'written later'}"""
    )
    lines = run_config(config(out, cache, procs, count=2, threads=2), out)
    return sorted(lines, key=lambda line: line["id"])


def test_get_retries_wait_for_a_key_another_message_writes(tmp_path: Path) -> None:
    out = tmp_path / "o"
    retrying = (
        "{get_retries: {enabled: true, initial_interval: 10ms, max_interval: 20ms, max_elapsed_time: 1m}}"
    )
    assert retry_race(out, retrying) == [{"id": 1, "k": "written later"}, {"id": 2}]


def test_without_get_retries_a_miss_is_final(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert retry_race(out, "{}") == [
        {"id": 1, "k": "error: operator failed for key 'k': key does not exist"},
        {"id": 2},
    ]


def test_get_retries_give_up_after_max_elapsed_time(tmp_path: Path) -> None:
    out = tmp_path / "o"
    retrying = (
        "{get_retries: {enabled: true, initial_interval: 5ms, max_interval: 10ms, max_elapsed_time: 50ms}}"
    )
    procs = (
        lookup("absent")
        + """
    - branch:
        processors:
          - cache: {resource: c, operator: exists, key: 'absent'}
        result_map: 'root.exists = this'"""
    )
    assert run_config(config(out, retrying, procs), out) == [
        {"id": 1, "absent": "error: operator failed for key 'absent': key does not exist", "exists": False}
    ]


def test_cached_processor_reuses_a_result_until_its_ttl_passes(tmp_path: Path) -> None:
    out = tmp_path / "o"
    # messages 1 and 2 share a key kept for an hour; 3 stores a key for 30ms, which 4 reads too late
    procs = """
    - switch:
        - check: this.id == 4
          processors:
            - sleep: {duration: 60ms}
    - cached:
        cache: c
        key: '${! if this.id <= 2 { "long" } else { "short" } }'
        ttl: '${! if this.id <= 2 { "1h" } else { "30ms" } }'
        processors:
          - mapping: 'root = {"computed_for": this.id}'"""
    assert run_config(config(out, "{}", procs, count=4), out) == [
        {"computed_for": 1},
        {"computed_for": 1},
        {"computed_for": 3},
        {"computed_for": 4},
    ]


def test_benthic_test_runs_a_config_using_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "ristretto.yaml"
    path.write_text(
        """\
input:
  stdin: {}
pipeline:
  processors:
    - cache: {resource: seen, operator: add, key: '${! content() }', value: 'yes'}
    - cache: {resource: seen, operator: get, key: '${! content() }'}
output:
  stdout: {}
cache_resources:
  - label: seen
    ristretto: {default_ttl: 5m}
tests:
  - name: every message is stored and read back
    input_batch:
      - content: a
      - content: a
    output_batches:
      - - content_equals: 'yes'
          bloblang: '!errored()'
        - content_equals: 'yes'
          bloblang: '!errored()'
"""
    )
    result = run_cli("test", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"Test '{path}' succeeded\n"


def test_lint_names_a_misspelt_retry_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        """\
input:
  generate: {count: 1, interval: "", mapping: 'root = 1'}
output:
  drop: {}
cache_resources:
  - label: c
    ristretto:
      default_ttl: 5m
      get_retries:
        enabld: true
"""
    )
    result = run_cli("lint", str(path))
    assert result.returncode == 1
    assert f"{path}(10,9)" in result.stdout + result.stderr
    assert "enabld" in result.stdout + result.stderr


def test_a_full_cache_evicts_the_least_read_item() -> None:
    async def scenario() -> list[bytes | None]:
        cache = RistrettoCache(default_ttl=0.0, capacity=3)  # the sample (5) covers every item
        for key in ("a", "b", "c"):
            await cache.set(key, key.encode())
        await cache.get("a")
        await cache.get("a")
        await cache.get("c")
        await cache.set("a", b"A")  # rewriting a present key evicts nothing
        await cache.set("d", b"d")  # b was never read: it goes
        return [await cache.get(key) for key in ("a", "b", "c", "d")]

    for _ in range(20):  # candidates are sampled in a random order: the choice must not depend on it
        assert asyncio.run(scenario()) == [b"A", None, b"c", b"d"]
    assert CAPACITY == 18_837_575  # upstream's MaxCost of 1 GiB over 1 + 56 per item


def test_rewriting_one_key_with_a_ttl_keeps_memory_bounded() -> None:
    async def scenario() -> int:
        cache = RistrettoCache(default_ttl=3600.0)
        for n in range(20_000):
            await cache.set("hot", str(n).encode())
        assert await cache.get("hot") == b"19999"
        return len(cache._expiries)

    assert asyncio.run(scenario()) <= 2 * 1 + 1024 + 1
