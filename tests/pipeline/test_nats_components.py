"""The NATS components (``nats``, ``nats_jetstream``, ``nats_kv``) as a user meets them: lint,
echo, a real nats-server, bad URLs, refused connections and wrong credentials."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline import spec as s
from pipeline.caches.nats_kv import SPEC as KV_SPEC
from pipeline.caches.nats_kv import NATSKVCache
from pipeline.logs import Logger, LogSink
from tests.component_runs import started, until, write
from tests.pipeline.conftest import cli_env, run_cli
from tests.ports import free_port
from tests.servers import NatsServer


@pytest.fixture(scope="module")
def nats_server() -> Any:
    with NatsServer() as server:
        yield server


def test_lint_names_the_pip_command_when_nats_py_is_missing(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    # what an installation without the extra looks like: the package cannot be imported
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['nats'] = None\n")
    config = write(tmp_path, "input:\n  nats_jetstream:\n    urls: [nats://127.0.0.1:4222]\n    subject: a\n")
    result = run_cli("lint", config, env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert "pip install 'benthic[nats]'" in result.stdout + result.stderr
    assert "config.yaml(2," in result.stdout + result.stderr
    assert run_cli("lint", config).returncode == 0


def test_lint_refuses_two_auth_methods_and_a_queue_with_a_durable(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
input:
  nats_jetstream:
    urls: [nats://127.0.0.1:4222]
    subject: a
    queue: q
    durable: d
    auth:
      token: abc
      user: u
      password: p
""",
    )
    result = run_cli("lint", config)
    text = result.stdout + result.stderr
    assert result.returncode == 1
    assert "multiple auth methods configured (token, user+password); only one is permitted" in text
    assert "both 'queue' and 'durable' can't be set simultaneously" in text


def test_echo_masks_the_token_and_the_password_in_a_url(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "output:\n  nats_jetstream:\n    urls: [nats://alice:hunter2@127.0.0.1:4222]\n    subject: a\n"
        "    auth:\n      token: tok-123\n",
    )
    result = run_cli("echo", config)
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout and "tok-123" not in result.stdout
    assert "nats://alice:xxxxx@127.0.0.1:4222" in result.stdout
    assert s.SECRET_MASK in result.stdout


def test_jetstream_round_trip_carries_headers_metadata_and_dedupes_by_msg_id(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    producer = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  generate:
    count: 6
    interval: ""
    mapping: |
      root = {{"n": counter() % 3}}
      meta tenant = "acme"
      meta ignored = "x"
output:
  nats_jetstream:
    urls: ["{nats_server.url}"]
    subject: 'rt.${{! this.n }}'
    headers:
      Nats-Msg-Id: 'id-${{! this.n }}'
    metadata:
      include_prefixes: [ten]
""",
        "producer.yaml",
    )
    consumer = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  nats_jetstream:
    urls: ["{nats_server.url}"]
    subject: "rt.>"
    stream: RT
    create_stream: true
    durable: reader
output:
  stdout: {{}}
  processors:
    - mapping: 'root = {{"body": this, "meta": @}}'
""",
        "consumer.yaml",
    )
    proc = started(consumer)
    proc.wait_for_output("Input type nats_jetstream is now active")
    result = run_cli("run", producer)
    assert result.returncode == 0, result.stderr
    proc.wait_for_output(r"(?s)(\{\"body\".*){3}")
    time.sleep(1.5)  # a fourth message (a duplicate JetStream failed to drop) would arrive by now
    out = err = until(proc, r"(?s)(\{\"body\".*){3}")
    lines = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    # six messages, three distinct Nats-Msg-Ids: JetStream stored three
    assert sorted(line["body"]["n"] for line in lines) == [0, 1, 2], err
    meta = lines[0]["meta"]
    assert meta["tenant"] == "acme" and "ignored" not in meta
    assert meta["Nats-Msg-Id"].startswith("id-")
    assert meta["nats_subject"].startswith("rt.")
    assert meta["nats_consumer"] == "reader" and meta["nats_num_delivered"] == "1"
    assert {"nats_sequence_stream", "nats_sequence_consumer", "nats_timestamp_unix_nano"} <= set(meta)


def test_jetstream_input_names_a_missing_stream(tmp_path: Path, nats_server: NatsServer) -> None:
    config = write(
        tmp_path,
        f"http: {{enabled: false}}\ninput:\n  nats_jetstream:\n    urls: ['{nats_server.url}']\n"
        "    stream: NOPE\n    subject: nope.x\noutput:\n  drop: {}\n",
    )
    err = until(started(config), "does not exist")
    assert "stream NOPE does not exist and create_stream is false" in err


def test_a_refused_connection_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    port = free_port()
    config = write(
        tmp_path,
        f"""
http: {{enabled: false}}
shutdown_timeout: 1s  # the message can never be delivered: no need to wait 20 s for it at the end
input:
  generate: {{count: 1, interval: "", mapping: 'root = "x"'}}
output:
  nats_jetstream:
    urls: ["nats://alice:hunter2@127.0.0.1:{port}"]
    subject: a
""",
    )
    err = until(started(config), "Failed to connect to nats_jetstream")
    assert f"connecting to NATS at nats://alice:xxxxx@127.0.0.1:{port}" in err
    assert "Failed to connect to nats_jetstream" in err
    assert "hunter2" not in err


