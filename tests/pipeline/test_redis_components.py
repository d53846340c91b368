"""The Redis components (``redis_streams``, ``redis_list``, the ``redis`` cache and rate limit) as a
user meets them: lint, a real redis-server with a password, bad URLs, refused connections, wrong
passwords, consumer groups whose consumers die."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline import spec as s
from pipeline.caches.redis import SPEC as CACHE_SPEC
from pipeline.caches.redis import RedisCache
from pipeline.ratelimits.redis import SPEC as LIMIT_SPEC
from pipeline.ratelimits.redis import RedisRateLimit
from tests.component_runs import started, until, write
from tests.pipeline.conftest import run_cli
from tests.ports import free_port
from tests.servers import RedisServer

PASSWORD = "redis-test-pw"


@pytest.fixture(scope="module")
def redis_server() -> Any:
    with RedisServer(password=PASSWORD) as server:
        yield server


def redis_client(url: str) -> Any:
    import redis  # optional dependency: the benthic[redis] extra (installed with the test extra)

    return redis.Redis.from_url(url)


def test_lint_rejects_a_url_that_is_not_redis_and_names_it_without_the_password(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "output:\n  redis_list:\n    url: http://:pw-in-url@127.0.0.1:6379\n    key: k\n",
    )
    result = run_cli("lint", config)
    text = result.stdout + result.stderr
    assert result.returncode == 1
    assert "scheme must be redis, rediss or tcp" in text
    assert "pw-in-url" not in text


def test_lint_names_the_pip_command_when_redis_is_missing(tmp_path: Path) -> None:
    from tests.pipeline.conftest import cli_env

    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['redis'] = None\n")
    config = write(tmp_path, "output:\n  redis_streams:\n    url: redis://127.0.0.1:6379\n    stream: s\n")
    result = run_cli("lint", config, env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert "pip install 'benthic[redis]'" in result.stdout + result.stderr


def test_a_refused_connection_and_a_wrong_password_are_clear_errors(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    port = free_port()
    for url, expected in (
        (f"redis://:hunter2@127.0.0.1:{port}", f"dial tcp 127.0.0.1:{port}: connect: connection refused"),
        (f"redis://:hunter2@127.0.0.1:{redis_server.port}", "invalid username-password pair"),
    ):
        config = write(
            tmp_path,
            f"""
http: {{enabled: false}}
shutdown_timeout: 1s  # the message can never be delivered: no need to wait 20 s for it at the end
input:
  generate: {{count: 1, interval: "", mapping: 'root = "x"'}}
output:
  redis_streams:
    url: "{url}"
    stream: s
""",
        )
        logs = until(started(config), "Failed to connect to redis_streams")
        assert "Failed to connect to redis_streams" in logs and expected in logs, logs
        assert "redis://:xxxxx@127.0.0.1" in logs
        assert "hunter2" not in logs


def test_streams_round_trip_keeps_metadata_and_acknowledges_every_entry(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    producer = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  generate:
    count: 5
    interval: ""
    mapping: |
      root = {{"n": counter()}}
      meta tenant = "acme"
      meta internal_x = "hidden"
output:
  redis_streams:
    url: "{redis_server.url}"
    stream: roundtrip
    metadata:
      exclude_prefixes: [internal_]
""",
        "producer.yaml",
    )
    consumer = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  redis_streams:
    url: "{redis_server.url}"
    streams: [roundtrip]
    consumer_group: readers
    client_id: reader-1
    commit_period: 100ms
output:
  stdout: {{}}
  processors:
    - mapping: 'root = {{"body": this, "meta": @}}'
""",
        "consumer.yaml",
    )
    assert run_cli("run", producer).returncode == 0
    out = logs = until(started(consumer), r"(?s)(\{\"body\".*){5}")
    time.sleep(0.5)  # acknowledgements go out every commit_period (100ms)
    lines = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert sorted(line["body"]["n"] for line in lines) == [1, 2, 3, 4, 5], logs
    assert lines[0]["meta"]["tenant"] == "acme" and "internal_x" not in lines[0]["meta"]
    assert "-" in lines[0]["meta"]["redis_stream"]
    assert redis_client(redis_server.url).xpending("roundtrip", "readers")["pending"] == 0


def test_a_live_consumer_claims_the_entries_a_dead_one_left_pending(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_client(redis_server.url)
    client.xgroup_create("claims", "workers", id="0", mkstream=True)
    for n in range(4):
        client.xadd("claims", {"body": f"entry-{n}"})
    # a consumer that read the entries and died before acknowledging them
    client.xreadgroup("workers", "dead-consumer", {"claims": ">"}, count=10)
    assert client.xpending("claims", "workers")["pending"] == 4
    config = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  redis_streams:
    url: "{redis_server.url}"
    streams: [claims]
    consumer_group: workers
    client_id: live-consumer
    commit_period: 100ms
    claim_min_idle: 1s
output:
  stdout: {{}}
""",
    )
    proc = started(config)
    try:
        proc.wait_for_output("(?s)(\nentry-.*){4}", 45)
        # delivered entries are acknowledged on the next commit_period tick: the group's pending
        # list drains while the consumer runs (polled, so that a loaded machine is not a failure)
        deadline = time.monotonic() + 30
        while client.xpending("claims", "workers")["pending"] and time.monotonic() < deadline:
            time.sleep(0.1)
        pending = client.xpending("claims", "workers")["pending"]
        proc.stop()
        out = logs = proc.output
    finally:
        proc.cleanup()
    assert sorted(line for line in out.splitlines() if line.startswith("entry-")) == [
        f"entry-{n}" for n in range(4)
    ], logs
    assert "Claimed entry" in logs
    assert pending == 0


