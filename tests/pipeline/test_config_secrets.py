"""Secrets found by rule, not by a list of fields: what ``echo``, the debug endpoints and the
logger show of a config whose credentials sit in headers, URL user-info and query strings."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from tests.pipeline.conftest import cli_env, run_cli
from tests.ports import free_port

SECRETS = {
    "SINK_PASSWORD": "userinfo-pass-1111",
    "SINK_KEY": "query-key-2222",
    "SINK_TOKEN": "header-token-3333",
    "SINK_API_KEY": "header-apikey-4444",
    "PUSH_PASSWORD": "push-pass-5555",
    "STATIC_TOKEN": "static-token-6666",
}

CONFIG = """
http:
  address: 127.0.0.1:{port}
  debug_endpoints: true
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = "event"'
pipeline:
  processors:
    - log:
        level: TRACE
        message: 'calling http://probe:${{SINK_PASSWORD}}@127.0.0.1:9/?token=${{SINK_KEY}} with ${{SINK_TOKEN}}'
output:
  http_client:
    url: http://collector:${{SINK_PASSWORD}}@127.0.0.1:{sink_port}/ingest?api_key=${{SINK_KEY}}&source=runai
    headers:
      Authorization: Bearer ${{SINK_TOKEN}}
      X-Api-Key: ${{SINK_API_KEY}}
      Content-Type: application/json
metrics:
  prometheus:
    push_basic_auth:
      username: pusher
      password: ${{PUSH_PASSWORD}}
logger:
  level: TRACE
  static_fields:
    '@service': benthic
    x-auth-token: ${{STATIC_TOKEN}}
"""


def _write(tmp_path: Path, port: int = 9, sink_port: int = 9) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text(CONFIG.format(port=port, sink_port=sink_port))
    return path


def _assert_hidden(text: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, f"{name} leaked: {text[-2000:]}"


def test_echo_hides_header_values_url_credentials_and_every_secret_field(tmp_path: Path):
    result = run_cli("echo", str(_write(tmp_path)), env=cli_env(SECRETS))
    assert result.returncode == 0, result.stderr
    _assert_hidden(result.stdout + result.stderr)
    echoed = yaml.safe_load(result.stdout)
    output = echoed["output"]["http_client"]
    assert output["url"] == "http://collector:xxxxx@127.0.0.1:9/ingest?api_key=xxxxx&source=runai"
    assert output["headers"] == {
        "Authorization": "!!!SECRET_SCRUBBED!!!",
        "X-Api-Key": "!!!SECRET_SCRUBBED!!!",
        "Content-Type": "application/json",
    }
    assert echoed["metrics"]["prometheus"]["push_basic_auth"] == {
        "username": "pusher",
        "password": "!!!SECRET_SCRUBBED!!!",
    }
    assert echoed["logger"]["static_fields"]["x-auth-token"] == "!!!SECRET_SCRUBBED!!!"


def _wait_for(log_path: Path, text: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        log = log_path.read_text(errors="replace")
        if text in log:
            return log
        time.sleep(0.2)
    raise AssertionError(f"never logged {text!r}: {log_path.read_text(errors='replace')[-2000:]}")


def test_debug_endpoints_and_the_log_at_trace_level_show_no_secret(tmp_path: Path):
    port, sink_port = free_port(), free_port()  # nothing listens on the sink port: sends fail
    log_path = tmp_path / "benthic.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            # sends never succeed: a short shutdown_timeout ends it at terminate() without waiting
            # the default 20 s (what the forced exit logs is checked for secrets too)
            [
                *(sys.executable, "-m", "benthic.cli", "run", "--set", "shutdown_timeout=2s"),
                str(_write(tmp_path, port, sink_port)),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=cli_env(SECRETS),
        )
    try:
        _wait_for(log_path, "Listening for HTTP requests", process)
        for kind in ("json", "yaml"):
            body = httpx.get(f"http://127.0.0.1:{port}/debug/config/{kind}").text
            _assert_hidden(body)
            assert "xxxxx" in body and "!!!SECRET_SCRUBBED!!!" in body
        _wait_for(log_path, "calling http://probe", process)
        _wait_for(log_path, "level=error", process)  # a failed send, logged with its URL
    finally:
        process.terminate()
        process.wait(60)
    log = log_path.read_text(errors="replace")
    assert "calling http://probe:xxxxx@127.0.0.1:9/?token=xxxxx with !!!SECRET_SCRUBBED!!!" in log
    _assert_hidden(log)
