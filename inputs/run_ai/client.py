"""The Run:ai REST client of the ``run_ai`` input: token, listing, metrics.

On the wire it is OpenMeter's plugin: the same token request, list queries, 9-type metric chunks
and time formats. What differs is how it copes: the token is refreshed once for all concurrent
requests (and shortly before it expires), a 401 refreshes it and repeats the request once,
transport errors, 429 and 5xx are retried with jittered exponential backoff that honours
``Retry-After``, pages advance by the raw page length, metric requests run concurrently (bounded),
non-finite values are dropped with a warning, and a window's scrape (:class:`WindowScrape`) keeps
what it fetched so that a retry asks only for the failed requests and a resource becomes an event
only when all its metrics arrived. The token request goes through the shared client
(``pipeline.http.client``); GETs (listing and metrics, thousands per scrape) go through the lean
kept-alive client (``pipeline.http.keepalive``) unless a proxy applies, which cut the collector's
CPU per metric request to about a quarter (``bench/run_ai_scrape.py``). Errors name the request path, the status, the resource and a short
body; the app secret, bearer tokens and URL credentials never appear in them.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import orjson

from inputs.run_ai.resources import decode_problem, pod_body, resource_ids, running_pods, workload_body
from inputs.run_ai.schedule import Window, rfc3339_nano, rfc3339_seconds
from pipeline.errors import NoResponseError
from pipeline.http.client import (
    HTTPClient,
    body_excerpt,
    build_request,
    jittered_backoff,
    retry_after_seconds,
)
from pipeline.http.keepalive import KeepAliveError, KeepAlivePool, Reply, usable_for
from pipeline.logs import Logger
from pipeline.redact import redact_text, redact_url
from pipeline.resources import ComponentMetrics

TOKEN_PATH = "/api/v1/token"
WORKLOADS_PATH = "/api/v1/workloads"
PODS_PATH = "/api/v1/workloads/pods"

WORKLOAD_METRICS = (
    "CPU_LIMIT_CORES",
    "CPU_MEMORY_LIMIT_BYTES",
    "CPU_MEMORY_REQUEST_BYTES",
    "CPU_MEMORY_USAGE_BYTES",
    "CPU_REQUEST_CORES",
    "CPU_USAGE_CORES",
    "GPU_ALLOCATION",
    "GPU_MEMORY_REQUEST_BYTES",
    "GPU_MEMORY_USAGE_BYTES",
    "GPU_UTILIZATION",
    "POD_COUNT",
    "RUNNING_POD_COUNT",
)
POD_METRICS = (
    "CPU_MEMORY_USAGE_BYTES",
    "CPU_USAGE_CORES",
    "GPU_FP16_ENGINE_ACTIVITY_PER_GPU",
    "GPU_FP32_ENGINE_ACTIVITY_PER_GPU",
    "GPU_FP64_ENGINE_ACTIVITY_PER_GPU",
    "GPU_GRAPHICS_ENGINE_ACTIVITY_PER_GPU",
    "GPU_MEMORY_BANDWIDTH_UTILIZATION_PER_GPU",
    "GPU_MEMORY_USAGE_BYTES",
    "GPU_MEMORY_USAGE_BYTES_PER_GPU",
    "GPU_NVLINK_RECEIVED_BANDWIDTH_PER_GPU",
    "GPU_NVLINK_TRANSMITTED_BANDWIDTH_PER_GPU",
    "GPU_PCIE_RECEIVED_BANDWIDTH_PER_GPU",
    "GPU_PCIE_TRANSMITTED_BANDWIDTH_PER_GPU",
    "GPU_SM_ACTIVITY_PER_GPU",
    "GPU_SM_OCCUPANCY_PER_GPU",
    "GPU_SWAP_MEMORY_BYTES_PER_GPU",
    "GPU_TENSOR_ACTIVITY_PER_GPU",
    "GPU_UTILIZATION",
    "GPU_UTILIZATION_PER_GPU",
)
WORKLOAD_ONLY_METRICS = frozenset(WORKLOAD_METRICS) - frozenset(POD_METRICS)

# Phases OpenMeter excludes server-side; workloads in any other phase are listed.
EXCLUDED_WORKLOAD_PHASES = (
    "Creating",
    "Initializing",
    "Resuming",
    "Pending",
    "Updating",
    "Stopped",
    "Stopping",
    "Failed",
    "Completed",
    "Terminating",
    "Unknown",
)
WORKLOAD_FILTER = ",".join(f"phase!={phase}" for phase in EXCLUDED_WORKLOAD_PHASES)

# Run:ai rejects requests with more metric types than this (undocumented; OpenMeter uses 9).
MAX_METRIC_TYPES_PER_REQUEST = 9
# A token is renewed this long before it expires (at most a tenth of its lifetime).
TOKEN_RENEW_MARGIN = 30.0
# A listing that has not ended after this many pages is abandoned with an error (at 500 per page,
# a million resources; Run:ai tenants list far fewer).
MAX_LIST_PAGES = 2000
# Connections per httpx client (see RunAIClient.__init__).
POOL_SHARD_SIZE = 8

_PATH_LABELS = (
    (
        re.compile(r"^/api/v1/workloads/[^/]+/pods/[^/]+/metrics$"),
        "/api/v1/workloads/:workloadID/pods/:podID/metrics",
    ),
    (re.compile(r"^/api/v1/workloads/pods$"), PODS_PATH),
    (re.compile(r"^/api/v1/workloads/[^/]+/metrics$"), "/api/v1/workloads/:workloadID/metrics"),
)


@dataclass(frozen=True)
class HTTPSettings:
    timeout: float = 30.0
    retry_count: int = 1
    retry_wait_time: float = 0.1
    retry_max_wait_time: float = 1.0


class RunAIError(Exception):
    """A Run:ai request that failed: says what was asked, about which resource, and what came back."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass
