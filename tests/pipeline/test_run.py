"""Running configs with the real CLI: lint gate, end of input, retries with the same bytes,
graceful shutdown, the service endpoints and a plugin installed from a package."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import httpx

import benthic
import pipeline
from tests.pipeline.conftest import cli_env, run_cli, start_cli
from tests.ports import free_port

BROKEN = """\
input:
  generate:
    mapping: 'root = {"n": counter()}'
    count: 3
    interval: ""
    intervall: 1s
output:
  file:
    path: ${BENTHIC_TEST_UNSET_PATH}
    codec: [lines]
http:
  enabled: false
"""


def wait_until_serving(port: int) -> None:
    """Until the service answers /ping: start-up is over and the signal handlers are installed."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("the service never answered /ping")


def wait_for_metric(port: int, series: str, at_least: float) -> None:
    """Until the service's /metrics shows ``series`` (name and labels) at ``at_least`` or more: a
    condition to act on, instead of a sleep that a loaded machine can make too short."""
    pattern = re.compile(rf"^{re.escape(series)}(?:{{[^}}]*}})? (\S+)$", re.MULTILINE)
    deadline = time.monotonic() + 60
    seen = "nothing"
    while time.monotonic() < deadline:
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            values = [float(v) for v in pattern.findall(text)]
            seen = str(values)
            if values and max(values) >= at_least:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{series} never reached {at_least} (last seen: {seen})")


def test_lint_prints_one_file_line_col_per_problem_and_exits_1(tmp_path: Path):
    config = tmp_path / "broken.yaml"
    config.write_text(BROKEN)
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"{config}(1,1) required environment variables were not set: [BENTHIC_TEST_UNSET_PATH]",
        f"{config}(6,5) field intervall not recognised",
        f"{config}(10,5) expected string value, got !!seq",
    ]


def test_run_refuses_a_config_with_lint_errors_unless_chilled(tmp_path: Path):
    config = tmp_path / "broken.yaml"
    config.write_text(
        BROKEN.replace("    codec: [lines]\n", "").replace(
            "${BENTHIC_TEST_UNSET_PATH}", str(tmp_path / "out-${BENTHIC_TEST_UNSET_PATH}.txt")
        )
    )
    refused = run_cli("run", str(config))
    assert refused.returncode == 1
    assert "field intervall not recognised" in refused.stderr
    assert "--chilled" in refused.stderr
    assert not (tmp_path / "out-.txt").exists()
    chilled = run_cli("run", "--chilled", str(config))
    assert chilled.returncode == 0, chilled.stderr
    assert (tmp_path / "out-.txt").read_text().splitlines() == ['{"n":1}', '{"n":2}', '{"n":3}']


def test_generate_ten_thousand_through_a_mapping_to_a_file(tmp_path: Path):
    out = tmp_path / "out.jsonl"
    config = tmp_path / "gen.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 10000
    interval: ""
    mapping: 'root = {{"n": counter()}}'
pipeline:
  processors:
    - mapping: 'root = this.merge({{"double": this.n * 2}})'
output:
  file:
    path: {out}
""")
    result = run_cli("run", str(config), "--log.level", "warn")
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 10000
    assert json.loads(lines[0]) == {"n": 1, "double": 2}
    assert json.loads(lines[-1]) == {"n": 10000, "double": 20000}


def test_a_count_only_batch_left_partial_at_end_of_input_is_flushed_and_the_run_ends(tmp_path: Path):
    # 5 messages in batches of 2: the last batch never reaches its count, and the input waits for
    # its acknowledgement before it ends; the run used to wait for each other forever
    out = tmp_path / "out.jsonl"
    config = tmp_path / "partial.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 5
    interval: ""
    mapping: 'root = counter()'
output:
  broker:
    outputs:
      - file:
          path: {out}
    batching:
      count: 2
""")
    result = run_cli("run", str(config), "--log.level", "warn")
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == ["1", "2", "3", "4", "5"]


def test_an_outputs_own_processors_keep_the_order_messages_arrive_in(tmp_path: Path):
    # four pipeline workers hand messages to the output at once; the output's processors hold
    # every odd message back for a while, and the later even one must not overtake it
    out = tmp_path / "out.txt"
    config = tmp_path / "ordered.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 12
    interval: ""
    mapping: 'root = counter()'
