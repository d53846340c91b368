"""A bad day for the engine, reproduced with the real CLI: values that can never be serialised,
CPU-heavy mappings, shutdown with undelivered data."""

from __future__ import annotations

import asyncio
import io
import json
import re
import signal
import time
from pathlib import Path

import httpx

from pipeline.builder import Manager
from pipeline.errors import UnwritableError
from pipeline.logs import Logger, LogSink
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec
from tests.pipeline.conftest import cli_env, run_cli, start_cli
from tests.pipeline.test_run import wait_for_metric, wait_until_serving
from tests.ports import free_port


def test_a_nan_from_a_mapping_is_a_processing_error_and_does_not_wedge_the_http_input(tmp_path: Path):
    port = free_port()
    out = tmp_path / "out.jsonl"
    config = tmp_path / "nan.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  http_server:
    address: 127.0.0.1:{port}
    path: /post
pipeline:
  processors:
    - mapping: 'root.v = if this.bad {{ "NaN".number() }} else {{ this.n }}'
    - catch:
        - mapping: 'root = {{"caught": error()}}'
output:
  file:
    path: {out}
""")
    proc = start_cli("run", str(config))
    try:
        end = time.monotonic() + 20
        while True:
            try:
                first = httpx.post(f"http://127.0.0.1:{port}/post", json={"bad": True}, timeout=5)
                break
            except httpx.HTTPError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
        after = [httpx.post(f"http://127.0.0.1:{port}/post", json={"n": n}, timeout=5) for n in range(3)]
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert first.status_code == 200
    assert [r.status_code for r in after] == [200, 200, 200]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert "unsupported value: NaN" in lines[0]["caught"]
    assert lines[1:] == [{"v": 0}, {"v": 1}, {"v": 2}]


def test_an_infinite_value_is_routed_by_errored_and_the_rest_are_delivered(tmp_path: Path):
    out = tmp_path / "out.jsonl"
    dead = tmp_path / "dead.jsonl"
    config = tmp_path / "inf.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 4
    interval: ""
    mapping: 'root.n = counter()'
pipeline:
  processors:
    - mapping: 'root.v = if this.n == 2 {{ "+Inf".number() }} else {{ this.n }}'
output:
  switch:
    cases:
      - check: errored()
        output:
          file:
            path: {dead}
      - output:
          file:
            path: {out}
""")
    result = run_cli("run", str(config), timeout=30)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in out.read_text().splitlines()] == [{"v": 1}, {"v": 3}, {"v": 4}]
    assert dead.read_text() == "\n"  # upstream's empty bytes for a value JSON cannot carry


def test_a_mapping_computing_for_a_minute_neither_stops_ping_nor_ignores_sigterm(tmp_path: Path):
    port = free_port()
    out = tmp_path / "out.jsonl"
    config = tmp_path / "slow.yaml"
    config.write_text(f"""
http:
  address: 127.0.0.1:{port}
shutdown_timeout: 2s
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = {{}}'
pipeline:
  processors:
    - mapping: 'root = range(0, 100000).map_each(i -> range(0, 2000).sum()).sum()'
output:
  file:
    path: {out}
""")
    proc = start_cli("run", str(config))
    try:
        wait_until_serving(port)
        time.sleep(0.5)  # the mapping has started by now
        pings = [httpx.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code for _ in range(3)]
        assert not out.exists() or out.read_text() == ""  # still computing
        proc.send_signal(signal.SIGTERM)
        # the mapping alone would take far longer than this bound
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert pings == [200, 200, 200]
    assert proc.returncode == 1
    assert "Shutdown timed out with 1 messages not delivered" in stdout + stderr


def test_sigterm_with_a_failing_sink_says_how_many_were_lost_and_exits_non_zero(tmp_path: Path):
    dead_port = free_port()  # nothing listens here: every write fails
    config = tmp_path / "lost.yaml"
    port = free_port()
    config.write_text(f"""
http: {{address: 127.0.0.1:{port}}}
shutdown_timeout: 1s
input:
  generate:
    interval: 10ms
    mapping: 'root = {{"n": counter()}}'
output:
  http_client:
    url: http://127.0.0.1:{dead_port}/events
    retries: 0
""")
    proc = start_cli("run", str(config))
    try:
        wait_until_serving(port)
        wait_for_metric(port, "output_error", 1)  # writes are failing and being retried
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    match = re.search(r"Shutdown timed out with (\d+) messages not delivered", stdout + stderr)
    assert match and int(match.group(1)) >= 1


def test_a_batch_metric_counts_each_delivered_event_once_however_often_writes_fail(
    tmp_path: Path, plugin_dir: str
):
    delivered, attempts, metrics = tmp_path / "delivered.txt", tmp_path / "attempts.txt", tmp_path / "m.txt"
    config = tmp_path / "metric.yaml"
    config.write_text(f"""
http: {{enabled: false}}
metrics:
  prometheus:
    file_output_path: {metrics}
input:
  generate:
    count: 300
    interval: ""
    batch_size: 10
    mapping: 'root = counter().string()'
pipeline:
  processors:
    - mapping: 'root = content().string() + " " + uuid_v4()'
output:
  flaky_file:
    path: {delivered}
    attempts_path: {attempts}
    failures: 8
    batching:
      count: 50
      processors:
        - metric:
            type: counter
            name: events_sent
        - mapping: 'root = content().string() + " " + uuid_v4()'
""")
    result = run_cli("run", str(config), env=cli_env(pythonpath=[plugin_dir]))
    assert result.returncode == 0, result.stderr
    assert len(attempts.read_text().splitlines()) > 300  # writes did fail and were retried
    lines = delivered.read_text().splitlines()
    assert sorted(int(line.split()[0]) for line in lines) == list(range(1, 301))
    counted = re.search(r"^events_sent\{[^}]*\} (\d+)", metrics.read_text(), re.MULTILINE)
    assert counted and int(counted.group(1)) == 300
    # the batch mapping ran once per event too: every retry sent the first attempt's ids
    attempted_ids = {tuple(line.split()[:3]) for line in attempts.read_text().splitlines()}
    assert len(attempted_ids) == 300


class _PickyOutput:
    """A plugin output that can never write a message containing ``bad``."""

    written: list[bytes] = []
    attempts: list[bytes] = []

    def __init__(self, conf: dict[str, object], res: object) -> None:
        pass

    async def connect(self) -> None:
        return None

    async def write_batch(self, batch: list[Message]) -> None:
        for msg in batch:
            _PickyOutput.attempts.append(msg.content)
            if b"bad" in msg.content:
                raise UnwritableError("header value contains a line break")
        _PickyOutput.written.extend(m.content for m in batch)

    async def close(self) -> None:
        return None


register_output(ComponentSpec("picky_test_output", "output", []), _PickyOutput)


def test_a_message_an_output_can_never_write_is_not_retried_and_does_not_block_the_rest():
    config = {
        "input": {
            "generate": {
                "count": 4,
                "interval": "",
                "auto_replay_nacks": False,
                "mapping": 'root = if counter() == 2 { "bad" } else { "good" }',
            }
        },
        "output": {"picky_test_output": {}},
    }

    async def run() -> None:
        stream = Manager(logger=Logger(LogSink(level="ERROR", stream=io.StringIO()))).build_stream(config)
        await asyncio.wait_for(stream.run(), 30)
        await stream.close()

    asyncio.run(run())
    assert _PickyOutput.written == [b"good", b"good", b"good"]
    assert _PickyOutput.attempts.count(b"bad") == 1
