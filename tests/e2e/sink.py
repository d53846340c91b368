"""A recording OpenMeter-compatible sink for tests, with scriptable faults.

It runs ``pipeline.http.server.HTTPServer`` on 127.0.0.1 in a thread of its own, so a test (sync,
or running its own event loop) and a benthic subprocess can both talk to it. Every request is
recorded with what was answered; ``events()`` flattens the CloudEvents of the accepted ones.

    with RecordingSink() as sink:
        sink.fail_next(2, status=503)       # the next two requests get 503
        sink.fail_next(1, status=429, headers=[("Retry-After", "1")])
        sink.fail_next(1, delay=3.0)        # answer the next one after 3s (a slow sink)
        ... run something against sink.url ...
        sink.wait_for_events(10)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipeline.http.server import HTTPServer, Request, Response

EVENTS_PATH = "/v3/openmeter/events"


@dataclass
class Fault:
    status: int = 503
    body: bytes = b""
    delay: float = 0.0
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Recorded:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    status: int
    received_at: float

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status <= 299

    def events(self) -> list[Any]:
        value = orjson.loads(self.body)
        return value if isinstance(value, list) else [value]


_REASONS_BODY = {
    400: b'{"type":"about:blank","title":"Bad Request","status":400,"detail":"invalid event"}\n',
    429: b'{"title":"Too Many Requests","status":429}\n',
    503: b'{"title":"Service Unavailable","status":503}\n',
}


class RecordingSink:
    """An HTTP server recording every request; answers ``status`` unless a fault is scripted."""

    def __init__(self, path: str = EVENTS_PATH, status: int = 202, port: int = 0) -> None:
        self.path = path
        self.status = status
        self.port = port
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_concurrent = 0  # the most requests being answered at once
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: HTTPServer | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    # -- scripting ---------------------------------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        body: bytes | None = None,
        delay: float = 0.0,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status`` (after ``delay`` seconds)."""
        if body is None:
            body = _REASONS_BODY.get(status, b"")
        with self._lock:
            for _ in range(count):
                self._faults.append(Fault(status, body, delay, list(headers or [])))

    def slow_next(self, count: int, delay: float) -> None:
        """Answer the next ``count`` requests normally, but only after ``delay`` seconds."""
        self.fail_next(count, status=self.status, body=b"", delay=delay)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- what was received ---------------------------------------------------------------------------

    def accepted(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.accepted]

    def events(self) -> list[Any]:
        """Every CloudEvent of every accepted request, in arrival order."""
        return [event for r in self.accepted() for event in r.events()]

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def wait_for_events(self, count: int, timeout: float = 30.0) -> list[Any]:
        if not self.wait_for(
            lambda s: sum(len(r.events()) for r in s.requests if r.accepted) >= count, timeout
        ):
            raise AssertionError(
                f"sink received {len(self.events())} events, expected at least {count} within {timeout}s"
            )
        return self.events()

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> list[Recorded]:
        if not self.wait_for(lambda s: len(s.requests) >= count, timeout):
            raise AssertionError(
                f"sink received {len(self.requests)} requests, expected at least {count} within {timeout}s"
            )
        with self._lock:
            return list(self.requests)

    # -- serving -------------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            self.in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self.in_flight)
        status = fault.status if fault is not None else self.status
        # recorded on arrival, as a real sink ingests before it answers: a slow answer (and a client
        # that gives up on it and closes the connection) does not undo what was received
        with self._changed:
            self.requests.append(
                Recorded(request.method, request.path, request.headers, request.body, status, time.time())
            )
            self._changed.notify_all()
        try:
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        if fault is not None:
            return Response(
                status,
                fault.body,
                headers=fault.headers,
                content_type="application/problem+json" if fault.body else None,
            )
        return Response(status)

    def start(self) -> RecordingSink:
        self._thread = threading.Thread(target=self._run, name="recording-sink", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("recording sink did not start")
        return self

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._server = HTTPServer("127.0.0.1", self.port)
        self._server.route(self.path, self._handle)
        await self._server.start()
        self.port = self._server.port
        self._ready.set()
        await self._stop.wait()
        await self._server.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def __enter__(self) -> RecordingSink:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()
