"""The lean kept-alive HTTP/1.1 client (``pipeline.http.keepalive``) against real servers on
127.0.0.1 that answer with hand-written bytes."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable

import pytest

from pipeline.http.client import HTTPClient, build_request
from pipeline.http.keepalive import MAX_BODY, MAX_HEAD, KeepAliveError, KeepAlivePool, usable_for
from tests.ports import free_port

Answer = Callable[[bytes], bytes]


async def serve(answer: Answer, *, close_after_each: bool = False) -> tuple[asyncio.Server, str, list[int]]:
    """A server that answers each request head with ``answer(head)``; returns it, its URL and a
    one-item list counting the connections it accepted."""
    connections = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                writer.write(answer(head))
                await writer.drain()
                if close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    port = free_port()
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    return server, f"http://127.0.0.1:{port}", connections


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def ok(body: bytes) -> Answer:
    return lambda head: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def test_sequential_requests_share_one_connection_and_send_the_headers():
    seen: list[bytes] = []

    def answer(head: bytes) -> bytes:
        seen.append(head)
        return ok(b'{"ok":true}')(head)

    async def scenario() -> None:
        server, url, connections = await serve(answer)
        pool = KeepAlivePool(url, timeout=5)
        for i in range(5):
            reply = await pool.get(f"/api/v1/x?n={i}", {"Authorization": "Bearer t"})
            assert (reply.status_code, reply.content) == (200, b'{"ok":true}')
        pool.close()
        server.close()
        assert connections[0] == 1
        assert seen[4].startswith(b"GET /api/v1/x?n=4 HTTP/1.1\r\n")
        assert f"Host: {url.removeprefix('http://')}\r\n".encode() in seen[0]
        assert b"Authorization: Bearer t\r\n" in seen[0]

    run(scenario)


def test_a_chunked_body_is_joined_and_headers_are_lower_cased():
    def answer(head: bytes) -> bytes:
        return (
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n"
        )

    async def scenario() -> None:
        server, url, connections = await serve(answer)
        pool = KeepAlivePool(url, timeout=5)
        first = await pool.get("/", {})
        second = await pool.get("/", {})
        pool.close()
        server.close()
        assert (first.status_code, first.content, first.headers["retry-after"]) == (429, b"hello world", "3")
        assert second.content == b"hello world"
        assert connections[0] == 1

    run(scenario)


def test_a_connection_the_server_closed_is_replaced_without_an_error():
    async def scenario() -> None:
        server, url, connections = await serve(ok(b"{}"), close_after_each=True)
        pool = KeepAlivePool(url, timeout=5)
        for _ in range(3):
            await asyncio.sleep(0.05)  # let the server's close arrive
            assert (await pool.get("/", {})).content == b"{}"
        pool.close()
        server.close()
        assert connections[0] == 3

    run(scenario)


def test_connection_close_and_close_delimited_bodies_are_read_to_the_end():
    async def scenario() -> None:
        server, url, connections = await serve(
            lambda head: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil eof", close_after_each=True
        )
        pool = KeepAlivePool(url, timeout=5)
        assert (await pool.get("/", {})).content == b"until eof"
        assert (await pool.get("/", {})).content == b"until eof"
        pool.close()
        server.close()
        assert connections[0] == 2

    run(scenario)


def test_an_unreachable_server_is_reported_in_gos_words():
    async def scenario() -> None:
        port = free_port()
        pool = KeepAlivePool(f"http://127.0.0.1:{port}", timeout=5)
        with pytest.raises(KeepAliveError, match=f"dial tcp 127.0.0.1:{port}: connect: connection refused"):
            await pool.get("/", {})

    run(scenario)


def test_oversized_heads_and_bodies_are_refused_without_reading_them():
    async def scenario() -> None:
        server, url, _ = await serve(
            lambda head: b"HTTP/1.1 200 OK\r\nX: " + b"a" * (MAX_HEAD + 10) + b"\r\n\r\n"
        )
        with pytest.raises(KeepAliveError, match="headers exceeded"):
            await KeepAlivePool(url, timeout=5).get("/", {})
        server.close()
        huge = MAX_BODY + 1
        server, url, _ = await serve(lambda head: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % huge)
        with pytest.raises(KeepAliveError, match="exceeds"):
            await KeepAlivePool(url, timeout=5).get("/", {})
        server.close()

    run(scenario)


def test_a_server_that_does_not_answer_hits_the_deadline():
    async def scenario() -> None:
        server, url, _ = await serve(lambda head: b"")
        with pytest.raises(KeepAliveError, match="Client.Timeout exceeded while awaiting headers"):
            await KeepAlivePool(url, timeout=0.2).get("/", {})
        server.close()

    run(scenario)


def test_a_garbled_status_line_is_an_error():
    async def scenario() -> None:
        server, url, _ = await serve(lambda head: b"SMTP ready\r\n\r\n")
        with pytest.raises(KeepAliveError, match="malformed HTTP response"):
            await KeepAlivePool(url, timeout=5).get("/", {})
        server.close()

    run(scenario)


def test_requests_through_a_proxy_or_with_credentials_are_left_to_httpx(monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert usable_for("http://runai.example:8080")
    assert not usable_for("http://user:pw@runai.example")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert not usable_for("http://runai.example:8080")
    monkeypatch.setenv("NO_PROXY", "runai.example")
    assert usable_for("http://runai.example:8080")


def test_the_shared_client_decodes_gzip_and_keeps_repeated_headers_on_the_lean_path():
    body = gzip.compress(b'{"accepted":true}')

    def answer(head: bytes) -> bytes:
        return (
            b"HTTP/1.1 202 Accepted\r\nContent-Encoding: gzip\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )

    async def scenario() -> None:
        server, url, connections = await serve(answer)
        client = HTTPClient(timeout=5, go_headers=True)
        try:
            for _ in range(2):
                exchange = await client.send(build_request("POST", url + "/events", {"X-A": "1"}, b"[1]"))
                assert exchange.error is None
                assert exchange.status == 202
                assert exchange.body == b'{"accepted":true}'
                assert exchange.response is not None
                assert exchange.response.headers.get_list("set-cookie") == ["a=1", "b=2"]
        finally:
            await client.aclose()
            server.close()
        assert connections[0] == 1  # the lean path kept its connection

    run(scenario)


def test_the_shared_client_follows_a_redirect_the_lean_path_received():
    def answer(head: bytes) -> bytes:
        if head.startswith(b"POST /old "):
            return b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"
        return ok(b"moved here")(head)

    async def scenario() -> None:
        server, url, _ = await serve(answer)
        client = HTTPClient(timeout=5)
        try:
            exchange = await client.send(build_request("POST", url + "/old", {}, b"x"))
        finally:
            await client.aclose()
            server.close()
        assert (exchange.status, exchange.body) == (200, b"moved here")

    run(scenario)


def test_the_shared_client_reports_a_refused_connection_in_gos_words():
    async def scenario() -> None:
        port = free_port()
        client = HTTPClient(timeout=5)
        try:
            exchange = await client.send(build_request("POST", f"http://127.0.0.1:{port}/x", {}, b"x"))
        finally:
            await client.aclose()
        assert str(exchange.error).endswith(
            f'Post "http://127.0.0.1:{port}/x": dial tcp 127.0.0.1:{port}: connect: connection refused'
        )

    run(scenario)