pipeline:
  threads: 4
output:
  file:
    path: {out}
    codec: lines
  processors:
    - sleep:
        duration: '${{! if this % 2 == 1 {{ "30ms" }} else {{ "0s" }} }}'
    - mapping: 'root = this'
""")
    result = run_cli("run", str(config), "--log.level", "warn")
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == [str(n) for n in range(1, 13)]


def test_a_failed_write_is_retried_with_the_same_bytes(tmp_path: Path, plugin_dir: str):
    delivered, attempts = tmp_path / "delivered.txt", tmp_path / "attempts.txt"
    config = tmp_path / "retry.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 5
    interval: ""
    mapping: 'root = {{"id": uuid_v4(), "n": counter()}}'
output:
  flaky_file:
    path: {delivered}
    attempts_path: {attempts}
    failures: 3
""")
    result = run_cli("run", str(config), env=cli_env(pythonpath=[plugin_dir]))
    assert result.returncode == 0, result.stderr
    delivered_events = [json.loads(line) for line in delivered.read_text().splitlines()]
    attempted_events = [json.loads(line) for line in attempts.read_text().splitlines()]
    assert sorted(e["n"] for e in delivered_events) == [1, 2, 3, 4, 5]
    # every message was delivered once, and each attempt of it carried the same id
    by_n = {e["n"]: e for e in delivered_events}
    assert all(e == by_n[e["n"]] for e in attempted_events)
    assert len(attempted_events) == 5 + 3
    assert len({e["id"] for e in delivered_events}) == 5
    assert "Failed to send message to flaky_file: simulated failure" in result.stdout + result.stderr


def test_sigterm_stops_reading_and_exits_cleanly(tmp_path: Path):
    out = tmp_path / "out.jsonl"
    config = tmp_path / "steady.yaml"
    port = free_port()
    config.write_text(f"""
http: {{address: 127.0.0.1:{port}}}
input:
  generate:
    interval: 50ms
    mapping: 'root = {{"n": counter()}}'
output:
  file:
    path: {out}
""")
    proc = start_cli("run", str(config))
    try:
        wait_until_serving(port)  # a signal before start-up ends would kill it outright
        wait_for_metric(port, "output_sent", 5)  # it is reading and writing
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    numbers = [json.loads(line)["n"] for line in out.read_text().splitlines()]
    assert numbers and numbers == list(range(1, len(numbers) + 1))
    assert "Received SIGTERM, the service is closing" in stdout


def test_sigterm_flushes_messages_held_by_a_batch_period_through_a_slow_output(
    tmp_path: Path, plugin_dir: str
):
    out = tmp_path / "out.txt"
    config = tmp_path / "batched.yaml"
    port = free_port()
    config.write_text(f"""
http: {{address: 127.0.0.1:{port}}}
input:
  countdown:
    start: 1000
    interval: 100ms
output:
  flaky_file:
    path: {out}
    delay: 500ms
    batching:
      count: 1000
      period: 3s
""")
    proc = start_cli("run", str(config), env=cli_env(pythonpath=[plugin_dir]))
    try:
        wait_until_serving(port)
        wait_for_metric(port, "input_received", 5)  # held by the batcher: its period is 3 s
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    written = out.read_text().splitlines()
    # nothing was written before the signal (the period had not passed); at exit every
    # message the input handed over had been written by the slow output
    assert len(written) >= 5
    assert written == [str(n) for n in range(1000, 1000 - len(written), -1)]
    assert "message was not delivered" not in stdout + stderr


