"""A Kubernetes API test server for Leases, so that leader election runs without a cluster.

It serves ``coordination.k8s.io/v1`` Leases over real HTTP on 127.0.0.1 the way the API server
does for the calls a leader elector makes:

    GET    /apis/coordination.k8s.io/v1/namespaces/{ns}/leases            list
    POST   /apis/coordination.k8s.io/v1/namespaces/{ns}/leases            create (409 AlreadyExists)
    GET    /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}     read (404 NotFound)
    PUT    /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}     replace
    PATCH  /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}     merge patch
    DELETE /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}     delete

Every write bumps one global ``resourceVersion``; a PUT or PATCH naming an older one gets 409
Conflict, as optimistic concurrency requires (a PUT without one is unconditional, as Leases
allow). Errors are ``Status`` objects shaped like the API server's (``kind``, ``status``,
``message``, ``reason``, ``details``, ``code``). ``MicroTime`` fields are normalised to
microseconds with ``Z``. Merge patches (``application/merge-patch+json`` and, for these
types, the identical ``strategic-merge-patch+json``) follow RFC 7386; JSON patch gets 415.

``outage(seconds)`` (or ``POST /simulator/outage?seconds=N`` from another process) makes every
API request answer 503 ServiceUnavailable for that long. ``write_kubeconfig`` writes a
kubeconfig pointing at the server, for ``KUBECONFIG``.

Command line: ``benthic simulate kubernetes --port 0`` prints ``listening on http://127.0.0.1:PORT``;
with ``--kubeconfig PATH`` it also writes a kubeconfig there.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import re
import signal
import sys
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from pipeline.http.server import HTTPServer, Request, Response

GROUP = "coordination.k8s.io"
PREFIX = f"/apis/{GROUP}/v1/namespaces/"
_PATH = re.compile(r"^/apis/coordination\.k8s\.io/v1/namespaces/([a-z0-9.-]+)/leases(?:/([^/]+))?$")
_MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
_MICROTIME_FIELDS = ("acquireTime", "renewTime")
HISTORY = 1000  # versions of each lease kept for ``holders``


def status(code: int, reason: str, message: str, name: str | None = None) -> Response:
    """An API error as the API server sends it: a ``Status`` object."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if name is not None:
        body["details"] = {"name": name, "group": GROUP, "kind": "leases"}
    return Response.json(orjson.dumps(body), status=code)


