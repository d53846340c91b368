"""The CLI commands besides run: echo scrubs secrets, list and create describe components, and
the engine's error handling (strict mode, logger formats) as a user sees it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from tests.pipeline.conftest import cli_env, run_cli, start_cli

SECRET = "s3cr3t-app-secret-value"


def test_echo_prints_the_resolved_config_with_secrets_scrubbed(tmp_path: Path):
    config = tmp_path / "secret.yaml"
    config.write_text("""
input:
  run_ai:
    url: '${RUNAI_URL:http://127.0.0.1:9}'
    app_id: app
    app_secret: '${RUNAI_APP_SECRET}'
output:
  http_client:
    url: http://127.0.0.1:9/events
    basic_auth:
      enabled: true
      username: user
      password: hunter2-password
""")
    result = run_cli("echo", str(config), env=cli_env({"RUNAI_APP_SECRET": SECRET}))
    assert result.returncode == 0, result.stderr
    echoed = yaml.safe_load(result.stdout)
    assert echoed["input"]["run_ai"]["url"] == "http://127.0.0.1:9"
    assert echoed["input"]["run_ai"]["app_secret"] == "!!!SECRET_SCRUBBED!!!"
    assert echoed["output"]["http_client"]["basic_auth"]["password"] == "!!!SECRET_SCRUBBED!!!"
    assert SECRET not in result.stdout and "hunter2" not in result.stdout


def test_list_shows_components_as_text_json_and_jsonschema():
    text = run_cli("list", "inputs", "outputs")
    assert text.returncode == 0
    assert "  - generate" in text.stdout and "  - drop" in text.stdout
    listed = json.loads(run_cli("list", "processors", "--format", "json").stdout)
    assert {"mapping", "mutation", "noop"} <= set(listed["processors"])
    schema = json.loads(run_cli("list", "--format", "jsonschema").stdout)
    (generate,) = [
        alternative["properties"]["generate"]
        for alternative in schema["definitions"]["input"]["allOf"][0]["anyOf"]
        if "generate" in alternative.get("properties", {})
    ]
    assert generate["required"] == ["mapping"]
    assert generate["additionalProperties"] is False
    functions = json.loads(run_cli("list", "bloblang-functions", "--format", "json").stdout)
    assert "uuid_v4" in functions["bloblang-functions"]


def test_create_prints_a_config_with_every_default_that_lints(tmp_path: Path):
    result = run_cli("create", "generate/mapping/file")
    assert result.returncode == 0, result.stderr
    created = yaml.safe_load(result.stdout)
    assert created["input"]["generate"]["interval"] == "1s"
    assert created["output"]["file"]["codec"] == "lines"
    config = tmp_path / "created.yaml"
    created["input"]["generate"]["mapping"] = "root = 1"
    created["pipeline"]["processors"][0]["mapping"] = "root = this"
    created["output"]["file"]["path"] = str(tmp_path / "x.txt")
    config.write_text(yaml.safe_dump(created))
    assert run_cli("lint", str(config)).returncode == 0


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("Version: ")


def test_strict_error_handling_rejects_failed_messages_and_replays_them(tmp_path: Path):
    out = tmp_path / "out.jsonl"
    config = tmp_path / "strict.yaml"
    config.write_text(f"""
http: {{enabled: false}}
error_handling:
  strict: true
input:
  generate:
    count: 2
    interval: ""
    mapping: 'root = {{"n": counter()}}'
pipeline:
  processors:
    - mapping: |
        let attempt = counter()
        root = if this.n == 2 && $attempt < 3 {{ throw("not yet") }} else {{ this }}
output:
  file:
    path: {out}
""")
    result = run_cli("run", str(config), timeout=30)
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(line)["n"] for line in out.read_text().splitlines()) == [1, 2]
    assert "Rejecting message due to processing error: failed assignment (line 2): not yet" in result.stdout


def test_without_strict_a_failed_message_flows_on_unchanged_and_flagged(tmp_path: Path):
    out = tmp_path / "out.txt"
    config = tmp_path / "lenient.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = {{"n": 1}}'
pipeline:
  processors:
    - mapping: 'root = throw("bad")'
    - mapping: 'root = if errored() {{ "flagged: " + error() }} else {{ "clean" }}'
output:
  file:
    path: {out}
""")
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "flagged: failed assignment (line 1): bad\n"


def test_logger_json_format_and_static_fields(tmp_path: Path):
    config = tmp_path / "json.yaml"
    config.write_text("""
http: {enabled: false}
logger:
  format: json
  static_fields:
    service: collector
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = 1'
output:
  drop: {}
""")
    result = run_cli("run", str(config))
    assert result.returncode == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    active = next(r for r in records if r["msg"] == "Input type generate is now active")
    assert active["service"] == "collector"
    assert active["level"] == "info"
    assert active["path"] == "root.input" and active["label"] == ""
    assert "@service" not in active  # overriding static_fields replaces the default


