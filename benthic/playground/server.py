"""``benthic blobl server``: a page for writing a mapping against a sample document.

Upstream (``internal/cli/blobl/server.go`` in redpanda-data/benthos) serves one HTML page and
``POST /execute``, which takes ``{"mapping", "input"}`` and answers ``{"parse_error",
"mapping_error", "result"}``; its flags are ``--host``, ``-p/--port`` (4195), ``-n/--no-open``,
``-m/--mapping-file``, ``-i/--input-file`` and ``-w/--write`` (write edits back to those files).
We keep the flags, the path and the shapes, and differ where it protects the user:

* the default host is 127.0.0.1 rather than ``localhost``, so that the address bound is the
  loopback one whatever the resolver says; a mapping can read environment variables and files,
  so the page is for you alone;
* requests whose ``Host`` is not a loopback name, or whose ``Origin`` is another site, are refused
  (a web page you visit cannot drive the playground, even through DNS rebinding);
* request bodies are bounded and each evaluation runs in a child process with a time limit
  (``--timeout``), so a runaway mapping is stopped instead of stalling the server;
* ``/execute`` also takes the input's ``metadata`` and answers with the output's metadata, whether
  the message was deleted and the failing ``line``/``column``;
* the page keeps its state in the link (the URL fragment, never sent to a server) to share it,
  and marks the failing span in the mapping; it needs nothing from the network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import webbrowser
from importlib import resources

from benthic.playground.evaluator import Evaluator
from pipeline.durations import parse_duration
from pipeline.http.server import Handler, HTTPServer, Request, Response

DEFAULT_MAPPING = "root = this"
DEFAULT_INPUT = '{"message":"hello world"}'
MAX_REQUEST_BYTES = 1024 * 1024
WRITE_DELAY_SECONDS = 1.0
_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "[::1]"}
_STATIC_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
_PAGE_HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="benthic blobl server",
        description="Serve a page for writing and trying Bloblang mappings. It is meant for your own "
        "machine: a mapping can read environment variables and files, so do not expose it.",
    )
    ap.add_argument("--host", default="127.0.0.1", help="the address to bind to (default 127.0.0.1)")
    ap.add_argument("-p", "--port", type=int, default=4195, help="the port to bind to (default 4195)")
    ap.add_argument("-n", "--no-open", action="store_true", help="do not open the page in a browser on start")
    ap.add_argument("-m", "--mapping-file", default="", help="a file holding the initial mapping")
    ap.add_argument("-i", "--input-file", default="", help="a file holding the initial input document")
    ap.add_argument(
        "-w",
        "--write",
        action="store_true",
        help="write edits of the mapping and the input back to --mapping-file and --input-file "
        "(a missing file is created)",
    )
    ap.add_argument(
        "--timeout",
        default="5s",
        help="how long one evaluation may run before it is stopped (a duration, default 5s)",
    )
    return ap


class FileSync:
    """The page's starting mapping and input, and (with ``--write``) their files kept in step."""

    def __init__(self, mapping_file: str, input_file: str, write_back: bool) -> None:
        self.mapping_file = mapping_file
        self.input_file = input_file
        self.write_back = write_back
        self.mapping = self._read(mapping_file, DEFAULT_MAPPING)
        self.input = self._read(input_file, DEFAULT_INPUT)
        self._dirty = False
        self._pending: asyncio.TimerHandle | None = None

    def _read(self, path: str, default: str) -> str:
        if not path:
            return default
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            if self.write_back:
                return default  # created on the first edit
            raise

    def update(self, mapping: str, input_text: str) -> None:
        """Record the page's current text; with ``--write`` the files follow shortly after."""
        if mapping == self.mapping and input_text == self.input:
            return
        self.mapping, self.input = mapping, input_text
        if not self.write_back:
            return
        self._dirty = True
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(WRITE_DELAY_SECONDS, self.write)

    def write(self) -> None:
        self._pending = None
        if not self._dirty:
            return
        self._dirty = False
        for path, text in ((self.mapping_file, self.mapping), (self.input_file, self.input)):
            if path:
                try:
                    _write_atomically(path, text)
                except OSError as err:
                    print(f"failed to write {path}: {err}", file=sys.stderr)


