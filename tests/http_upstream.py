"""A small real HTTP server on 127.0.0.1 for the HTTP client components' tests.

Routes: ``/echo`` answers ``echo:<body>`` with an ``X-Reply`` header; ``/fail`` answers 500;
``/multi`` answers a two-part multipart body; ``/page`` answers the next of ``pages`` (then
empty bodies); ``/stream`` answers ``lines`` as a chunked body, one line per chunk.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.ports import free_port


class Upstream:
    def __init__(self, pages: list[bytes] | None = None, lines: list[bytes] | None = None) -> None:
        self.port = free_port()
        self.pages = list(pages or [])
        self.lines = list(lines or [])
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                body = self._body()
                owner.requests.append((self.command, self.path, dict(self.headers.items()), body))
                path = self.path.split("?")[0]
                if path == "/echo":
                    self._reply(200, b"echo:" + body, {"X-Reply": "yes", "Content-Type": "text/plain"})
                elif path == "/fail":
                    self._reply(500, b"broken")
                elif path == "/multi":
                    boundary = "b0und"
                    parts = b"".join(
                        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n".encode() + p + b"\r\n"
                        for p in (b"first", b"second")
                    )
                    self._reply(
                        200,
                        parts + f"--{boundary}--\r\n".encode(),
                        {"Content-Type": f"multipart/mixed; boundary={boundary}"},
                    )
                elif path == "/page":
                    self._reply(200, owner.pages.pop(0) if owner.pages else b"")
                elif path == "/stream":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for line in owner.lines:
                        data = line + b"\n"
                        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self._reply(404, b"not found")

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
