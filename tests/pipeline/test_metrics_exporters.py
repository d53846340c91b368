"""The json_api, logger and none metrics exporters, and the tracers benthic refuses, through the CLI."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx

from tests.pipeline.conftest import run_cli, start_cli
from tests.pipeline.test_service import wait_answering
from tests.ports import free_port


def test_json_api_serves_the_metrics_as_json_on_metrics_and_stats(tmp_path: Path):
    port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(
        f"http:\n  address: 127.0.0.1:{port}\n"
        "input:\n  generate:\n    interval: 20ms\n    mapping: 'root = \"x\"'\n"
        "output:\n  drop: {}\nmetrics:\n  json_api: {}\n"
    )
    proc = start_cli("run", str(config))
    try:
        wait_answering(f"http://127.0.0.1:{port}/ping")
        for path in ("/metrics", "/stats", "/benthos/metrics"):
            response = httpx.get(f"http://127.0.0.1:{port}{path}")
            assert response.headers["content-type"].startswith("application/json")
            body = response.json()
            received = [v for k, v in body.items() if k.startswith("input_received")]
            assert received and isinstance(received[0], (int, float))
            assert any(k.startswith("output_latency_ns") and "p99" in v for k, v in body.items())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_logger_exporter_logs_the_metrics_when_the_stream_ends(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        "input:\n  generate:\n    count: 4\n    interval: ''\n    mapping: 'root = \"x\"'\n"
        "output:\n  drop: {}\nmetrics:\n  logger:\n    push_interval: 1h\n"
        "logger:\n  format: json\n"
    )
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(x) for x in (result.stdout + result.stderr).splitlines() if x.startswith("{")]
    # a line per series, as upstream: its name, value and labels as fields
    received = [x for x in lines if x.get("msg") == "Counter metric" and x.get("name") == "input_received"]
    assert [(x["value"], x["label"], x["path"]) for x in received] == [(4, "", "root.input")]
    timings = [x for x in lines if x.get("msg") == "Timing metric" and x.get("name") == "output_latency_ns"]
    assert timings and {"p50", "p90", "p99"} <= set(timings[-1])


def test_none_exporter_serves_no_metrics_endpoint(tmp_path: Path):
    port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(
        f"http:\n  address: 127.0.0.1:{port}\n"
        "input:\n  generate:\n    interval: 20ms\n    mapping: 'root = \"x\"'\n"
        "output:\n  drop: {}\nmetrics:\n  none: {}\n"
    )
    proc = start_cli("run", str(config))
    try:
        wait_answering(f"http://127.0.0.1:{port}/ping")
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_exporters_and_tracers_benthic_lacks_are_refused_with_the_reason(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("tracer:\n  jaeger: {}\nmetrics:\n  statsd: {}\n")
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    assert (
        "tracer: jaeger is not supported by benthic, only none and open_telemetry_collector are"
        in result.stderr
    )
    assert "metrics.statsd: this exporter is not supported by benthic" in result.stderr
    assert "field statsd not recognised" not in result.stderr


def test_json_api_logger_and_none_tracer_lint_clean(tmp_path: Path):
    for metrics in ("json_api: {}", "logger:\n    push_interval: 5s\n    flush_metrics: true", "none: {}"):
        config = tmp_path / "c.yaml"
        config.write_text(f"metrics:\n  {metrics}\ntracer:\n  none: {{}}\n")
        result = run_cli("lint", str(config))
        assert (result.returncode, result.stderr) == (0, ""), metrics


def test_prometheus_fields_benthic_cannot_honour_are_refused_at_their_position(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "metrics:\n  mapping: 'root = '\n  prometheus:\n    push_job_name: job\n"
        "    summary_quantiles_objectives: [{quantile: 0.75, error: 0.01}]\n"
    )
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    assert f"{config}(5,5) summary_quantiles_objectives: benthic's summaries always report" in result.stderr
    assert f"{config}(2,3) failed to parse mapping" in result.stderr
    # upstream's default objectives are what benthic reports: writing them out is fine
    config.write_text(
        "metrics:\n  prometheus:\n    summary_quantiles_objectives:\n"
        "      - {quantile: 0.5, error: 0.05}\n      - {quantile: 0.9, error: 0.01}\n"
        "      - {quantile: 0.99, error: 0.001}\n"
    )
    result = run_cli("lint", str(config))
    assert (result.returncode, result.stderr) == (0, "")