def _write_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".blobl-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _static(name: str) -> bytes:
    return (resources.files("benthic.playground") / "static" / name).read_bytes()


def _script_json(value: object) -> str:
    """JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[: host_header.find("]") + 1]
    return host_header.rsplit(":", 1)[0]


class Playground:
    """The routes of the playground server."""

    def __init__(self, files: FileSync, evaluator: Evaluator, bind_host: str) -> None:
        self.files = files
        self.evaluator = evaluator
        # bound to every interface on purpose: the user chose to reach it by other names
        self.any_host = bind_host in ("0.0.0.0", "::", "")
        self.allowed_hosts = _LOOPBACK_NAMES | {bind_host, f"[{bind_host}]"}

    def install(self, server: HTTPServer) -> None:
        server.use(self.guard)
        server.route("/", self.index, ["GET"])
        server.route("/execute", self.execute, ["POST"])
        for name in _STATIC_TYPES:
            server.route(f"/{name}", self.static, ["GET"])

    async def guard(self, request: Request, handle: Handler) -> Response:
        host = request.header("host") or ""
        if not self.any_host and _host_name(host) not in self.allowed_hosts:
            return Response.text(f"host {host!r} is not served here", 403)
        origin = request.header("origin")
        if origin is not None and origin.split("://", 1)[-1] != host:
            return Response.text("requests from other sites are refused", 403)
        return await handle(request)

    async def index(self, request: Request) -> Response:
        page = _static("index.html").decode("utf-8")
        state = {"mapping": self.files.mapping, "input": self.files.input}
        page = page.replace("__INITIAL_STATE__", _script_json(state))
        return Response(
            200, page.encode("utf-8"), headers=list(_PAGE_HEADERS), content_type="text/html; charset=utf-8"
        )

    async def static(self, request: Request) -> Response:
        name = request.path.lstrip("/")
        return Response(200, _static(name), headers=list(_PAGE_HEADERS), content_type=_STATIC_TYPES[name])

    async def execute(self, request: Request) -> Response:
        try:
            body = json.loads(request.body)
        except ValueError as err:
            return Response.text(f"{err}\n", 400)
        if not isinstance(body, dict):
            return Response.text("the request must be a JSON object\n", 400)
        mapping, input_text, metadata = body.get("mapping", ""), body.get("input", ""), body.get("metadata")
        if not isinstance(mapping, str) or not isinstance(input_text, str):
            return Response.text("mapping and input must be strings\n", 400)
        if metadata is not None and not isinstance(metadata, dict):
            return Response.text("metadata must be a JSON object\n", 400)
        self.files.update(mapping, input_text)
        line = json.dumps({"mapping": mapping, "input": input_text, "metadata": metadata}).encode()
        answer = await self.evaluator.execute(line)
        return Response.json(answer, content_type="application/json; charset=utf-8")


async def serve(args: argparse.Namespace, timeout: float) -> int:
    files = FileSync(args.mapping_file, args.input_file, args.write)
    evaluator = Evaluator(timeout)
    server = HTTPServer(args.host, args.port, max_body=MAX_REQUEST_BYTES)
    Playground(files, evaluator, args.host).install(server)
    await evaluator.start()
    await server.start()
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    url = f"http://{shown_host}:{server.port}/"
    print(f"Serving at: {url}", file=sys.stderr, flush=True)
    print(
        "WARNING: the playground is for your own machine: a mapping can read environment variables "
        "and files, so do not expose this server to a network.",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if not args.no_open:
        loop.run_in_executor(None, webbrowser.open, url)
    try:
        await stop.wait()
    finally:
        await server.close()
        await evaluator.close()
        files.write()
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        timeout = parse_duration(args.timeout)
    except ValueError as err:
        print(f"invalid --timeout: {err}", file=sys.stderr)
        return 1
    if timeout <= 0:
        print("invalid --timeout: it must be more than zero", file=sys.stderr)
        return 1
    try:
        return asyncio.run(serve(args, timeout))
    except FileNotFoundError as err:
        print(f"failed to read {err.filename}: {err.strerror}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"failed to serve on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    except RuntimeError as err:  # the evaluator child could not start
        print(f"failed to start: {err}", file=sys.stderr)
        return 1
