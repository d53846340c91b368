"""The http_server input answers each request the way Redpanda Connect does."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from pipeline.builder import Manager
from tests.ports import free_port


def serve(
    http_server: dict[str, Any],
    processors: list[Any] | None = None,
    output: dict[str, Any] | None = None,
) -> Callable[[Callable[[httpx.AsyncClient, str], Awaitable[None]]], None]:
    """Run a stream with this http_server input on 127.0.0.1 while ``scenario(client, url)`` runs."""

    def runner(scenario: Callable[[httpx.AsyncClient, str], Awaitable[None]]) -> None:
        port = free_port()
        conf = {"address": f"127.0.0.1:{port}", "path": "/events", **http_server}
        data = {
            "input": {"http_server": conf},
            "pipeline": {"threads": 1, "processors": processors or []},
            "output": output or {"drop": {}},
        }

        async def main() -> None:
            stream = Manager().build_stream(data)
            task = asyncio.create_task(stream.run())
            async with httpx.AsyncClient(headers={"Accept-Encoding": "identity"}, timeout=10) as client:
                for _ in range(100):
                    try:
                        await client.get(f"http://127.0.0.1:{port}/ping")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.02)
                try:
                    await scenario(client, f"http://127.0.0.1:{port}/events")
                finally:
                    stream.force()
                    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 5)
                    await stream.close()

        asyncio.run(main())

    return runner


def test_without_a_sync_response_the_answer_is_an_empty_200() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.post(url, content=b"hello")
        assert response.status_code == 200
        assert response.content == b""

    serve({})(scenario)


def test_the_stored_response_sets_status_headers_and_body() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.post(url, content=b"hello", headers={"Content-Type": "text/plain"})
        assert response.status_code == 201
        assert response.headers["content-type"] == "text/x-answer"
        assert response.content == b"HELLO"

    serve(
        {
            "sync_response": {
                "status": '${! @status.or("500") }',
                "headers": {"Content-Type": "text/x-answer"},
            }
        },
        [{"mapping": 'meta status = "201"\nroot = content().uppercase()'}, {"sync_response": {}}],
    )(scenario)


def test_request_headers_query_and_path_become_metadata() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.post(
            url + "?tenant=acme", content=b"{}", headers={"ce-id": "42", "User-Agent": "tester"}
        )
        assert response.json() == {
            "ce": "42",
            "tenant": "acme",
            "path": "/events",
            "verb": "POST",
            "agent": "tester",
        }

    mapping = (
        'root = {"ce": meta("Ce-Id"), "tenant": meta("tenant"), "path": meta("http_server_request_path"), '
        '"verb": meta("http_server_verb"), "agent": meta("http_server_user_agent")}'
    )
    serve({}, [{"mapping": mapping}, {"sync_response": {}}])(scenario)


def test_the_default_response_content_type_is_octet_stream() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.post(url, content=b'{"a":1}')
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.content == b'{"a":1}'

    serve({}, [{"sync_response": {}}])(scenario)


def test_a_wrong_verb_gets_405() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.get(url)
        assert (response.status_code, response.text) == (405, "Incorrect method\n")

    serve({})(scenario)


def test_several_stored_messages_make_a_multipart_answer() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.post(url, content=b"a\nb")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert b"\r\n\r\na\r\n--" in response.content and b"\r\n\r\nb\r\n--" in response.content

    serve({}, [{"unarchive": {"format": "lines"}}, {"sync_response": {}}])(scenario)


def test_a_204_answer_has_no_body() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.post(url, content=b"hello")
        assert response.status_code == 204
        assert response.content == b""

    serve({"sync_response": {"status": "204"}}, [{"sync_response": {}}])(scenario)


def test_answers_are_gzipped_when_the_client_accepts_it() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        async with httpx.AsyncClient(timeout=10) as raw:
            request = raw.build_request("POST", url, content=b"zipped", headers={"Accept-Encoding": "gzip"})
            response = await raw.send(request, stream=True)
            body = await response.aread()
        assert response.headers["content-encoding"] == "gzip"
        assert body == b"zipped"  # httpx decoded it
        assert gzip.decompress(gzip.compress(b"zipped")) == b"zipped"

    serve({}, [{"sync_response": {}}])(scenario)


def test_a_request_nobody_takes_in_time_gets_408() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.post(url, content=b"stuck")
        assert (response.status_code, response.text) == (408, "Request timed out\n")

    # an inproc pipe nobody reads: the write never completes
    serve({"timeout": "200ms"}, [], {"inproc": "nobody-reads-this"})(scenario)


def test_a_bad_content_type_is_a_400() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.post(url, content=b"x", headers={"Content-Type": "text"})
        assert (response.status_code, response.text) == (400, "Bad request\n")

    serve({})(scenario)


def test_a_reject_output_answers_502_with_its_text_at_once() -> None:
    # a rejection is final: the transaction goes back to the input as a nack (so the client hears
    # why) instead of being retried until the request times out with a 408
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        response = await client.post(url, content=b"alpha")
        assert (response.status_code, response.text) == (502, "refused alpha\n")

    serve({"timeout": "30s"}, [], {"reject": "refused ${! content() }"})(scenario)


def test_reject_errored_answers_502_for_a_message_that_failed_processing() -> None:
    async def scenario(client: httpx.AsyncClient, url: str) -> None:
        ok = await client.post(url, content=b'{"n":1}')
        assert ok.status_code == 200
        bad = await client.post(url, content=b"not json")
        assert bad.status_code == 502
        assert bad.text.startswith("rejecting due to failed processing: ")

    serve({"timeout": "30s"}, [{"mapping": "root = this"}], {"reject_errored": {"drop": {}}})(scenario)
