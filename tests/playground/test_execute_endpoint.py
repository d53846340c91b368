"""``POST /execute`` of the real ``benthic blobl server``: upstream's request and answer shapes,
our additions (metadata, positions), and the bounds that keep a hostile mapping from stalling it."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.playground.conftest import Playground

UPSTREAM_KEYS = {"parse_error", "mapping_error", "result"}


def post(server: Playground, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(server.url + "execute", data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def execute(server: Playground, mapping: str, input_text: str = "{}", **extra: Any) -> dict[str, Any]:
    status, body = post(server, json.dumps({"mapping": mapping, "input": input_text, **extra}).encode())
    assert status == 200, body
    answer = json.loads(body)
    assert UPSTREAM_KEYS <= answer.keys()
    return answer


@pytest.fixture(scope="module")
def server(playground: Callable[..., Playground]) -> Playground:
    return playground("--timeout", "1s")


def test_a_structured_result_is_indented_as_go_does_with_upstreams_keys(server: Playground) -> None:
    answer = execute(
        server, 'root.greeting = this.message.uppercase()\nroot.tags = ["<a>", {}]', '{"message":"hi"}'
    )
    assert answer["parse_error"] == "" and answer["mapping_error"] == ""
    # two-space indentation and HTML escaping, as gabs' StringIndent (json.MarshalIndent) writes it
    assert answer["result"] == '{\n  "greeting": "HI",\n  "tags": [\n    "\\u003ca\\u003e",\n    {}\n  ]\n}'


def test_a_string_root_is_shown_as_it_is(server: Playground) -> None:
    assert execute(server, 'root = "plain <text>"')["result"] == "plain <text>"


def test_an_untouched_root_shows_the_input_indented_or_raw(server: Playground) -> None:
    assert execute(server, 'meta a = "b"', '{"x":[1]}')["result"] == '{\n  "x": [\n    1\n  ]\n}'
    assert execute(server, 'meta a = "b"', "not json")["result"] == "not json"


def test_a_deleted_message_has_an_empty_result(server: Playground) -> None:
    answer = execute(server, "root = deleted()")
    assert answer["result"] == "" and answer["mapping_error"] == "" and answer["deleted"] is True


def test_input_metadata_is_readable_and_output_metadata_comes_back(server: Playground) -> None:
    answer = execute(
        server,
        'root.topic = meta("topic")\nroot.size = metadata("size") + 1\nmeta seen = true\nmeta topic = deleted()',
        metadata={"topic": "orders", "size": 41},
    )
    assert json.loads(answer["result"]) == {"topic": "orders", "size": 42}
    assert answer["metadata"] == {"seen": True, "size": 41}


def test_a_parse_error_says_line_and_char_and_gives_the_position(server: Playground) -> None:
    answer = execute(server, "root.a = this.a\nroot.b = this.b bar")
    assert answer["parse_error"] == "failed to parse mapping: line 2 char 17: expected line break, got: bar\n"
    assert answer["result"] == "" and answer["mapping_error"] == ""
    assert answer["error_position"] == {"line": 2, "column": 17, "kind": "parse"}


def test_a_mapping_error_names_the_failing_statement(server: Playground) -> None:
    answer = execute(server, 'root.a = "ok"\nroot.b = this.missing.uppercase()', '{"x":1}')
    assert answer["parse_error"] == ""
    assert answer["mapping_error"].startswith("failed assignment (line 2): ")
    assert answer["error_position"]["line"] == 2 and answer["error_position"]["kind"] == "mapping"


def test_a_mapping_on_a_non_json_input_says_it_cannot_parse_it(server: Playground) -> None:
    answer = execute(server, "root = this.a", "not json")
    assert (
        "unable to reference message as structured (with 'this.a'): parse as json" in answer["mapping_error"]
    )


def test_a_runaway_mapping_is_stopped_and_the_server_keeps_answering(server: Playground) -> None:
    # each call stays inside Bloblang's own size limits; together they would run for hours
    answer = execute(server, "root = range(0, 1000000).map_each(n -> range(0, 1000000).sum()).sum()")
    assert answer["mapping_error"] == "the mapping did not finish within 1s and was stopped"
    assert execute(server, "root = 1 + 1")["result"] == "2"


def test_a_mapping_that_exhausts_memory_fails_and_the_server_keeps_answering(
    playground: Callable[..., Playground],
) -> None:
    # each string is under the 128 MiB a single repeat() may build; forty of them are not. Building
    # them takes seconds, so this server allows a minute: it is the memory cap that must stop it.
    server = playground("--timeout", "60s")
    answer = execute(server, 'root = range(0, 40).map_each(n -> "x".repeat(134000000))')
    assert answer["mapping_error"].startswith("the mapping ran out of memory")
    assert execute(server, 'root = "still here"')["result"] == "still here"


def test_a_body_that_is_not_json_is_refused_with_400(server: Playground) -> None:
    status, body = post(server, b"{not json")
    assert status == 400 and body


def test_metadata_that_is_not_an_object_is_refused_with_400(server: Playground) -> None:
    status, body = post(server, json.dumps({"mapping": "root = this", "metadata": [1]}).encode())
    assert (status, body) == (400, b"metadata must be a JSON object\n")


def test_an_oversized_body_is_refused_with_413_before_it_is_read(server: Playground) -> None:
    # the server answers as soon as it sees the length, so only the head is sent (sending the body
    # would race the server closing the connection)
    parts = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.putrequest("POST", "/execute")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(2 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert (response.status, response.read()) == (413, b"request body too large")
    finally:
        connection.close()


def test_another_site_cannot_drive_the_server(server: Playground) -> None:
    body = json.dumps({"mapping": 'root = env("HOME")'}).encode()
    assert post(server, body, {"Origin": "http://attacker.example"})[0] == 403
    assert post(server, body, {"Host": "attacker.example:4195"})[0] == 403
    same_site = server.url.rstrip("/")
    assert post(server, body, {"Origin": same_site})[0] == 200


def test_the_page_and_its_assets_come_from_the_server_itself(server: Playground) -> None:
    with urllib.request.urlopen(server.url, timeout=10) as response:
        page = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "http://" not in page and "https://" not in page
    for asset in ("app.js", "style.css"):
        with urllib.request.urlopen(server.url + asset, timeout=10) as response:
            text = response.read().decode()
        assert text and "http://" not in text and "https://" not in text


def test_the_server_binds_to_loopback_by_default(server: Playground) -> None:
    assert f"Serving at: {server.url}" in server.output()
    assert server.url.startswith("http://127.0.0.1:")