def test_a_consumer_restarted_under_its_client_id_delivers_its_own_pending_entries(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_client(redis_server.url)
    client.xgroup_create("restart", "workers", id="0", mkstream=True)
    for n in range(3):
        client.xadd("restart", {"body": f"mine-{n}"})
    client.xreadgroup("workers", "worker-a", {"restart": ">"}, count=10)  # taken, never acked
    config = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  redis_streams:
    url: "{redis_server.url}"
    streams: [restart]
    consumer_group: workers
    client_id: worker-a
    commit_period: 100ms
output:
  stdout: {{}}
""",
    )
    out = logs = until(started(config), "(?s)(\nmine-.*){3}")
    assert sorted(line for line in out.splitlines() if line.startswith("mine-")) == [
        "mine-0",
        "mine-1",
        "mine-2",
    ], logs
    assert client.xpending("restart", "workers")["pending"] == 0


def test_list_output_and_input_move_every_message(tmp_path: Path, redis_server: RedisServer) -> None:
    producer = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  generate: {{count: 4, interval: "", mapping: 'root = "item-%d".format(counter())'}}
output:
  redis_list:
    url: "{redis_server.url}"
    key: 'queue-${{! "a" }}'
""",
        "producer.yaml",
    )
    consumer = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  redis_list:
    url: "{redis_server.url}"
    key: queue-a
    timeout: 200ms
output:
  stdout: {{}}
""",
        "consumer.yaml",
    )
    assert run_cli("run", producer).returncode == 0
    assert redis_client(redis_server.url).llen("queue-a") == 4
    out = logs = until(started(consumer), "(?s)(\nitem-.*){4}")
    # popped in list order; written by up to max_in_flight concurrent deliveries
    assert sorted(line for line in out.splitlines() if line.startswith("item-")) == [
        f"item-{n}" for n in range(1, 5)
    ], logs
    assert redis_client(redis_server.url).llen("queue-a") == 0


def test_redis_cache_prefixes_keys_and_add_refuses_a_present_key(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        conf = s.resolve(CACHE_SPEC, {"url": redis_server.url, "prefix": "svc:", "default_ttl": "60s"})
        cache = RedisCache(conf, None)
        try:
            assert await cache.get("k") is None
            assert await cache.add("k", b"v1") is True
            assert await cache.add("k", b"v2") is False
            assert await cache.get("k") == b"v1"
            await cache.set("k", b"v3", ttl=0.3)
            assert await cache.get("k") == b"v3"
            await asyncio.sleep(0.5)
            assert await cache.get("k") is None
            await cache.set("d", b"x")
            await cache.delete("d")
            assert await cache.get("d") is None
        finally:
            await cache.close()
        assert 0 < redis_client(redis_server.url).pttl("svc:d") or not redis_client(redis_server.url).exists(
            "svc:d"
        )

    asyncio.run(scenario())


def test_redis_rate_limit_is_shared_by_every_instance_using_the_key(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        conf = s.resolve(
            LIMIT_SPEC, {"url": redis_server.url, "count": 3, "interval": "2s", "key": "limit-a"}
        )
        first, second = RedisRateLimit(conf, None), RedisRateLimit(conf, None)
        try:
            waits = [await first.access(), await second.access(), await first.access(), await second.access()]
            assert waits[:3] == [0, 0, 0]
            assert 0 < waits[3] <= 2.0
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())


def test_a_cache_with_a_wrong_password_fails_with_the_url_masked(redis_server: RedisServer) -> None:
    async def scenario() -> str:
        url = f"redis://:wrong-one@127.0.0.1:{redis_server.port}"
        conf = s.resolve(CACHE_SPEC, {"url": url, "retries": {"max_elapsed_time": "600ms"}})
        cache = RedisCache(conf, None)
        try:
            await cache.get("k")
        except RuntimeError as err:
            return str(err)
        finally:
            await cache.close()
        return "no error"

    message = asyncio.run(scenario())
    assert "invalid username-password pair" in message and "wrong-one" not in message
    assert f"redis://:xxxxx@127.0.0.1:{redis_server.port}" in message


def test_a_list_push_redis_refuses_fails_only_its_message(tmp_path: Path, redis_server: RedisServer) -> None:
    client = redis_client(redis_server.url)
    client.set("taken", "a string, not a list")  # a push onto it is refused with WRONGTYPE
    dead = tmp_path / "dead"
    config = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  generate: {{count: 3, batch_size: 3, interval: "", mapping: 'root = {{"id": counter()}}'}}
output:
  fallback:
    - redis_list:
        url: "{redis_server.url}"
        key: '${{! if this.id == 2 {{ "taken" }} else {{ "queue-b" }} }}'
    - file:
        path: {dead}
      processors:
        - mapping: 'root = this.merge({{"why": @fallback_error}})'
""",
        "partial.yaml",
    )
    result = run_cli("run", config)
    assert result.returncode == 0, result.stderr
    assert [orjson.loads(v) for v in client.lrange("queue-b", 0, -1)] == [{"id": 1}, {"id": 3}]
    [line] = dead.read_text().splitlines()
    assert orjson.loads(line)["id"] == 2
    assert orjson.loads(line)["why"].startswith("WRONGTYPE")
