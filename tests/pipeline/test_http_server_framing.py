"""How the HTTP server frames requests and answers, with raw sockets: plain requests and those
only h11 reads (chunked bodies, ``Expect``, HTTP/1.0, bare line feeds, odd headers) mix on one
kept-alive connection, pipelined requests are answered in order, and answers the server could not
write safely (a header with a line break) are never written."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from pipeline.http.server import HTTPServer, Request, Response


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    """A server in its own thread: /echo answers the body, method and a header it received."""
    loop = asyncio.new_event_loop()
    srv = HTTPServer("127.0.0.1", 0, max_body=1000)

    async def echo(request: Request) -> Response:
        headers = [("X-Method", request.method), ("X-Seen", request.header("x-test", "-") or "-")]
        return Response(200, request.body, headers, content_type="text/plain")

    async def injected(_request: Request) -> Response:
        return Response(200, b"hi", [("X-Evil", "a\r\nSet-Cookie: stolen=1")])

    async def no_content_with_body(_request: Request) -> Response:
        return Response(204, b"ignored?")

    async def streamed(_request: Request) -> Response:
        async def parts() -> AsyncIterator[bytes]:
            yield b"one,"
            yield b"two"

        return Response(200, stream=parts())

    srv.route("/echo", echo)
    srv.route("/injected", injected)
    srv.route("/no-content", no_content_with_body)
    srv.route("/stream", streamed)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(srv.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    yield srv
    asyncio.run_coroutine_threadsafe(srv.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` (ending with a request that closes the connection); all that comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


CLOSE = b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def test_pipelined_plain_requests_are_answered_in_order_on_one_connection(server: HTTPServer) -> None:
    requests = b"".join(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        for body in (b"first", b"second", b"third")
    )
    answer = _exchange(server.port, requests + CLOSE)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 4
    assert answer.index(b"first") < answer.index(b"second") < answer.index(b"third")
    assert answer.endswith(b"Connection: close\r\n\r\n")


def test_a_body_sent_in_pieces_is_read_whole(server: HTTPServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-")
        sock.sendall(b"Length: 10\r\n\r\n01234")
        sock.sendall(b"56789" + CLOSE)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert b"Content-Length: 10\r\n\r\n0123456789HTTP/1.1 200 OK" in answer


def test_requests_only_h11_reads_mix_with_plain_ones_on_one_connection(server: HTTPServer) -> None:
    answer = _exchange(
        server.port,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nplain"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nchunked\r\n0\r\n\r\n"
        b"POST /echo HTTP/1.1\nHost: x\nX-Test: bare\nContent-Length: 4\n\nlfed"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nasked"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nX-Test:\x01odd\r\nContent-Length: 3\r\n\r\nodd"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nX-Test: folded\r\n line\r\nContent-Length: 6\r\n\r\nfolded"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nagain" + CLOSE,
    )
    bodies = [b"plain", b"chunked", b"lfed", b"asked", b"odd", b"folded", b"again"]
    positions = [answer.index(b"\r\n\r\n" + body) for body in bodies]
    assert positions == sorted(positions)
    assert b"X-Seen: bare" in answer
    assert b"X-Seen: \x01odd" in answer
    assert b"X-Seen: folded line" in answer
    assert answer.count(b"HTTP/1.1 100 Continue\r\n") == 1
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 8


def test_an_http_1_0_request_is_answered_and_the_connection_closed(server: HTTPServer) -> None:
    answer = _exchange(server.port, b"POST /echo HTTP/1.0\r\nContent-Length: 3\r\n\r\nold")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in answer and answer.endswith(b"old")


@pytest.mark.parametrize(
    "head",
    [
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Length: 3\r\n\r\n",
    ],
    ids=["conflicting-lengths", "space-before-colon", "signed-length", "no-host", "two-hosts"],
)
def test_ambiguous_request_heads_are_refused_with_400_and_nothing_after_them_is_served(
    server: HTTPServer, head: bytes
) -> None:
    answer = _exchange(server.port, head + b"abcGET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.count(b"HTTP/1.1 ") == 1


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(server: HTTPServer) -> None:
    answer = _exchange(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_a_head_request_gets_the_headers_of_the_answer_without_its_body(server: HTTPServer) -> None:
    answer = _exchange(server.port, b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n" + CLOSE)
    first, _, rest = answer.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b"X-Method: HEAD" in first
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")  # no body between the two answers


def test_an_answer_with_a_line_break_in_a_header_is_never_written(server: HTTPServer) -> None:
    answer = _exchange(server.port, b"GET /injected HTTP/1.1\r\nHost: x\r\n\r\n" + CLOSE)
    assert b"stolen" not in answer
    assert b"Set-Cookie" not in answer


def test_a_no_content_answer_with_a_body_is_never_written(server: HTTPServer) -> None:
    answer = _exchange(server.port, b"GET /no-content HTTP/1.1\r\nHost: x\r\n\r\n" + CLOSE)
    assert b"ignored?" not in answer


def test_a_streamed_answer_is_chunked_and_the_connection_serves_the_next_request(
    server: HTTPServer,
) -> None:
    answer = _exchange(server.port, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n" + CLOSE)
    assert b"Transfer-Encoding: chunked\r\n\r\n4\r\none,\r\n3\r\ntwo\r\n0\r\n\r\nHTTP/1.1 200 OK" in answer