class Resource:
    """One listed workload or pod: its raw Run:ai object and the ids its metrics path needs."""

    raw: dict[str, Any]
    id: str
    workload_id: str  # the workload itself, or the pod's workload


def metric_chunks(metric_types: Sequence[str], size: int = MAX_METRIC_TYPES_PER_REQUEST) -> list[list[str]]:
    """The metric list split into request-sized chunks, in order (12 → 9 + 3)."""
    return [list(metric_types[i : i + size]) for i in range(0, len(metric_types), size)]


def encode_query(params: dict[str, str]) -> str:
    """Go's ``url.Values.Encode``: keys sorted, values query-escaped (``!``, ``=``, ``,`` and ``:``
    become %21, %3D, %2C and %3A)."""
    return "&".join(f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}" for k, v in sorted(params.items()))


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (unverified), or None when it has none or cannot be read."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
        exp = claims.get("exp")
    except (ValueError, AttributeError):
        return None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


def _path_label(path: str) -> str:
    for pattern, label in _PATH_LABELS:
        if pattern.match(path):
            return label
    return path


class RunAIClient:
    def __init__(
        self,
        url: str,
        app_id: str,
        app_secret: str,
        *,
        http: HTTPSettings,
        logger: Logger,
        metrics: ComponentMetrics,
        max_concurrency: int = 16,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.base_url = url.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self.http = http
        self.logger = logger
        self.metrics = metrics
        self.max_concurrency = max(1, max_concurrency)
        # httpcore scans every pooled connection on each request, so one pool with many
        # connections costs more CPU than several small pools: metric requests are spread over
        # ceil(max_concurrency / POOL_SHARD_SIZE) clients.
        shards = -(-self.max_concurrency // POOL_SHARD_SIZE)
        per_shard = min(self.max_concurrency, POOL_SHARD_SIZE) + 1
        self._clients = [
            HTTPClient(
                verify=verify,
                timeout=http.timeout,
                follow_redirects=False,
                max_connections=per_shard,
                max_keepalive_connections=per_shard,
            )
            for _ in range(shards)
        ]
        self._verify = verify
        # metric requests (GETs) go through a lean kept-alive pool unless a proxy applies
        self._keepalive: KeepAlivePool | None = None
        self._keepalive_url = ""
        self._user_agent = self._clients[0].client.headers.get("user-agent", "")
        self._token: str | None = None
        self._token_renew_at = 0.0
        self._token_lock = asyncio.Lock()
        self._metric_queries: dict[tuple[Any, ...], str] = {}
        self.token_fetches = 0

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()
        if self._keepalive is not None:
            self._keepalive.close()

    def _keepalive_pool(self) -> KeepAlivePool | None:
        """The kept-alive pool for ``base_url`` (made again when the URL changes), or None when a
        proxy applies."""
        if self._keepalive_url != self.base_url:
            if self._keepalive is not None:
                self._keepalive.close()
            self._keepalive_url = self.base_url
            self._keepalive = (
                KeepAlivePool(self.base_url, verify=self._verify, timeout=self.http.timeout)
                if usable_for(self.base_url)
                else None
            )
        return self._keepalive

    # -- token ------------------------------------------------------------------------------------

    async def bearer_token(self) -> str:
        """The cached token, fetched (once, for every concurrent caller) when missing or near expiry."""
        token = self._token
        if token is not None and time.time() < self._token_renew_at:
            return token
        async with self._token_lock:
            if self._token is not None and time.time() < self._token_renew_at:
                return self._token
            self._token = None
            token = await self._fetch_token()
            now = time.time()
            exp = token_expiry(token)
            if exp is None:
                # no readable expiry: keep it until Run:ai answers 401
                self._token_renew_at = math.inf
            else:
                margin = min(TOKEN_RENEW_MARGIN, max(0.0, exp - now) / 10)
                self._token_renew_at = exp - margin
            self._token = token
            return token

    def forget_token(self, token: str) -> None:
        """Drop the cached token after a 401, unless another request already replaced it."""
        if self._token == token:
            self._token = None

    async def _fetch_token(self) -> str:
        # the key casing is OpenMeter's (AppId/AppSecret); Run:ai accepts it
        body = orjson.dumps({"grantType": "app_token", "AppId": self._app_id, "AppSecret": self._app_secret})
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        response = await self._send("POST", TOKEN_PATH, "", headers=headers, content=body, about="token")
        if response.status_code != 200:
            raise RunAIError(
                f"failed to refresh token: POST {TOKEN_PATH}: status {response.status_code}: {self._excerpt(response)}",
                status=response.status_code,
            )
        try:
            token = orjson.loads(response.content)["accessToken"]
        except (ValueError, KeyError, TypeError):
            raise RunAIError(
                f"failed to refresh token: POST {TOKEN_PATH}: response has no accessToken"
            ) from None
        if not isinstance(token, str) or not token:
            raise RunAIError(f"failed to refresh token: POST {TOKEN_PATH}: response has no accessToken")
        self.token_fetches += 1
        return token

    # -- requests ---------------------------------------------------------------------------------

    async def get_json(self, path: str, params: dict[str, str] | str, about: str, shard: int = 0) -> Any:
        """GET an authenticated Run:ai path and decode its JSON (2xx only); a 401 renews the token
        and repeats the request once. ``params`` is the query, as a dict or already encoded."""
        query = params if isinstance(params, str) else encode_query(params)
        for renewed in (False, True):
            token = await self.bearer_token()
            headers = {
                "Accept": "application/json",
                "Authorization": f"Bearer {token}",
                "User-Agent": self._user_agent,
            }
            response = await self._send("GET", path, query, headers=headers, about=about, shard=shard)
            if response.status_code == 401 and not renewed:
                self.forget_token(token)
                continue
            if not 200 <= response.status_code < 300:
                raise RunAIError(
                    f"GET {path} ({about}): status {response.status_code}: {self._excerpt(response)}",
                    status=response.status_code,
                )
            try:
                return orjson.loads(response.content)
            except ValueError as err:
                raise RunAIError(
                    f"GET {path} ({about}): status {response.status_code}: invalid JSON: {err}"
                ) from None
        raise AssertionError("unreachable")

    async def _send(
        self,
        method: str,
        path: str,
        query: str,
        *,
        headers: dict[str, str],
        about: str,
        content: bytes | None = None,
        shard: int = 0,
    ) -> Reply:
        """One request with retries: transport errors, 429 and 5xx, up to ``retry_count`` times."""
        target = path + (f"?{query}" if query else "")
        url = self.base_url + target
        label = _path_label(path)
        pool = self._keepalive_pool() if method == "GET" else None
        attempt = 0
        while True:
            started = time.perf_counter_ns()
            wait: float | None = None
            response: Reply | None = None
            if pool is not None:
                try:
                    response = await pool.get(target, headers)
                except KeepAliveError as err:
                    detail = f'{method[:1]}{method[1:].lower()} "{redact_url(url)}": {err}'
            else:
                client = self._clients[shard % len(self._clients)]
                exchange = await client.send(build_request(method, url, headers, content))
                if exchange.response is not None:
                    response = Reply(
                        exchange.response.status_code, dict(exchange.response.headers), exchange.body
                    )
                else:
                    error = exchange.error
                    detail = error.url_error if isinstance(error, NoResponseError) else str(error)
            if response is None:
                failure = f"{method} {path} ({about}): {self._scrub(detail)}"
                if attempt >= self.http.retry_count:
                    raise RunAIError(failure, retryable=True) from None
            else:
                self.metrics.timer(
                    "run_ai_http_request_ns", url=label, status_code=str(response.status_code)
                ).timing(time.perf_counter_ns() - started)
                if response.status_code != 429 and response.status_code < 500:
                    return response
                if attempt >= self.http.retry_count:
                    return response
                failure = (
                    f"{method} {path} ({about}): status {response.status_code}: {self._excerpt(response)}"
                )
                wait = retry_after_seconds(response.headers.get("retry-after"))
            if wait is None:
                wait = jittered_backoff(attempt, self.http.retry_wait_time, self.http.retry_max_wait_time)
            self.logger.debug(f"Retrying Run:ai request in {wait:.3f}s: {failure}")
            await asyncio.sleep(wait)
            attempt += 1

    def _excerpt(self, response: Reply) -> str:
        return self._scrub(body_excerpt(response.content))

    def _scrub(self, text: str) -> str:
        """Text from a response or an exception, with the app secret and the cached token masked,
        and whatever ``pipeline.redact`` recognises (any JWT, as a body may echo an older token than
        the cached one; URL credentials; sensitive JSON members) masked too."""
        for secret in (self._app_secret, self._token):
            if secret:
                text = text.replace(secret, "***")
        return redact_text(text)

    # -- listing ----------------------------------------------------------------------------------

    async def list_workloads(self, page_size: int) -> list[Resource]:
        """Workloads in an eligible phase with running pods, every page followed."""
        params = {"limit": str(page_size), "filterBy": WORKLOAD_FILTER}
        found = [
            resource
            for resource in await self._list_all(WORKLOADS_PATH, params, "workload")
            if running_pods(resource.raw) > 0
        ]
        self.metrics.gauge("run_ai_resource_count", type="workload").set(len(found))
        return found

    async def list_pods(self, page_size: int) -> list[Resource]:
        """Pods that have not completed, every page followed."""
        params = {"limit": str(page_size), "verbosity": "full", "completed": "false"}
        found = await self._list_all(PODS_PATH, params, "pod")
        self.metrics.gauge("run_ai_resource_count", type="pod").set(len(found))
        return found

    async def _list_all(self, path: str, params: dict[str, str], resource_type: str) -> list[Resource]:
        """Every page of a listing, in order. Pages advance by the raw page length (so they never
        overlap) while ``next`` is non-zero, with two bounds: a page that lists only resources
        already seen, and :data:`MAX_LIST_PAGES` pages, end the listing with an error. A resource
        Go's decoder would refuse, or one without an id, is left out with a warning."""
        key = "pods" if resource_type == "pod" else "workloads"
        found: list[Resource] = []
        seen: set[str] = set()
        offset = 0
        for page_number in range(1, MAX_LIST_PAGES + 1):
            about = f"{resource_type}s page at offset {offset}"
            page = await self.get_json(path, {**params, "offset": str(offset)}, about)
            items = page.get(key) if isinstance(page, dict) else None
            items = items if isinstance(items, list) else []
            new = 0
            for item in items:
                problem = decode_problem(item, resource_type)
                raw_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(raw_id, str) and raw_id:
                    if raw_id in seen:
                        continue
                    seen.add(raw_id)
                new += 1  # an item without an id cannot repeat one; it is rejected below
                if problem:
                    self._reject(resource_type, raw_id, problem, about)
                    continue
                assert isinstance(item, dict)
                resource_id, workload_id = resource_ids(item, resource_type)
                found.append(Resource(item, resource_id, workload_id))
            offset += len(items)
            if not _has_next(page) or not items:
                return found
            if new == 0:
                raise RunAIError(
                    f"GET {path} ({about}): the listing does not advance: the page repeats only "
                    f"{resource_type}s already listed while next is {page.get('next')!r}; giving up on it"
                )
            if page_number == MAX_LIST_PAGES:
                break
        raise RunAIError(
            f"GET {path}: the listing did not end after {MAX_LIST_PAGES} pages ({offset} {resource_type}s; "
            f"next is still non-zero); giving up on it"
        )

    def _reject(self, resource_type: str, raw_id: Any, problem: str, about: str) -> None:
        self.metrics.counter("run_ai_resources_rejected", type=resource_type).incr()
        name = f"{resource_type} {raw_id}" if isinstance(raw_id, str) and raw_id else f"a {resource_type}"
        self.logger.warn(
            f"Leaving {name} out of the Run:ai listing ({about}): {self._scrub(problem)}",
            resource_type=resource_type,
        )

    # -- metrics ----------------------------------------------------------------------------------

    async def chunk_values(
        self, resource_type: str, resource: Resource, window: Window, chunk: list[str], shard: int = 0
    ) -> dict[str, float]:
        """One metrics request: the last sample of each type (0 when Run:ai has none)."""
        if resource_type == "pod":
            path = f"{WORKLOADS_PATH}/{resource.workload_id}/pods/{resource.id}/metrics"
            about = f"pod {resource.id} of workload {resource.workload_id}"
        else:
            path = f"{WORKLOADS_PATH}/{resource.id}/metrics"
            about = f"workload {resource.id}"
        payload = await self.get_json(path, self._metrics_query(chunk, window), about, shard)
        measurements = payload.get("measurements") if isinstance(payload, dict) else None
        values: dict[str, float] = {}
        for measurement in measurements if isinstance(measurements, list) else []:
            if not isinstance(measurement, dict) or not isinstance(measurement.get("type"), str):
                continue
            samples = measurement.get("values")
            if not samples:
                values[measurement["type"]] = 0.0
                continue
            last = samples[-1] if isinstance(samples, list) else None
            raw = last.get("value") if isinstance(last, dict) else None
            try:
                value = float(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise RunAIError(
                    f"GET {path} ({about}): {measurement['type']} value {str(raw)[:40]!r} is not a number"
                ) from None
            if not math.isfinite(value):
                self.logger.warn(
                    f"Dropping non-finite Run:ai metric value {raw} of {measurement['type']} for {about}",
                    metric_type=measurement["type"],
                    resource_id=resource.id,
                )
                continue
            values[measurement["type"]] = value
        return values

    def _metrics_query(self, chunk: list[str], window: Window) -> str:
        """The query of a metrics request, the same for every resource of a window: encoded once
        per chunk and window instead of once per request."""
        key = (tuple(chunk), window.start, window.end)
        query = self._metric_queries.get(key)
        if query is None:
            if len(self._metric_queries) >= 64:  # windows pass; keep only the recent ones
                self._metric_queries.clear()
            query = encode_query(
                {
                    "metricType": ",".join(chunk),
                    "start": rfc3339_seconds(window.start),
                    "end": rfc3339_seconds(window.end),
                    "numberOfSamples": "1",
                }
            )
            self._metric_queries[key] = query
        return query

    async def fetch(self, scrape: WindowScrape, page_size: int) -> None:
        """One round of a window's scrape: list the resources (first round only; a listing failure
        raises), then make every metric request still pending, concurrently. A request that fails
        stays pending for the next round; a resource Run:ai no longer knows (404) leaves the window
        with a warning."""
        if scrape.resources is None:
            if scrape.resource_type == "pod":
                scrape.start(await self.list_pods(page_size))
            else:
                scrape.start(await self.list_workloads(page_size))
        resources = scrape.resources
        assert resources is not None
        chunks = scrape.chunks
        jobs = list(reversed(scrape.pending))  # popped from the end: listing order
        failed: list[tuple[int, int]] = []
        scrape.failures = []
        window = scrape.window

        async def worker(shard: int) -> None:
            while jobs:
                index, chunk_index = jobs.pop()
                if index in scrape.gone:
                    continue
                resource, chunk = resources[index], chunks[chunk_index]
                try:
                    scrape.values[index].update(
                        await self.chunk_values(scrape.resource_type, resource, window, chunk, shard)
                    )
                except RunAIError as err:
                    self.metrics.counter("run_ai_scrape_errors").incr()
                    if err.status == 404:
                        scrape.gone.add(index)
                        self.logger.warn(
                            f"Leaving Run:ai {scrape.resource_type} {resource.id} out of window {window}: "
                            f"it no longer exists ({err})"
                        )
                        continue
                    failed.append((index, chunk_index))
                    scrape.failures.append(str(err))
                    self.logger.error(
                        f"Failed to get Run:ai metrics: {err}",
                        start=rfc3339_seconds(window.start),
                        end=rfc3339_seconds(window.end),
                        workload_id=resource.workload_id,
                        pod_id=resource.id if scrape.resource_type == "pod" else "",
                        metric_types=",".join(chunk),
                    )

        workers = [asyncio.ensure_future(worker(i)) for i in range(min(self.max_concurrency, len(jobs)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
        scrape.pending = sorted(job for job in failed if job[0] not in scrape.gone)

    async def scrape(
        self,
        resource_type: str,
        window: Window,
        metric_types: Sequence[str],
        page_size: int,
    ) -> list[dict[str, Any]]:
        """One round of a window's scrape: the message bodies of the resources whose metric
        requests all succeeded, in listing order (see :meth:`fetch`)."""
        scrape = WindowScrape(resource_type, window, metric_types)
        await self.fetch(scrape, page_size)
        return scrape.bodies()


@dataclass
class WindowScrape:
    """What one window's scrape has fetched so far, across rounds: the listing (made once, so a
    retry asks about the same resources), each resource's values, and the metric requests still
    to make (every one at first, the failed ones after a round).

    A resource is complete when none of its requests is pending; only complete resources become
    events, so an event never carries some of its metrics and not others.
    """

    resource_type: str
    window: Window
    metric_types: Sequence[str]
    resources: list[Resource] | None = None
    values: list[dict[str, float]] = field(default_factory=list)
    pending: list[tuple[int, int]] = field(default_factory=list)  # (resource index, chunk index)
    gone: set[int] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)  # the errors of the last round

    def __post_init__(self) -> None:
        self.chunks = metric_chunks(self.metric_types)

    def start(self, resources: list[Resource]) -> None:
        self.resources = resources
        self.values = [{} for _ in resources]
        self.pending = [(i, c) for i in range(len(resources)) for c in range(len(self.chunks))]

    def incomplete(self) -> list[Resource]:
        """The resources with a metric request still pending."""
        assert self.resources is not None
        return [self.resources[i] for i in sorted({index for index, _ in self.pending})]

    def bodies(self) -> list[dict[str, Any]]:
        """Message bodies of the complete resources, in listing order. A complete resource without
        any value (Run:ai had none) is left out, as upstream."""
        if self.resources is None:
            return []
        build = pod_body if self.resource_type == "pod" else workload_body
        timestamp = rfc3339_nano(self.window.end)
        held = {index for index, _ in self.pending}
        bodies = []
        for index, (resource, values) in enumerate(zip(self.resources, self.values, strict=True)):
            if index in held or index in self.gone or not values:
                continue
            metrics = {"timestamp": timestamp, "values": {k: values[k] for k in sorted(values)}}
            bodies.append(build(resource.raw, metrics))
        return bodies


def _has_next(page: Any) -> bool:
    nxt = page.get("next") if isinstance(page, dict) else None
    return isinstance(nxt, (int, float)) and not isinstance(nxt, bool) and nxt != 0