def test_wrong_credentials_fail_with_an_authorization_error_and_right_ones_connect(tmp_path: Path) -> None:
    with NatsServer("--user", "svc", "--pass", "right-pw") as server:

        def config(password: str) -> str:
            return write(
                tmp_path,
                f"""
http: {{enabled: false}}
input:
  nats:
    urls: ["{server.url}"]
    subject: auth.test
    auth: {{user: svc, password: {password}}}
output:
  drop: {{}}
""",
                f"auth-{len(password)}.yaml",
            )

        # the server answers -ERR and closes; a loaded machine may see the reset before the
        # answer, so the attempt that read the answer is waited for (connecting is retried)
        err = until(started(config("wrong-password")), "(?i)Failed to connect to nats: .*authorization")
        assert "wrong-password" not in err
        err = until(started(config("right-pw")), "Input type nats is now active")
        assert "Failed to connect" not in err


def test_token_authentication_publishes_over_core_nats(tmp_path: Path) -> None:
    with NatsServer("--auth", "tok-secret") as server:
        consumer = write(
            tmp_path,
            f"""
http: {{enabled: false}}
input:
  nats:
    urls: ["{server.url}"]
    subject: core.>
    queue: workers
    auth: {{token: tok-secret}}
output:
  stdout: {{}}
  processors:
    - mapping: 'root = content().string() + " " + @nats_subject + " " + @greeting'
""",
            "consumer.yaml",
        )
        producer = write(
            tmp_path,
            f"""
http: {{enabled: false}}
input:
  generate: {{count: 3, interval: "", mapping: 'root = "hello"'}}
  processors:
    - mapping: 'meta greeting = "hi"'
output:
  nats:
    urls: ["{server.url}"]
    subject: core.greetings
    metadata: {{include_prefixes: [gree]}}
    auth: {{token: tok-secret}}
""",
            "producer.yaml",
        )
        proc = started(consumer)
        proc.wait_for_output("Input type nats is now active")
        assert run_cli("run", producer).returncode == 0
        out = err = until(proc, "(?s)(hello core.greetings hi.*){3}")
        assert out.splitlines().count("hello core.greetings hi") == 3, err


def test_nats_kv_cache_gets_sets_adds_and_deletes(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        import nats  # optional dependency: the benthic[nats] extra (installed with the test extra)

        client = await nats.connect(nats_server.url)
        await client.jetstream().create_key_value(bucket="cache_test")
        await client.close()

        conf = s.resolve(KV_SPEC, {"urls": [nats_server.url], "bucket": "cache_test"})

        class Res:
            label, path, logger = "kv", "root.cache_resources.0", Logger(LogSink(level="WARN"))

        cache = NATSKVCache(conf, Res())
        try:
            assert await cache.get("k") is None
            await cache.set("k", b"v1")
            assert await cache.get("k") == b"v1"
            assert await cache.add("k", b"v2") is False
            assert await cache.add("other", b"v3") is True
            await cache.delete("k")
            assert await cache.get("k") is None
            assert await cache.add("k", b"again") is True
            assert await cache.get("k") == b"again"
        finally:
            await cache.close()

    asyncio.run(scenario())


def test_bind_attaches_to_an_existing_pull_consumer_and_acks_what_it_delivered(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    async def prepare() -> None:
        import nats  # optional dependency: the benthic[nats] extra (installed with the test extra)
        from nats.js.api import ConsumerConfig

        client = await nats.connect(nats_server.url)
        js = client.jetstream()
        await js.add_stream(name="BIND", subjects=["bind.x"])
        for n in range(3):
            await js.publish("bind.x", f"pulled-{n}".encode())
        await js.add_consumer("BIND", ConsumerConfig(durable_name="puller"))
        await client.close()

    async def consumer_state() -> tuple[int, int]:
        import nats  # optional dependency: the benthic[nats] extra (installed with the test extra)

        client = await nats.connect(nats_server.url)
        info = await client.jetstream().consumer_info("BIND", "puller")
        await client.close()
        return info.num_pending, info.num_ack_pending

    asyncio.run(prepare())
    config = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  nats_jetstream:
    urls: ["{nats_server.url}"]
    stream: BIND
    durable: puller
    bind: true
output:
  stdout: {{}}
""",
    )
    out = logs = until(started(config), "(?s)(pulled-.*){3}")
    assert sorted(line for line in out.splitlines() if line.startswith("pulled-")) == [
        "pulled-0",
        "pulled-1",
        "pulled-2",
    ], logs
    assert asyncio.run(consumer_state()) == (0, 0)


def test_a_jetstream_publish_that_fails_fails_only_its_message(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    import nats  # optional dependency: the benthic[nats] extra (installed with the test extra)

    async def stream_messages(create: bool) -> int:
        client = await nats.connect(nats_server.url)
        try:
            js = client.jetstream()
            if create:
                await js.add_stream(name="PARTIAL", subjects=["partial.ok"])
            return int((await js.stream_info("PARTIAL")).state.messages)
        finally:
            await client.close()

    asyncio.run(stream_messages(create=True))
    dead = tmp_path / "dead"
    config = write(
        tmp_path,
        f"""
http: {{enabled: false}}
input:
  generate: {{count: 3, batch_size: 3, interval: "", mapping: 'root = {{"id": counter()}}'}}
output:
  fallback:
    - nats_jetstream:
        urls: ["{nats_server.url}"]
        subject: 'partial.${{! if this.id == 2 {{ "nowhere" }} else {{ "ok" }} }}'
    - file:
        path: {dead}
""",
        "partial.yaml",
    )
    result = run_cli("run", config)
    assert result.returncode == 0, result.stderr
    # no stream listens on partial.nowhere: only that message went to the dead letter file
    assert [orjson.loads(line) for line in dead.read_text().splitlines()] == [{"id": 2}]
    assert asyncio.run(stream_messages(create=False)) == 2
