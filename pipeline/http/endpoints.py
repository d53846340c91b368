"""The service's own HTTP endpoints: ``/ping``, ``/ready``, ``/version``, ``/endpoints`` and
``/metrics`` (also as ``/stats``), each also served under ``http.root_path``.

Upstream registers the same paths on its shared HTTP server; the ``/ready`` answer carries the
connection status of each input and output in the same JSON shape. The debugging endpoints
(the running config and a stack dump) live in ``pipeline.http.access``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from pipeline.http.server import HTTPServer, Request, Response
from pipeline.metrics import Metrics
from pipeline.version import BUILT, VERSION


class ServiceAPI:
    """``/ping``, ``/ready``, ``/version``, ``/endpoints``, ``/metrics`` (and ``/stats``), each also
    under ``root_path``. ``readiness`` returns the connection statuses of inputs and outputs."""

    def __init__(
        self,
        server: HTTPServer,
        metrics: Metrics,
        readiness: Callable[[], list[dict[str, Any]]],
        *,
        root_path: str = "/benthos",
        serve_metrics: bool = True,
        terminated: Callable[[], bool] = lambda: False,
    ) -> None:
        self.server = server
        self.metrics = metrics
        self.readiness = readiness
        self.terminated = terminated
        endpoints = {
            "/ping": (self._ping, "Answers pong."),
            "/ready": (
                self._ready,
                "200 OK when every input and output is connected, 503 otherwise.",
            ),
            "/version": (self._version, "The version and build time of this binary."),
            "/endpoints": (self._endpoints, "Lists these endpoints."),
        }
        if serve_metrics and metrics.exposition == "json":
            endpoints["/metrics"] = (self._metrics, "Every metric, as one JSON object (json_api).")
            endpoints["/stats"] = (self._metrics, "Every metric, as one JSON object (json_api).")
        elif serve_metrics:
            endpoints["/metrics"] = (self._metrics, "Every metric, in Prometheus' text format.")
            endpoints["/stats"] = (self._metrics, "Every metric, in Prometheus' text format.")
        self.descriptions = {path: desc for path, (_, desc) in endpoints.items()}
        for path, (handler, _) in endpoints.items():
            server.route(path, handler, ("GET",))
            if root_path:
                server.route(root_path.rstrip("/") + path, handler, ("GET",))

    async def _ping(self, _: Request) -> Response:
        return Response.text("pong")

    async def _ready(self, _: Request) -> Response:
        if self.terminated():
            return Response.json(orjson.dumps({"error": "stream terminated", "statuses": []}), 503)
        statuses = self.readiness()
        ready = bool(statuses) and all(s.get("connected") for s in statuses)
        body = orjson.dumps({"statuses": statuses})
        return Response.json(body, 200 if ready else 503)

    async def _version(self, _: Request) -> Response:
        return Response.json(f'{{"version":"{VERSION}", "built":"{BUILT}"}}'.encode())

    async def _endpoints(self, _: Request) -> Response:
        return Response.json(orjson.dumps(self.descriptions, option=orjson.OPT_SORT_KEYS))

    async def _metrics(self, _: Request) -> Response:
        if self.metrics.exposition == "json":
            return Response.json(self.metrics.json_body())
        return Response(
            200,
            self.metrics.prometheus_text().encode(),
            content_type="text/plain; version=0.0.4; charset=utf-8",
        )
