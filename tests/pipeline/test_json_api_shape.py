"""The ``json_api`` exporter's object as upstream's local registry serves it: whole-number
counters and gauges, timers as p50/p90/p99, labelled keys with Go-quoted values."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx

from pipeline.metrics import Metrics, go_quote_ascii
from tests.pipeline.conftest import start_cli
from tests.pipeline.test_service import wait_answering
from tests.ports import free_port


def test_json_api_serves_whole_numbers_timer_percentiles_and_labelled_keys(tmp_path: Path):
    port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(
        f"http:\n  address: 127.0.0.1:{port}\n"
        "input:\n  label: gen\n  generate:\n    interval: 10ms\n    mapping: 'root = \"x\"'\n"
        "pipeline:\n  processors:\n"
        "    - metric:\n        type: gauge\n        name: level\n        value: '2.75'\n"
        "        labels:\n          site: 'a<b'\n"
        "output:\n  drop: {}\nmetrics:\n  json_api: {}\n"
    )
    proc = start_cli("run", str(config))
    try:
        wait_answering(f"http://127.0.0.1:{port}/ping")
        deadline = time.monotonic() + 30
        while True:
            response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            body = response.json()
            if (
                body.get('input_received{label="gen",path="root.input"}', 0) > 0
                or time.monotonic() > deadline
            ):
                break
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    received = body['input_received{label="gen",path="root.input"}']
    assert isinstance(received, int) and received > 0
    # a gauge holds a whole number, as upstream's int64 store does
    gauge_key = 'level{label="",path="root.pipeline.processors.0",site="a<b"}'
    assert body[gauge_key] == 2
    # Go's encoder escapes < in the key
    assert b'site=\\"a\\u003cb\\"' in response.content
    latency = body['output_latency_ns{label="",path="root.output"}']
    assert set(latency) == {"p50", "p90", "p99"}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in latency.values())
    assert list(body) == sorted(body)


def test_timer_percentiles_interpolate_between_observations_as_go_metrics():
    metrics = Metrics()
    timer = metrics.timer("t")
    assert metrics.json_snapshot()["t"] == {"p50": 0, "p90": 0, "p99": 0}
    for ns in range(10, 0, -1):
        timer.timing(ns)
    assert metrics.json_snapshot()["t"] == {"p50": 5.5, "p90": 9.9, "p99": 10.0}


def test_label_values_are_quoted_as_go_quote_to_ascii():
    assert go_quote_ascii('a"b\\c\n\x01\x7fé😀') == '"a\\"b\\\\c\\n\\x01\\x7f\\u00e9\\U0001f600"'
    metrics = Metrics()
    metrics.counter("c", where="ü").incr(1.9)
    assert json.loads(metrics.json_body()) == {'c{where="\\u00fc"}': 1}


def test_flushing_resets_the_series_the_components_hold():
    metrics = Metrics()
    counter, gauge, timer = metrics.counter("c"), metrics.gauge("g"), metrics.timer("t")
    counter.incr(3)
    gauge.set(7)
    timer.timing(5)
    metrics.reset_flushed()
    counter.incr(1)
    assert metrics.json_snapshot() == {"c": 1, "g": 0, "t": {"p50": 0, "p90": 0, "p99": 0}}