def _microtime(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class LeaseAPIServer:
    """Leases in memory behind the Kubernetes REST paths; ``url`` once started."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.leases: dict[tuple[str, str], dict[str, Any]] = {}
        self.resource_version = 0
        self.unavailable_until = 0.0
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        # the last versions each lease was stored as, oldest first: who took it over from what
        self.history: dict[tuple[str, str], deque[dict[str, Any]]] = {}
        self._server = HTTPServer(host, port)
        self._server.route_prefix(PREFIX, self._handle)
        self._server.route("/simulator/outage", self._outage, ("POST",))

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    async def start(self) -> None:
        await self._server.start()

    async def close(self) -> None:
        await self._server.close()

    def outage(self, seconds: float) -> None:
        """Answer 503 to every API request for ``seconds`` from now."""
        self.unavailable_until = time.monotonic() + seconds

    def lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.leases.get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def holders(self, namespace: str, name: str) -> list[str]:
        """The ``holderIdentity`` of each stored version of a lease, oldest first (``""`` for a
        released one); a takeover after a release shows as ``""`` followed by the new holder, one
        after an expiry as the old holder followed by the new."""
        return [str(v["spec"].get("holderIdentity") or "") for v in self.history.get((namespace, name), ())]

    # -- requests -----------------------------------------------------------------------------------

    async def _outage(self, request: Request) -> Response:
        self.outage(float(request.query_value("seconds", "0") or 0))
        return Response.text("ok\n")

    async def _handle(self, request: Request) -> Response:
        response = self._answer(request)
        self.requests.append((request.method, request.path, response.status))
        return response

    def _answer(self, request: Request) -> Response:
        if time.monotonic() < self.unavailable_until:
            return status(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        found = _PATH.match(request.path)
        if found is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        namespace, name = found.group(1), found.group(2)
        try:
            if name is None:
                if request.method == "GET":
                    return self._list(namespace)
                if request.method == "POST":
                    return self._create(namespace, orjson.loads(request.body or b"null"))
            else:
                if request.method == "GET":
                    return self._read(namespace, name)
                if request.method == "PUT":
                    return self._replace(namespace, name, orjson.loads(request.body or b"null"))
                if request.method == "PATCH":
                    return self._patch(namespace, name, request)
                if request.method == "DELETE":
                    return self._delete(namespace, name)
        except orjson.JSONDecodeError as err:
            return status(400, "BadRequest", f"the body of the request was in an unknown format: {err}")
        return status(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )

    def _list(self, namespace: str) -> Response:
        items = [lease for (ns, _), lease in sorted(self.leases.items()) if ns == namespace]
        body = {
            "kind": "LeaseList",
            "apiVersion": f"{GROUP}/v1",
            "metadata": {"resourceVersion": str(self.resource_version)},
            "items": items,
        }
        return Response.json(orjson.dumps(body))

    def _read(self, namespace: str, name: str) -> Response:
        lease = self.leases.get((namespace, name))
        if lease is None:
            return _not_found(name)
        return Response.json(orjson.dumps(lease))

    def _create(self, namespace: str, body: Any) -> Response:
        problem = _invalid(body, namespace)
        if problem is not None:
            return problem
        name = body["metadata"]["name"]
        if (namespace, name) in self.leases:
            return status(409, "AlreadyExists", f'leases.{GROUP} "{name}" already exists', name)
        if body["metadata"].get("resourceVersion"):
            return status(500, "InternalError", "resourceVersion should not be set on objects to be created")
        lease = self._store(namespace, name, body, created=None)
        return Response.json(orjson.dumps(lease), status=201)

    def _replace(self, namespace: str, name: str, body: Any) -> Response:
        problem = _invalid(body, namespace)
        if problem is not None:
            return problem
        if body["metadata"]["name"] != name:
            return status(400, "BadRequest", "the name of the object does not match the name on the URL")
        current = self.leases.get((namespace, name))
        if current is None:
            return _not_found(name)
        wanted = body["metadata"].get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            return _conflict(name)
        lease = self._store(namespace, name, body, created=current)
        return Response.json(orjson.dumps(lease))

    def _patch(self, namespace: str, name: str, request: Request) -> Response:
        kind = (request.header("content-type") or "").split(";")[0].strip()
        if kind not in _MERGE_TYPES:
            return status(
                415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {kind}"
            )
        current = self.leases.get((namespace, name))
        if current is None:
            return _not_found(name)
        patch = orjson.loads(request.body or b"null")
        if not isinstance(patch, dict):
            return status(400, "BadRequest", "a merge patch must be a JSON object")
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            return _conflict(name)
        merged = merge_patch(current, patch)
        problem = _invalid(merged, namespace)
        if problem is not None:
            return problem
        lease = self._store(namespace, name, merged, created=current)
        return Response.json(orjson.dumps(lease))

    def _delete(self, namespace: str, name: str) -> Response:
        lease = self.leases.pop((namespace, name), None)
        if lease is None:
            return _not_found(name)
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": GROUP, "kind": "leases", "uid": lease["metadata"]["uid"]},
        }
        return Response.json(orjson.dumps(body))

    def _store(
        self, namespace: str, name: str, body: dict[str, Any], created: dict[str, Any] | None
    ) -> dict[str, Any]:
        self.resource_version += 1
        metadata = dict(body.get("metadata") or {})
        # what the server owns, whatever the client sent
        metadata.update(
            name=name,
            namespace=namespace,
            resourceVersion=str(self.resource_version),
            uid=created["metadata"]["uid"] if created else str(uuid.uuid4()),
            creationTimestamp=created["metadata"]["creationTimestamp"]
            if created
            else datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        metadata = {k: v for k, v in metadata.items() if v is not None}
        spec = {k: v for k, v in (body.get("spec") or {}).items() if v is not None}
        for key in _MICROTIME_FIELDS:
            if key in spec:
                spec[key] = _microtime(spec[key])
        lease = {"kind": "Lease", "apiVersion": f"{GROUP}/v1", "metadata": metadata, "spec": spec}
        self.leases[(namespace, name)] = lease
        self.history.setdefault((namespace, name), deque(maxlen=HISTORY)).append(copy.deepcopy(lease))
        return copy.deepcopy(lease)


def _not_found(name: str) -> Response:
    return status(404, "NotFound", f'leases.{GROUP} "{name}" not found', name)


def _conflict(name: str) -> Response:
    return status(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on leases.{GROUP} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        name,
    )


def _invalid(body: Any, namespace: str) -> Response | None:
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        return status(400, "BadRequest", "the body must be a Lease object with metadata")
    name = body["metadata"].get("name")
    if not name or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", str(name)):
        return status(422, "Invalid", f'Lease.{GROUP} "{name}" is invalid: metadata.name: Invalid value')
    given = body["metadata"].get("namespace")
    if given and given != namespace:
        return status(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    spec = body.get("spec")
    if spec is not None and not isinstance(spec, dict):
        return status(400, "BadRequest", "spec must be an object")
    duration = (spec or {}).get("leaseDurationSeconds")
    if duration is not None and (not isinstance(duration, int) or duration <= 0):
        return status(
            422,
            "Invalid",
            f'Lease.{GROUP} "{name}" is invalid: spec.leaseDurationSeconds: must be greater than 0',
        )
    return None


def write_kubeconfig(path: str | Path, url: str, namespace: str = "default") -> None:
    """A kubeconfig whose current context reaches ``url`` with a bearer token."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "lease-api", "cluster": {"server": url}}],
        "users": [{"name": "tester", "user": {"token": "test-token"}}],
        "contexts": [
            {
                "name": "lease-api",
                "context": {"cluster": "lease-api", "user": "tester", "namespace": namespace},
            }
        ],
        "current-context": "lease-api",
    }
    Path(path).write_text(yaml.safe_dump(config), encoding="utf-8")


def main(argv: list[str]) -> int:
    """``benthic simulate kubernetes [--port N] [--kubeconfig PATH]``: serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="benthic simulate kubernetes", description="Serve a Lease API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for this server here")
    args = parser.parse_args(argv)

    async def serve() -> None:
        server = LeaseAPIServer(args.host, args.port)
        await server.start()
        if args.kubeconfig:
            write_kubeconfig(args.kubeconfig, server.url)
        print(f"listening on {server.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.close()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