def test_secrets_never_reach_the_logs(tmp_path: Path):
    config = tmp_path / "leaky.yaml"
    config.write_text("""
http: {enabled: false}
logger:
  level: DEBUG
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = env("RUNAI_APP_SECRET")'
pipeline:
  processors:
    - log:
        level: INFO
        message: 'payload ${! content() }'
output:
  drop: {}
input_resources:
  - label: unused
    run_ai:
      url: http://127.0.0.1:9
      app_id: app
      app_secret: '${RUNAI_APP_SECRET}'
""")
    result = run_cli("run", str(config), env=cli_env({"RUNAI_APP_SECRET": SECRET}))
    assert result.returncode == 0, result.stderr
    assert "payload" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_blobl_maps_each_stdin_line_and_reports_errors_with_their_position(tmp_path: Path):
    mapped = run_cli("blobl", "root.b = this.a + 1", input=b'{"a":1}\n{"a":41}\n')
    assert mapped.returncode == 0, mapped.stderr
    assert mapped.stdout.splitlines() == ['{"b":2}', '{"b":42}']
    pretty = run_cli("blobl", "--pretty", "root = this", input=b'{"a":{"x":1}}\n')
    assert pretty.stdout == '{\n    "a": {\n        "x": 1\n    }\n}\n'
    mapping = tmp_path / "bad.blobl"
    mapping.write_text("root.b = this.a +\n")
    broken = run_cli("blobl", "-f", str(mapping), input=b"")
    assert broken.returncode == 1
    assert "line 1 char 18" in broken.stderr
    failing = run_cli("blobl", 'root = throw("nope")', input=b"{}\n")
    assert "failed to execute map: failed assignment (line 1): nope" in failing.stderr


def test_resource_files_join_the_config_and_their_lints_name_their_own_file(tmp_path: Path):
    resources = tmp_path / "resources.yaml"
    resources.write_text(
        "processor_resources:\n  - label: upper\n    mapping: 'root = content().uppercase()'\n"
    )
    out = tmp_path / "out.txt"
    config = tmp_path / "main.yaml"
    config.write_text(f"""
http: {{enabled: false}}
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = "shout"'
pipeline:
  processors:
    - resource: upper
output:
  file:
    path: {out}
""")
    result = run_cli("run", "-r", str(resources), str(config))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "SHOUT\n"
    resources.write_text(
        "processor_resources:\n  - label: upper\n    mapping: 'root = content().uppercase()'\n    oops: 1\n"
    )
    refused = run_cli("run", "-r", str(resources), str(config))
    assert refused.returncode == 1
    assert (
        f"{resources}(4,5) field oops is invalid when the component type is mapping (processor)"
        in refused.stderr
    )


def test_lint_deprecated_and_verbose_and_list_by_status(tmp_path: Path):
    config = tmp_path / "old.yaml"
    config.write_text(
        'input:\n  stdin:\n    codec: lines\npipeline:\n  processors:\n    - bloblang: "root = this"\n'
    )
    assert run_cli("lint", str(config)).returncode == 0
    result = run_cli("lint", "--deprecated", "--verbose", str(config))
    assert result.returncode == 1
    assert f"{config}(3,5) field codec is deprecated" in result.stderr
    assert f"{config}(6,7) component bloblang is deprecated" in result.stderr
    assert result.stdout.strip() == f"{config}: 2 problem(s)"
    listed = json.loads(run_cli("list", "processors", "--status", "deprecated", "--format", "json").stdout)
    assert listed["processors"] == ["bloblang", "parquet"]


def test_the_watcher_restarts_the_stream_when_the_config_changes_and_rejects_a_broken_one(tmp_path: Path):
    out = tmp_path / "out.txt"
    config = tmp_path / "watched.yaml"
    template = """
http: {{enabled: false}}
input:
  generate:
    interval: 100ms
    mapping: 'root = "{word}"'
output:
  file:
    path: {out}
"""
    config.write_text(template.format(word="before", out=out))
    proc = start_cli("run", "-w", str(config))

    def wait_for(word: str) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if out.exists() and word in out.read_text():
                return
            time.sleep(0.1)
        raise AssertionError(f"{word!r} never written")

    try:
        wait_for("before")
        config.write_text(template.format(word="after", out=out).replace("interval:", "intervall:"))
        time.sleep(2.5)  # a broken update is rejected: the running stream goes on
        assert "after" not in out.read_text()
        config.write_text(template.format(word="after", out=out))
        wait_for("after")
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Rejecting the updated config due to linter errors" in stdout
    assert "field intervall not recognised" in stdout
    assert "Config updated, the stream was restarted with it" in stdout