def test_service_endpoints_ready_and_metrics(tmp_path: Path):
    port = free_port()
    config = tmp_path / "svc.yaml"
    config.write_text(f"""
http:
  address: 127.0.0.1:{port}
input:
  generate:
    interval: 20ms
    mapping: 'root = {{"n": counter()}}'
pipeline:
  processors:
    - mapping: 'root = this'
output:
  drop: {{}}
  processors:
    - noop: {{}}
""")
    proc = start_cli("run", str(config))
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{base}/ready", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert ready is not None and ready.status_code == 200
        assert {s["path"] for s in ready.json()["statuses"]} == {"root.input", "root.output"}
        assert httpx.get(f"{base}/ping").text == "pong"
        assert httpx.get(f"{base}/benthos/ping").text == "pong"
        assert httpx.get(f"{base}/version").json()["version"]
        time.sleep(0.5)
        metrics = httpx.get(f"{base}/metrics").text
        for series in (
            'input_received{label="",path="root.input"}',
            'processor_received{label="",path="root.pipeline.processors.0"}',
            'processor_received{label="",path="root.output.processors.0"}',
            'output_sent{label="",path="root.output"}',
            'output_batch_sent{label="",path="root.output"}',
            'output_error{label="",path="root.output"}',
        ):
            assert series in metrics, series
        assert "# TYPE input_received counter" in metrics
        assert "# TYPE output_latency_ns summary" in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_a_plugin_package_adds_components(tmp_path: Path, plugin_dir: str):
    out = tmp_path / "countdown.txt"
    config = tmp_path / "plugin.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  countdown:
    start: 3
    prefix: "t-"
pipeline:
  processors:
    - shout: {{}}
output:
  file:
    path: {out}
""")
    result = run_cli("run", str(config), env=cli_env(pythonpath=[plugin_dir]))
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == ["T-3", "T-2", "T-1"]
    listed = run_cli("list", "inputs", "--format", "json", env=cli_env(pythonpath=[plugin_dir]))
    assert "countdown" in json.loads(listed.stdout)["inputs"]


def test_a_plugin_scanner_cuts_an_inputs_stream_and_is_linted_and_listed(tmp_path: Path, plugin_dir: str):
    env = cli_env(pythonpath=[plugin_dir])
    config = tmp_path / "words.yaml"
    config.write_text(
        "http: {enabled: false}\ninput:\n  stdin:\n    scanner:\n      words: {min_length: 3}\n"
        "output:\n  stdout: {}\n"
    )
    result = run_cli("run", str(config), env=env, input=b"a quick  brown\nfox is\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["quick", "brown", "fox"]
    config.write_text(config.read_text().replace("min_length", "min_len"))
    linted = run_cli("lint", str(config), env=env)
    assert f"{config}(5,15) field min_len not recognised" in linted.stderr
    listed = run_cli("list", "scanners", "--format", "json", env=env)
    assert "words" in json.loads(listed.stdout)["scanners"]


def test_plugins_importing_benthic_and_the_older_pipeline_name_both_load(tmp_path: Path, plugin_dir: str):
    # countdown imports the API from benthic, reverse (legacy.py) from pipeline
    out = tmp_path / "both.txt"
    config = tmp_path / "both.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  countdown:
    start: 2
    prefix: "ab"
pipeline:
  processors:
    - reverse: {{}}
output:
  file:
    path: {out}
""")
    result = run_cli("run", str(config), env=cli_env(pythonpath=[plugin_dir]))
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == ["2ba", "1ba"]


def test_benthic_re_exports_every_name_of_the_pipeline_plugin_api():
    assert sorted(benthic.__all__) == sorted(pipeline.__all__)
    for name in pipeline.__all__:
        assert getattr(benthic, name) is getattr(pipeline, name), name


def test_a_failing_output_holds_back_new_data_until_it_recovers(tmp_path: Path, plugin_dir: str):
    delivered, attempts = tmp_path / "delivered.txt", tmp_path / "attempts.txt"
    config = tmp_path / "backpressure.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 300
    interval: ""
    mapping: 'root = counter().string()'
output:
  flaky_file:
    path: {delivered}
    attempts_path: {attempts}
    failures: 6
""")
    result = run_cli("run", str(config), env=cli_env(pythonpath=[plugin_dir]))
    assert result.returncode == 0, result.stderr
    attempted = attempts.read_text().splitlines()
    # while writes failed (the first six attempts), the input was held back: only the messages
    # already handed over were tried, not the whole stream
    assert len(set(attempted[:6])) <= 3
    assert sorted(int(n) for n in delivered.read_text().splitlines()) == list(range(1, 301))
