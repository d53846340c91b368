"""The simulated Run:ai API over real HTTP on 127.0.0.1, with fault injection.

It serves the part of the Run:ai REST API the ``run_ai`` input uses: ``POST /api/v1/token``
(expiring HS256 JWTs, 401 on bad credentials), workload and pod listings with
``limit``/``offset``/``next`` pagination and ``filterBy``, and both metrics endpoints (metric types
validated, at most 9 per request). Every other request needs a valid, unexpired bearer token.

Faults are injected by rate (5xx, 429 with ``Retry-After``, latency, token failures), scripted
one by one with ``fail_next``, or set on the listing with ``paging_fault`` (``stuck``: the offset
is ignored and ``next`` never ends; ``endless``: new never-running resources follow the real
ones on every page). Tests corrupt a resource's fields by editing ``fleet`` directly.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from benthic.simulators.run_ai.fleet import generate_fleet
from benthic.simulators.run_ai.values import gpu_count, metric_value
from inputs.run_ai.client import MAX_METRIC_TYPES_PER_REQUEST, POD_METRICS, WORKLOAD_METRICS
from pipeline.http.server import HTTPServer, Request, Response

DEFAULT_APP_ID = "simulated-app"
DEFAULT_APP_SECRET = "simulated-secret"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
PAGING_FAULTS = ("stuck", "endless")

# Run:ai's workload metric types (the 12 the collector defaults to, plus the NIM ones).
VALID_WORKLOAD_METRICS = frozenset(WORKLOAD_METRICS) | {
    "NIM_NUM_REQUESTS_RUNNING",
    "NIM_NUM_REQUESTS_WAITING",
    "NIM_NUM_REQUEST_MAX",
    "NIM_REQUEST_SUCCESS_TOTAL",
    "NIM_REQUEST_FAILURE_TOTAL",
    "NIM_GPU_CACHE_USAGE_PERC",
    "NIM_TIME_TO_FIRST_TOKEN_SECONDS",
    "NIM_E2E_REQUEST_LATENCY_SECONDS",
}
VALID_POD_METRICS = frozenset(POD_METRICS)
_FILTER_TERM = re.compile(r"^([A-Za-z][A-Za-z0-9_.]*)(==|!=|=@|!@|=\^|=\$|<=|>=)(.*)$")


# -- tokens ------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class RequestRecord:
    """One request the simulator answered (what tests inspect)."""

    endpoint: str  # token | list_workloads | list_pods | workload_metrics | pod_metrics | unknown
    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    status: int
    authorization: str | None
    body: bytes = b""


@dataclass
class _ScriptedFailure:
    status: int
    retry_after: str | None
    body: bytes


@dataclass
class _Faults:
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    latency_ms: float = 0.0
    token_failure_rate: float = 0.0
    retry_after: float = 1.0
    scripted: dict[str, deque[_ScriptedFailure]] = field(default_factory=dict)


class RunAISimulator:
    """The simulated Run:ai API. ``await start()`` binds it (``port=0``: an ephemeral port) and
    ``url`` says where; ``fleet`` holds what it serves; ``records`` and ``requests`` count what it
    was asked."""

    def __init__(
        self,
        *,
        workloads: int = 20,
        pods_per_workload: int = 2,
        seed: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        token_ttl: float = 3600.0,
        error_rate: float = 0.0,
        rate_limit_rate: float = 0.0,
        latency_ms: float = 0.0,
        token_failure_rate: float = 0.0,
        retry_after: float = 1.0,
        keep_records: bool = True,
        ssl: Any = None,
        paging_fault: str | None = None,
    ) -> None:
        if paging_fault is not None and paging_fault not in PAGING_FAULTS:
            raise ValueError(f"paging_fault must be one of {', '.join(PAGING_FAULTS)}")
        self.fleet = generate_fleet(workloads, pods_per_workload, seed)
        self.app_id = app_id
        self.app_secret = app_secret
        self.token_ttl = token_ttl
        self.faults = _Faults(error_rate, rate_limit_rate, latency_ms, token_failure_rate, retry_after)
        self.keep_records = keep_records
        self.records: list[RequestRecord] = []
        self.requests: Counter[str] = Counter()
        # listing fault: "stuck" (the offset is ignored: the first page, with a non-zero next,
        # forever) or "endless" (never-running filler after the real items, pages never end)
        self.paging_fault: str | None = paging_fault
        # value overrides for tests: (resource id, metric type) -> value string, or None for no samples
        self.overrides: dict[tuple[str, str], str | None] = {}
        self._rng = random.Random(seed ^ 0x5EED)
        self._signing_key = hashlib.sha256(f"run-ai-simulator-{seed}".encode()).digest()
        self._revoked_before = 0.0
        self._token_serial = 0
        self._scheme = "https" if ssl is not None else "http"
        self._server = HTTPServer(host, port, ssl=ssl)
        self._server.route("/api/v1/token", self._token, ("POST",))
        self._server.route("/api/v1/workloads", self._list_workloads, ("GET",))
        self._server.route("/api/v1/workloads/pods", self._list_pods, ("GET",))
        self._server.route_prefix("/api/v1/workloads/", self._metrics)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._server.start()

    async def close(self) -> None:
        await self._server.close()

    async def __aenter__(self) -> RunAISimulator:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self._server.host}:{self._server.port}"

    @property
    def port(self) -> int:
        return self._server.port

    # -- test controls -----------------------------------------------------------------------------

    def fail_next(
        self, endpoint: str, *statuses: int, retry_after: float | None = None, body: bytes = b""
    ) -> None:
        """Answer the next requests to ``endpoint`` (or ``*`` for any) with these statuses, in order."""
        queue = self.faults.scripted.setdefault(endpoint, deque())
        for status in statuses:
            text = body or orjson.dumps({"code": status, "message": f"simulated failure {status}"})
            queue.append(
                _ScriptedFailure(status, None if retry_after is None else _fmt_seconds(retry_after), text)
            )

    def revoke_tokens(self) -> None:
        """Invalidate every token issued so far: their next use gets a 401."""
        self._revoked_before = time.time() + 1e-6
        self._token_serial += 1

    def records_for(self, endpoint: str) -> list[RequestRecord]:
        return [r for r in self.records if r.endpoint == endpoint]

    # -- plumbing ----------------------------------------------------------------------------------

    async def _answer(self, endpoint: str, request: Request, build: Any, *, authed: bool = True) -> Response:
        self.requests[endpoint] += 1
        if self.faults.latency_ms > 0:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        response = self._fault(endpoint)
        if response is None and authed:
            response = self._check_token(request)
        if response is None:
            try:
                response = build(request)
            except _APIError as err:
                response = _problem(err.status, err.message)
        if self.keep_records:
            self.records.append(
                RequestRecord(
                    endpoint,
                    request.method,
                    request.path,
                    dict(request.query),
                    request.target.partition("?")[2],
                    response.status,
                    request.header("authorization"),
                    request.body,
                )
            )
        return response

    def _fault(self, endpoint: str) -> Response | None:
        for key in (endpoint, "*"):
            queue = self.faults.scripted.get(key)
            if queue:
                failure = queue.popleft()
                headers = [("Retry-After", failure.retry_after)] if failure.retry_after is not None else []
                return Response(failure.status, failure.body, headers, "application/json")
        faults = self.faults
        if endpoint == "token":
            if faults.token_failure_rate and self._rng.random() < faults.token_failure_rate:
                return _problem(503, "token service unavailable")
            return None
        if faults.rate_limit_rate and self._rng.random() < faults.rate_limit_rate:
            response = _problem(429, "too many requests")
            response.headers.append(("Retry-After", _fmt_seconds(faults.retry_after)))
            return response
        if faults.error_rate and self._rng.random() < faults.error_rate:
            status = self._rng.choice((500, 503))
            return _problem(status, "simulated server error")
        return None

    def _issue_token(self) -> str:
        now = time.time()
        self._token_serial += 1
        header = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
        claims = {"sub": self.app_id, "iat": now, "exp": now + self.token_ttl, "jti": str(self._token_serial)}
        payload = _b64(orjson.dumps(claims))
        signature = _b64(hmac.new(self._signing_key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

    def _check_token(self, request: Request) -> Response | None:
        auth = request.header("authorization") or ""
        if not auth.startswith("Bearer "):
            return _problem(401, "missing bearer token")
        token = auth[len("Bearer ") :]
        parts = token.split(".")
        if len(parts) != 3:
            return _problem(401, "malformed token")
        expected = _b64(
            hmac.new(self._signing_key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        )
        if not hmac.compare_digest(expected, parts[2]):
            return _problem(401, "invalid token signature")
        claims = orjson.loads(_unb64(parts[1]))
        if claims.get("exp", 0) <= time.time():
            return _problem(401, "token expired")
        if claims.get("iat", 0) < self._revoked_before:
            return _problem(401, "token revoked")
        return None

    # -- endpoints ---------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        return await self._answer("token", request, self._token_response, authed=False)

    def _token_response(self, request: Request) -> Response:
        try:
            body = orjson.loads(request.body)
        except ValueError:
            raise _APIError(400, "request body is not JSON") from None
        if not isinstance(body, dict):
            raise _APIError(400, "request body must be an object")
        # Run:ai matches keys case-insensitively (OpenMeter sends AppId/AppSecret)
        folded = {str(k).lower(): v for k, v in body.items()}
        grant = folded.get("granttype")
        if grant not in ("app_token", "client_credentials"):
            raise _APIError(400, f"unsupported grantType {grant!r}")
        app_id = folded.get("appid", folded.get("clientid"))
        secret = folded.get("appsecret", folded.get("clientsecret"))
        if app_id != self.app_id or secret != self.app_secret:
            raise _APIError(401, "invalid application credentials")
        token = self._issue_token()
        return Response.json(
            orjson.dumps({"accessToken": token, "idToken": "", "refreshToken": "", "externalToken": ""})
        )

    async def _list_workloads(self, request: Request) -> Response:
        return await self._answer(
            "list_workloads", request, lambda r: self._page(r, "workloads", self.fleet.workloads, lambda w: w)
        )

    async def _list_pods(self, request: Request) -> Response:
        def listed(request: Request) -> Response:
            pods = self.fleet.pods
            if (request.query_value("completed") or "").lower() == "false":
                pods = self.fleet.active_pods()
            full = request.query_value("verbosity") == "full"
            hidden = () if full else ("workloadName", "projectName")
            return self._page(
                request, "pods", pods, lambda p: {k: v for k, v in p.items() if k not in hidden}
            )

        return await self._answer("list_pods", request, listed)

    def _page(self, request: Request, key: str, items: list[dict[str, Any]], shape: Any) -> Response:
        limit = _int_param(request, "limit", DEFAULT_PAGE_SIZE)
        offset = _int_param(request, "offset", 0)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise _APIError(400, f"limit must be between 1 and {MAX_PAGE_SIZE}")
        if offset < 0:
            raise _APIError(400, "offset must not be negative")
        for term in _filter_terms(request.query_value("filterBy")):
            items = [item for item in items if _matches(item, term)]
        if self.paging_fault == "stuck":
            offset = 0  # the API ignores the offset and always answers the first page
        page = items[offset : offset + limit]
        if self.paging_fault == "endless" and len(page) < limit:
            # filler that never runs, after the real items, so that pages never run out
            page = page + [
                _filler(key, i) for i in range(max(offset, len(items)), offset + limit - len(page))
            ]
        body: dict[str, Any] = {key: [shape(item) for item in page], "totalCount": len(items)}
        if offset + len(page) < len(items) or self.paging_fault in PAGING_FAULTS:
            body["next"] = offset + len(page)
        return Response.json(orjson.dumps(body))

    async def _metrics(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        # api/v1/workloads/{id}/metrics or api/v1/workloads/{id}/pods/{pod}/metrics
        if len(parts) == 5 and parts[4] == "metrics":
            return await self._answer(
                "workload_metrics", request, lambda r: self._workload_metrics(r, parts[3])
            )
        if len(parts) == 7 and parts[4] == "pods" and parts[6] == "metrics":
            return await self._answer(
                "pod_metrics", request, lambda r: self._pod_metrics(r, parts[3], parts[5])
            )
        return await self._answer(
            "unknown", request, lambda r: _problem(404, "no such endpoint"), authed=False
        )

    def _workload_metrics(self, request: Request, workload_id: str) -> Response:
        workload = self.fleet.workload(workload_id)
        if workload is None:
            raise _APIError(404, f"workload {workload_id} not found")
        return self._measurements(request, workload, VALID_WORKLOAD_METRICS)

    def _pod_metrics(self, request: Request, workload_id: str, pod_id: str) -> Response:
        pod = self.fleet.pod(pod_id)
        if pod is None or pod["workloadId"] != workload_id:
            raise _APIError(404, f"pod {pod_id} of workload {workload_id} not found")
        return self._measurements(request, pod, VALID_POD_METRICS)

    def _measurements(self, request: Request, resource: dict[str, Any], valid: frozenset[str]) -> Response:
        raw_types = request.query_value("metricType")
        if not raw_types:
            raise _APIError(400, "metricType is required")
        types = raw_types.split(",")
        if len(types) > MAX_METRIC_TYPES_PER_REQUEST:
            raise _APIError(
                400,
                f"metricType: at most {MAX_METRIC_TYPES_PER_REQUEST} metric types per request, got {len(types)}",
            )
        for metric_type in types:
            if metric_type not in valid:
                raise _APIError(400, f"metricType: invalid value {metric_type!r}")
        start = _time_param(request, "start")
        end = _time_param(request, "end")
        if start > end:
            raise _APIError(400, "start must not be after end")
        samples = _int_param(request, "numberOfSamples", 20)
        if not 1 <= samples <= 1000:
            raise _APIError(400, "numberOfSamples must be between 1 and 1000")
        if samples == 1:
            times = [end]
        else:
            step = (end - start) / (samples - 1)
            times = [start + step * k for k in range(samples)]
        measurements = []
        for metric_type in types:
            gpus: list[int | None] = (
                list(range(gpu_count(resource))) if metric_type.endswith("_PER_GPU") else [None]
            )
            for gpu in gpus:
                override_key = (resource["id"], metric_type)
                if override_key in self.overrides:
                    forced = self.overrides[override_key]
                    values = [] if forced is None else [{"value": forced, "timestamp": _rfc3339(times[-1])}]
                else:
                    values = [
                        {
                            "value": _fmt_value(metric_value(resource, metric_type, at, gpu)),
                            "timestamp": _rfc3339(at),
                        }
                        for at in times
                    ]
                labels = None if gpu is None else {"gpu": str(gpu)}
                measurements.append({"type": metric_type, "labels": labels, "values": values})
        return Response.json(orjson.dumps({"measurements": measurements}))


class _APIError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _filler(key: str, index: int) -> dict[str, Any]:
    """A resource of the ``endless`` paging fault: new on every page, never running."""
    if key == "pods":
        return {"id": f"filler-pod-{index}", "workloadId": f"filler-{index}", "k8sPhase": "Succeeded"}
    return {"id": f"filler-{index}", "name": f"filler-{index}", "phase": "Running", "runningPods": 0}


def _problem(status: int, message: str) -> Response:
    return Response.json(orjson.dumps({"code": status, "message": message}), status)


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_value(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise _APIError(400, f"{name} must be an integer") from None


def _time_param(request: Request, name: str) -> datetime:
    value = request.query_value(name)
    if not value:
        raise _APIError(400, f"{name} is required")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise _APIError(400, f"{name} must be an RFC 3339 date-time") from None


def _filter_terms(value: str | None) -> list[tuple[str, str, str]]:
    if not value:
        return []
    terms = []
    for part in value.split(","):
        match = _FILTER_TERM.match(part.strip())
        if match is None:
            raise _APIError(400, f"filterBy: invalid term {part!r}")
        terms.append((match.group(1), match.group(2), match.group(3)))
    return terms


def _matches(item: dict[str, Any], term: tuple[str, str, str]) -> bool:
    name, op, wanted = term
    if name not in item:
        raise _APIError(400, f"filterBy: unknown field {name!r}")
    value = item[name]
    text = "" if value is None else str(value)
    if op == "==":
        return text == wanted
    if op == "!=":
        return text != wanted
    if op == "=@":
        return wanted in text
    if op == "!@":
        return wanted not in text
    if op == "=^":
        return text.startswith(wanted)
    if op == "=$":
        return text.endswith(wanted)
    try:
        number, bound = float(text), float(wanted)
    except ValueError:
        return text <= wanted if op == "<=" else text >= wanted
    return number <= bound if op == "<=" else number >= bound


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt_value(value: float) -> str:
    """A sample value as Run:ai writes it: whole numbers without a fraction ("8", "68719476736")."""
    return str(int(value)) if value.is_integer() else repr(value)


def _fmt_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)
