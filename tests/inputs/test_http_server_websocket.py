"""The ``http_server`` input's websocket endpoint (``ws_path``), run through the real CLI and
spoken to by the ``websockets`` client library on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.component_runs import lint
from tests.pipeline.conftest import cli_env, run_cli, start_cli
from tests.ports import free_port


def start(
    tmp_path: Path, port: int, extra: str = "", output: str = "  stdout: {}\n"
) -> subprocess.Popen[str]:
    config = tmp_path / "config.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        'input:\n  read_until:\n    check: content() == "end"\n    input:\n'
        f"      http_server:\n        address: 127.0.0.1:{port}\n{extra}"
        "pipeline:\n  processors:\n"
        "    - mapping: |\n        root.content = content().string()\n        root.meta = @\n"
        f"output:\n{output}"
    )
    return start_cli("run", str(config))


def ws_connect(url: str, **kw: object) -> ClientConnection:
    deadline = time.monotonic() + 30
    while True:
        try:
            return connect(url, open_timeout=10, **kw)  # type: ignore[arg-type]
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def finish(proc: subprocess.Popen[str]) -> list[dict[str, object]]:
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    return [json.loads(line) for line in stdout.splitlines()]


def test_each_websocket_message_is_a_message_with_the_handshake_as_metadata(tmp_path: Path):
    port = free_port()
    proc = start(tmp_path, port, "        ws_welcome_message: welcome aboard\n")
    with ws_connect(
        f"ws://127.0.0.1:{port}/post/ws?source=test",
        additional_headers={"X-Team": "blue", "Cookie": "session=abc"},
        user_agent_header="ws-test/1",
    ) as ws:
        assert ws.recv(timeout=30) == b"welcome aboard"  # sent as a binary message
        ws.send("first")
        ws.send(b"second")
        ws.send("end")
    messages = finish(proc)
    assert [m["content"] for m in messages] == ["first", "second", "end"]
    meta = messages[0]["meta"]
    assert isinstance(meta, dict)
    assert meta["http_server_user_agent"] == "ws-test/1"
    assert meta["X-Team"] == "blue" and meta["source"] == "test" and meta["session"] == "abc"
    assert "http_server_verb" not in meta  # only POSTed messages carry these


def test_sync_responses_go_back_to_the_client_as_text_messages(tmp_path: Path):
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        'input:\n  read_until:\n    check: content() == "end"\n    input:\n'
        f"      http_server:\n        address: 127.0.0.1:{port}\n"
        "pipeline:\n  processors:\n    - mapping: root = content().uppercase()\n    - sync_response: {}\n"
        "output:\n  drop: {}\n"
    )
    proc = start_cli("run", str(config))
    with ws_connect(f"ws://127.0.0.1:{port}/post/ws") as ws:
        ws.send("hello")
        assert ws.recv(timeout=30) == "HELLO"
        ws.send("end")
        assert ws.recv(timeout=30) == "END"
    proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_a_nacked_websocket_message_is_delivered_again(tmp_path: Path):
    port = free_port()
    output = (
        "  switch:\n    cases:\n"
        '      - check: content() == "flaky" && count("attempts") <= 2\n'
        "        output:\n          reject: refused for now\n"
        "      - output:\n          stdout: {}\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        'input:\n  read_until:\n    check: content() == "end"\n    input:\n'
        f"      http_server:\n        address: 127.0.0.1:{port}\n"
        f"output:\n{output}"
    )
    proc = start_cli("run", str(config))
    with ws_connect(f"ws://127.0.0.1:{port}/post/ws") as ws:
        ws.send("flaky")
        ws.send("end")
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    lines = stdout.splitlines()
    assert [line for line in lines if not line.startswith("time=")] == ["flaky", "end"]
    assert any("refused for now" in line for line in lines)  # the first attempts were nacked


def test_custom_ws_path_and_handshake_errors(tmp_path: Path):
    port = free_port()
    proc = start(tmp_path, port, "        ws_path: /live\n")
    try:
        base = f"http://127.0.0.1:{port}/live"
        deadline = time.monotonic() + 30
        while True:
            try:
                plain = httpx.get(base, timeout=10)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert plain.status_code == 400  # not a websocket handshake
        assert httpx.post(base, timeout=10).status_code == 405
        with ws_connect(f"ws://127.0.0.1:{port}/live", origin="http://elsewhere.example") as _:
            raise AssertionError("a foreign origin was let in")
    except Exception as err:  # the websockets client refuses the 403
        assert "403" in str(err), err
    with ws_connect(f"ws://127.0.0.1:{port}/live") as ws:
        ws.send("end")
    assert [m["content"] for m in finish(proc)] == ["end"]


def test_without_the_websockets_package_ws_fields_fail_lint_naming_the_extra(tmp_path: Path):
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "websockets.py").write_text('raise ImportError("hidden for this test")\n')
    config = tmp_path / "ws.yaml"
    config.write_text("input:\n  http_server:\n    ws_path: /live\n    ws_welcome_message: hi\n")
    result = run_cli("lint", str(config), env=cli_env(pythonpath=[str(hide)]))
    assert result.returncode == 1
    assert "pip install 'benthic[websockets]'" in result.stderr
    # with the package, the same config lints clean
    assert lint(tmp_path, config.read_text()).returncode == 0


def test_a_rate_limited_client_is_told_and_its_message_waits(tmp_path: Path):
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        f"input:\n  http_server:\n    address: 127.0.0.1:{port}\n    rate_limit: slow\n"
        "    ws_rate_limit_message: slow down\n"
        "rate_limit_resources:\n  - label: slow\n    local:\n      count: 1\n      interval: 60s\n"
        "output:\n  stdout: {}\n"
    )
    proc = start_cli("run", str(config))
    try:
        with ws_connect(f"ws://127.0.0.1:{port}/post/ws") as ws:
            ws.send("first")
            ws.send("second")
            assert ws.recv(timeout=30) == b"slow down"
    finally:
        proc.terminate()
        stdout, _ = proc.communicate(timeout=60)
    assert stdout.splitlines() == ["first"]  # the second waits for the limit, it is not dropped
