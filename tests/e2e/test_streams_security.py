"""The streams-mode API as an attacker on the network meets it: a real ``benthic streams``
process, real HTTP requests.

The API runs whatever config it is given, so it must bind where the operator said, refuse
strangers when basic auth is on, never hand back the secrets of a config, and survive a hostile
body without growing or stalling.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import orjson

from tests.e2e._openmeter_helpers import start, wait_until_answering
from tests.ports import free_port

PASSWORD = "url-password-4711"
API_KEY = "query-api-key-0815"
TOKEN = "bearer-token-1234"
BASIC_PASSWORD = "basic-auth-password-99"

SECRET_STREAM = """
input:
  generate:
    interval: 1h
    mapping: root = "x"
output:
  http_client:
    url: http://reporter:${STREAM_PASSWORD}@127.0.0.1:9/ingest?api_key=${STREAM_API_KEY}&region=eu
    headers:
      Authorization: Bearer ${STREAM_TOKEN}
      X-Api-Key: ${STREAM_API_KEY}
    basic_auth:
      enabled: true
      username: reporter
      password: ${STREAM_BASIC_PASSWORD}
"""

SECRETS_ENV = {
    "STREAM_PASSWORD": PASSWORD,
    "STREAM_API_KEY": API_KEY,
    "STREAM_TOKEN": TOKEN,
    "STREAM_BASIC_PASSWORD": BASIC_PASSWORD,
}

DROP_STREAM = b"input:\n  generate:\n    interval: 1h\n    mapping: root = 1\noutput:\n  drop: {}\n"

BILLION_LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi", strict=True)
)


def _assert_no_secret(text: str) -> None:
    for secret in (PASSWORD, API_KEY, TOKEN, BASIC_PASSWORD):
        assert secret not in text, text


def test_set_http_address_without_a_root_config_is_where_the_api_listens() -> None:
    port = free_port()
    process = start("streams", "--set", f"http.address=127.0.0.1:{port}")
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/ping", process)
        assert httpx.get(f"http://127.0.0.1:{port}/ping").text == "pong"
        assert f"Listening for HTTP requests at: http://127.0.0.1:{port}" in process.output
    finally:
        assert process.stop(20) == 0, process.output[-3000:]
        process.cleanup()


def test_the_api_never_returns_secrets_of_a_stream_from_a_file_or_posted(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "root.yaml").write_text(f"http:\n  address: 127.0.0.1:{port}\n  debug_endpoints: true\n")
    (tmp_path / "billing.yaml").write_text(SECRET_STREAM)
    process = start(
        "streams", "-c", str(tmp_path / "root.yaml"), str(tmp_path / "billing.yaml"), env=SECRETS_ENV
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base + "/ping", process)
        from_file = httpx.get(base + "/streams/billing")
        assert from_file.status_code == 200
        _assert_no_secret(from_file.text)
        output = orjson.loads(from_file.content)["config"]["output"]["http_client"]
        assert output["headers"]["Authorization"] == "!!!SECRET_SCRUBBED!!!"
        assert output["url"] == "http://reporter:xxxxx@127.0.0.1:9/ingest?api_key=xxxxx&region=eu"
        # an attacker posting a config that reads the environment gets nothing back either
        assert httpx.post(base + "/streams/posted", content=SECRET_STREAM.encode()).status_code == 200
        _assert_no_secret(httpx.get(base + "/streams/posted").text)
        _assert_no_secret(httpx.get(base + "/streams").text)
        process.wait_for_output("Output type http_client")
        process.stop(20)
        _assert_no_secret(process.output)
    finally:
        process.stop(20)
        process.cleanup()


def test_basic_auth_keeps_strangers_from_creating_streams(tmp_path: Path) -> None:
    port = free_port()
    digest = base64.b64encode(hashlib.sha256(b"operator-pass").digest()).decode()
    (tmp_path / "root.yaml").write_text(
        f"http:\n  address: 127.0.0.1:{port}\n  basic_auth:\n    enabled: true\n"
        f"    username: operator\n    password_hash: {digest}\n    algorithm: sha256\n"
    )
    process = start("streams", "-c", str(tmp_path / "root.yaml"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base + "/ping", process)
        stranger = httpx.post(base + "/streams/evil", content=DROP_STREAM)
        assert stranger.status_code == 401
        assert "Basic" in stranger.headers["www-authenticate"]
        wrong = httpx.post(base + "/streams/evil", content=DROP_STREAM, auth=("operator", "guess"))
        assert wrong.status_code == 401
        assert httpx.get(base + "/streams", auth=("operator", "guess")).status_code == 401
        operator = ("operator", "operator-pass")
        assert httpx.get(base + "/streams", auth=operator).json() == {}
        assert httpx.post(base + "/streams/good", content=DROP_STREAM, auth=operator).status_code == 200
        assert set(httpx.get(base + "/streams", auth=operator).json()) == {"good"}
        assert "accepts stream configs from anyone" not in process.output
    finally:
        assert process.stop(20) == 0, process.output[-3000:]
        process.cleanup()


def test_an_unguarded_api_on_all_interfaces_is_logged_as_open() -> None:
    port = free_port()
    process = start("streams", "--set", f"http.address=0.0.0.0:{port}")
    try:
        process.wait_for_output("accepts stream configs from anyone who can reach it")
    finally:
        process.stop(20)
        process.cleanup()


def test_hostile_bodies_are_refused_and_the_server_keeps_answering(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "root.yaml").write_text(f"http:\n  address: 127.0.0.1:{port}\n")
    process = start("streams", "-c", str(tmp_path / "root.yaml"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base + "/ping", process)
        laughs = httpx.post(base + "/streams/laughs", content=BILLION_LAUGHS.encode(), timeout=30)
        assert laughs.status_code == 400
        assert "document contains excessive aliasing" in laughs.text
        many = httpx.post(base + "/streams", content=BILLION_LAUGHS.encode(), timeout=30)
        assert many.status_code == 400 and "excessive aliasing" in many.text
        deep = httpx.post(base + "/streams/deep", content=b"a: " + b"[" * 100_000, timeout=30)
        assert deep.status_code == 400 and "exceeded max depth" in deep.text
        duplicate = httpx.post(
            base + "/streams/dup", content=DROP_STREAM + b"output:\n  drop: {}\n", timeout=30
        )
        assert duplicate.status_code == 400 and 'mapping key "output" already defined' in duplicate.text
        huge = httpx.post(base + "/streams/huge", content=b"#" * (2 * 1024 * 1024), timeout=30)
        assert huge.status_code == 413
        assert httpx.get(base + "/ping").text == "pong"
        assert httpx.get(base + "/streams").json() == {}
        assert process.stop(20) == 0, process.output[-3000:]
        assert "Traceback" not in process.output
    finally:
        process.stop(20)
        process.cleanup()
