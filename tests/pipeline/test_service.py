"""The service-wide blocks as a user configures them: basic auth and CORS on the HTTP server,
debug endpoints, histogram timings, metrics pushed and written to a file, log file rotation."""

from __future__ import annotations

import base64
import hashlib
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from pipeline.service import RotatingFile
from tests.pipeline.conftest import start_cli
from tests.ports import free_port


def wait_answering(url: str, **kw: Any) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, timeout=2, **kw)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out, err


def test_basic_auth_cors_and_debug_endpoints_on_the_service_server(tmp_path: Path):
    port = free_port()
    password_hash = base64.b64encode(hashlib.sha256(b"s3cret").digest()).decode()
    config = tmp_path / "svc.yaml"
    config.write_text(f"""
http:
  address: 127.0.0.1:{port}
  debug_endpoints: true
  cors:
    enabled: true
    allowed_origins: [https://ui.example]
  basic_auth:
    enabled: true
    username: admin
    password_hash: {password_hash}
input:
  generate:
    interval: 1s
    mapping: 'root = 1'
output:
  drop: {{}}
""")
    proc = start_cli("run", str(config))
    try:
        base = f"http://127.0.0.1:{port}"
        refused = wait_answering(f"{base}/ping")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == 'Basic realm="restricted", charset="UTF-8"'
        assert httpx.get(f"{base}/ping", auth=("admin", "wrong")).status_code == 401
        allowed = httpx.get(
            f"{base}/ping", auth=("admin", "s3cret"), headers={"Origin": "https://ui.example"}
        )
        assert allowed.text == "pong"
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://ui.example"
        other = httpx.get(
            f"{base}/ping", auth=("admin", "s3cret"), headers={"Origin": "https://evil.example"}
        )
        assert "Access-Control-Allow-Origin" not in other.headers
        echoed = httpx.get(f"{base}/debug/config/json", auth=("admin", "s3cret")).json()
        assert echoed["http"]["basic_auth"]["password_hash"] == "!!!SECRET_SCRUBBED!!!"
        assert "generate" in echoed["input"]
    finally:
        stop(proc)


class _Pushgateway:
    """A local stand-in for a Prometheus Pushgateway: records what is PUT to it."""

    def __init__(self) -> None:
        import asyncio

        from pipeline.http.server import HTTPServer, Request, Response

        self.pushes: list[tuple[str, bytes, str | None]] = []
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        async def record(request: Request) -> Response:
            self.pushes.append((request.path, request.body, request.header("authorization")))
            return Response(200)

        async def serve() -> None:
            self.server = HTTPServer("127.0.0.1", 0)
            self.server.route_prefix("/metrics/job/", record)
            await self.server.start()
            self.ready.set()
            await asyncio.Event().wait()

        threading.Thread(target=lambda: self.loop.run_until_complete(serve()), daemon=True).start()
        self.ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


def test_metrics_are_pushed_written_to_a_file_and_timed_as_histograms(tmp_path: Path):
    gateway = _Pushgateway()
    port = free_port()
    metrics_file = tmp_path / "metrics.txt"
    config = tmp_path / "metrics.yaml"
    config.write_text(f"""
http:
  address: 127.0.0.1:{port}
input:
  generate:
    interval: 100ms
    mapping: 'root = 1'
output:
  drop: {{}}
metrics:
  prometheus:
    use_histogram_timing: true
    histogram_buckets: [0.001, 1]
    push_url: {gateway.url}
    push_interval: 300ms
    push_job_name: collector
    push_basic_auth:
      username: pusher
      password: pw
    file_output_path: {metrics_file}
""")
    proc = start_cli("run", str(config))
    try:
        wait_answering(f"http://127.0.0.1:{port}/ping")
        time.sleep(1.0)
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        stop(proc)
    assert "# TYPE output_latency_ns histogram" in scraped
    assert 'output_latency_ns_bucket{label="",path="root.output",le="0.001"}' in scraped
    assert 'output_latency_ns_bucket{label="",path="root.output",le="+Inf"}' in scraped
    assert gateway.pushes, "nothing was pushed"
    path, body, authorization = gateway.pushes[-1]
    assert path == "/metrics/job/collector"
    assert b"input_received" in body
    assert authorization == "Basic " + base64.b64encode(b"pusher:pw").decode()
    assert "input_received{" in metrics_file.read_text()


def test_a_rotating_log_file_keeps_one_compressed_backup(tmp_path: Path):
    import gzip

    log = tmp_path / "benthic.log"
    rotating = RotatingFile(str(log), 0)
    rotating.MAX_BYTES = 1000
    for i in range(30):
        rotating.write(f"line {i:03d} " + "x" * 50 + "\n")
    rotating.flush()
    backup = Path(str(log) + ".1.gz")
    assert backup.exists()
    assert gzip.decompress(backup.read_bytes()).decode().startswith("line ")
    assert log.stat().st_size < 1000


def test_unsupported_tracers_and_go_metrics_fail_lint(tmp_path: Path):
    from tests.pipeline.conftest import run_cli

    config = tmp_path / "x.yaml"
    config.write_text("tracer:\n  jaeger: {}\nmetrics:\n  prometheus:\n    add_go_metrics: true\n")
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    assert (
        f"{config}(1,1) tracer: jaeger is not supported by benthic, only none and open_telemetry_collector are"
        in result.stderr
    )
    assert "add_go_metrics: benthic is not a Go program" in result.stderr
