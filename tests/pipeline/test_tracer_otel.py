"""The ``open_telemetry_collector`` tracer as a user meets it: lint, and a real pipeline (the CLI as
a subprocess) exporting its spans to an OTLP/HTTP receiver on 127.0.0.1 that decodes them with
the protobuf classes of ``opentelemetry-proto``."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from pipeline import tracing
from pipeline.builder import Manager
from pipeline.logs import Logger, LogSink
from tests.e2e.conftest import Process, benthic_argv
from tests.pipeline.conftest import cli_env, run_cli
from tests.servers import NatsServer


class Receiver:
    """An OTLP/HTTP trace receiver: every span it was sent, with its resource attributes."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.resources: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.record(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def record(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            self.resources.append(attrs)
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "attributes": {a.key: a.value.string_value for a in span.attributes},
                            "events": [e.name for e in span.events],
                        }
                    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_a_pipeline_exports_input_processor_and_output_spans_to_the_collector(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write(
        tmp_path,
        f"""
input:
  generate:
    count: 2
    interval: ""
    mapping: 'root = {{"n": counter()}}'
pipeline:
  processors:
    - mapping: 'root = this'
    - mapping: 'root = if this.n == 2 {{ throw("bad two") }} else {{ this }}'
output:
  drop: {{}}
tracer:
  open_telemetry_collector:
    service: metering
    tags: {{team: platform}}
    http:
      - address: {receiver.address}
""",
    )
    result = run_cli("run", config)
    assert result.returncode == 0, result.stderr
    spans = receiver.spans
    inputs = [s for s in spans if s["name"] == "input_generate"]
    assert len(inputs) == 2
    for root in inputs:
        assert root["parent"] == ""
        children = [s for s in spans if s["parent"] == root["span_id"]]
        # both processors and the output are children of the input span (siblings of each other)
        assert sorted(s["name"] for s in children) == ["mapping", "mapping", "output_drop"]
        assert all(s["trace_id"] == root["trace_id"] for s in children)
    assert inputs[0]["trace_id"] != inputs[1]["trace_id"]
    errored = [s for s in spans if s["attributes"].get("error") == "true"]
    assert len(errored) == 1 and errored[0]["name"] == "mapping" and errored[0]["events"] == ["error"]
    assert {"service.name": "metering", "team": "platform"}.items() <= receiver.resources[0].items()


def test_lint_accepts_upstreams_fields_and_rejects_unknown_ones(tmp_path: Path) -> None:
    good = write(
        tmp_path,
        """
tracer:
  open_telemetry_collector:
    service: x
    http: [{address: "localhost:4318", secure: false}]
    grpc: [{url: "localhost:4317"}]
    sampling: {enabled: true, ratio: 0.5}
""",
    )
    assert run_cli("lint", good).returncode == 0
    bad = write(tmp_path, "tracer:\n  open_telemetry_collector:\n    http: [{adress: x}]\n")
    result = run_cli("lint", bad)
    assert result.returncode == 1
    assert "field adress not recognised" in result.stdout + result.stderr


def test_lint_names_the_pip_command_when_the_sdk_is_missing(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['opentelemetry.sdk'] = None\n")
    config = write(tmp_path, "tracer:\n  open_telemetry_collector:\n    http: []\n")
    result = run_cli("lint", config, env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert "pip install 'benthic[otel]'" in result.stdout + result.stderr


def test_other_tracers_stay_refused_with_a_reason(tmp_path: Path) -> None:
    config = write(tmp_path, "tracer:\n  jaeger:\n    agent_address: localhost:6831\n")
    result = run_cli("lint", config)
    assert result.returncode == 1
    assert "tracer: jaeger is not supported by benthic" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def nats_server() -> Iterator[Any]:
    with NatsServer() as server:
        yield server


def test_a_trace_continues_across_a_jetstream_hop_through_the_tracing_maps(
    tmp_path: Path, receiver: Receiver, nats_server: Any
) -> None:
    tracer = f"tracer:\n  open_telemetry_collector:\n    http: [{{address: {receiver.address}}}]\n"
    consumer = tmp_path / "consumer.yaml"
    consumer.write_text(
        f"""
http: {{enabled: false}}
input:
  nats_jetstream:
    urls: ["{nats_server.url}"]
    subject: "traced.>"
    stream: TRACED
    create_stream: true
    durable: reader
    extract_tracing_map: 'root = @'
output:
  stdout: {{}}
  processors:
    - mapping: 'root = {{"traceparent": @traceparent, "span": tracing_span(), "id": tracing_id()}}'
{tracer}"""
    )
    producer = tmp_path / "producer.yaml"
    producer.write_text(
        f"""
http: {{enabled: false}}
input:
  generate: {{count: 1, interval: "", mapping: 'root = "hello"'}}
output:
  nats_jetstream:
    urls: ["{nats_server.url}"]
    subject: traced.one
    inject_tracing_map: 'meta = @.merge(this)'
    metadata: {{include_patterns: ["^trace"]}}
{tracer}"""
    )
    proc = Process(benthic_argv("run", str(consumer)))
    try:
        proc.wait_for_output("Input type nats_jetstream is now active", 45)
        result = run_cli("run", str(producer))
        assert result.returncode == 0, result.stderr
        proc.wait_for_output('"traceparent"', 45)
        proc.stop()
        out = proc.output
    finally:
        proc.cleanup()
    line = next(json.loads(x) for x in out.splitlines() if x.startswith('{"id"'))
    _, trace_id, parent_span, _ = line["traceparent"].split("-")
    spans = {s["name"]: s for s in receiver.spans}
    # inside a processor, tracing_span() and tracing_id() show that processor's span, a child of
    # the consumer's input span
    assert line["id"] == trace_id
    _, span_trace, span_id, _ = line["span"]["traceparent"].split("-")
    mapping = next(s for s in receiver.spans if s["span_id"] == span_id)
    assert span_trace == trace_id
    assert mapping["name"] == "mapping" and mapping["parent"] == spans["input_nats_jetstream"]["span_id"]
    sent, received = spans["input_generate"], spans["input_nats_jetstream"]
    # the consumer's input span continues the producer's trace, under the span that was sent
    assert sent["trace_id"] == received["trace_id"] == trace_id
    assert received["parent"] == parent_span == sent["span_id"]
    assert spans["output_nats_jetstream"]["parent"] == sent["span_id"]
    assert spans["output_stdout"]["parent"] == received["span_id"]


def test_lint_rejects_a_tracing_map_that_does_not_compile(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "output:\n  nats:\n    urls: [nats://127.0.0.1:4222]\n    subject: a\n"
        "    inject_tracing_map: 'meta = @.merge(this'\n",
    )
    result = run_cli("lint", config)
    assert result.returncode == 1
    assert "config.yaml(5,5) failed to parse mapping" in result.stdout + result.stderr


def test_without_a_tracer_the_engine_runs_the_components_themselves() -> None:
    # the zero-cost promise: no wrapper sits between the engine and a component
    manager = Manager(logger=Logger(LogSink(stream=io.StringIO())))
    stream = manager.build_stream(
        {
            "input": {"generate": {"count": 1, "interval": "", "mapping": "root = 1"}},
            "pipeline": {"processors": [{"mapping": "root = this"}]},
            "output": {"drop": {}},
        }
    )
    assert not tracing.enabled()
    assert not isinstance(stream.input.input, tracing.TracedInput)
    assert not isinstance(stream.processors[0].processor, tracing.TracedProcessor)
    assert not isinstance(stream.output.output, tracing.TracedOutput)


def test_spans_reach_a_grpc_collector(tmp_path: Path) -> None:
    received: list[str] = []

    class Collector(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: ExportTraceServiceRequest, context: Any) -> ExportTraceServiceResponse:  # noqa: N802 (the gRPC service's method)
            for resource_spans in request.resource_spans:
                for scope in resource_spans.scope_spans:
                    received.extend(span.name for span in scope.spans)
            return ExportTraceServiceResponse()

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Collector(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        config = write(
            tmp_path,
            f"""
input:
  generate: {{count: 1, interval: "", mapping: 'root = "x"'}}
output:
  drop: {{}}
tracer:
  open_telemetry_collector:
    grpc: [{{address: "127.0.0.1:{port}"}}]
""",
        )
        result = run_cli("run", config)
        assert result.returncode == 0, result.stderr
    finally:
        server.stop(None)
    assert sorted(received) == ["input_generate", "output_drop"]
