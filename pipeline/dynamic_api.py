"""The REST API of the ``dynamic`` input and output: child components added, changed and removed
while the stream runs.

Upstream's ``dynamic`` components register, on the service-wide HTTP server and under their
``prefix``: ``GET /inputs`` (or ``/outputs``) describing every child with its uptime and config,
``GET /inputs/{id}`` returning one child's config, ``POST /inputs/{id}`` creating or replacing a
child from a YAML or JSON body, ``DELETE /inputs/{id}`` stopping and removing it, and
``GET /inputs/{id}/uptime``. This module is that API; the components supply how a child is
started and stopped. Where we differ: a POSTed config is linted first and refused with ``400``
and the lint messages when it has problems (upstream answers with its parse error).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import yaml

from pipeline.config.document import LoadedConfig
from pipeline.config.lint import Linter
from pipeline.http.server import HTTPServer, Request, Response


def go_duration(seconds: float) -> str:
    """A duration as Go prints one (``72h3m0.5s``)."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms" if seconds >= 0.001 else f"{seconds * 1e6:g}µs"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


def lint_child(kind: str, conf: Any) -> list[str]:
    """Lint messages for a child component config (``kind``: input or output)."""
    linter = Linter(LoadedConfig("body", {}))
    linter.lint_component(kind, conf, ())
    return [lint.message for lint in linter.lints if lint.level == "error"]


class DynamicAPI:
    """The endpoints for one ``dynamic`` component; ``start(id, conf)`` and ``stop(id)`` are the
    component's own (``start`` replaces a child of the same id)."""

    def __init__(
        self,
        server: HTTPServer,
        kind: str,
        prefix: str,
        start: Callable[[str, Any], Awaitable[None]],
        stop: Callable[[str], Awaitable[None]],
    ) -> None:
        self.kind = kind
        self.plural = f"{kind}s"
        self.start = start
        self.stop = stop
        self.configs: dict[str, Any] = {}
        self.started: dict[str, float] = {}
        base = f"{prefix.rstrip('/')}/{self.plural}"
        server.route(base, self._list, ("GET",))
        server.route_prefix(base + "/", self._one)
        self.base = base

    async def add(self, child_id: str, conf: Any) -> None:
        await self.start(child_id, conf)
        self.configs[child_id] = conf
        self.started[child_id] = time.monotonic()

    async def _list(self, _: Request) -> Response:
        now = time.monotonic()
        body = {
            child_id: {"uptime": go_duration(now - self.started[child_id]), "config": conf}
            for child_id, conf in sorted(self.configs.items())
        }
        return Response.json(orjson.dumps(body))

    async def _one(self, request: Request) -> Response:
        rest = request.path[len(self.base) + 1 :]
        child_id, _, tail = rest.partition("/")
        if not child_id or tail not in ("", "uptime"):
            return Response.text("404 page not found", 404)
        if tail == "uptime":
            if request.method != "GET":
                return Response.text("method not allowed", 405)
            if child_id not in self.started:
                return Response.text(f"{self.kind} {child_id} does not exist", 404)
            return Response.text(go_duration(time.monotonic() - self.started[child_id]))
        if request.method == "GET":
            if child_id not in self.configs:
                return Response.text(f"{self.kind} {child_id} does not exist", 404)
            return Response.json(orjson.dumps(self.configs[child_id]))
        if request.method == "POST":
            try:
                conf = yaml.safe_load(request.body.decode("utf-8"))
            except (UnicodeDecodeError, yaml.YAMLError) as err:
                return Response.text(f"failed to parse {self.kind} config: {err}", 400)
            problems = lint_child(self.kind, conf)
            if problems:
                return Response.text(f"invalid {self.kind} config: " + "; ".join(problems), 400)
            try:
                await self.add(child_id, conf)
            except Exception as err:
                return Response.text(f"failed to start {self.kind} {child_id}: {err}", 400)
            return Response(200)
        if request.method == "DELETE":
            if child_id not in self.configs:
                return Response.text(f"{self.kind} {child_id} does not exist", 404)
            await self.stop(child_id)
            del self.configs[child_id]
            del self.started[child_id]
            return Response(200)
        return Response.text("method not allowed", 405)
