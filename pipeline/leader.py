"""Leader election on a Kubernetes Lease, and the ``Leadership`` gate scheduled inputs await.

OpenMeter's collector elects a leader with client-go's ``leaderelection`` package on a
``coordination.k8s.io/v1`` Lease (``ReleaseOnCancel: true``), configured from the environment,
and its scheduled inputs poll ``IsLeader`` once a second. We keep its environment interface:

    LEADER_ELECTION        true/false (Go's ParseBool), default false
    LEASE_LOCK_NAME        lock name; falls back to K8S_APP_INSTANCE
    LEASE_LOCK_NAMESPACE   namespace; falls back to K8S_NAMESPACE, then the service account's
                           namespace file
    LEASE_LOCK_IDENTITY    identity; falls back to K8S_POD_NAME, then the host name
    LEASE_DURATION         Go duration, default 15s
    LEASE_RENEW_DEADLINE   Go duration, default 10s
    LEASE_RETRY_PERIOD     Go duration, default 2s

Where we differ:
- Upstream lists ``K8S_NAMESPACE`` before ``LEASE_LOCK_NAMESPACE`` (urfave/cli takes the first set
  variable), so the explicit variable cannot override the pod's namespace; here the explicit
  ``LEASE_*`` variable wins, and the namespace also falls back to the service account's file.
- The elector is our own, on ``kubernetes-asyncio``'s typed ``CoordinationV1Api``; that
  package's elector neither releases on cancel nor lets a leader keep data on the Lease. Its
  rules are client-go's: a follower deems a lease expired ``leaseDurationSeconds`` after *it*
  last saw the record change (its own clock), a leader steps down when it has not renewed for
  ``LEASE_RENEW_DEADLINE`` (measured from when the last successful renew was sent), and a
  release writes an empty holder with ``leaseDurationSeconds: 1``.
- client-go treats a lease whose holder is its own identity as its own even right after a
  restart (it renews it at once). A replica here only counts a lease as its own once it has
  acquired it in this process, so a pod restarted under its old name (a StatefulSet) waits for
  its previous life's lease to expire, or be released, like any other follower.
- The gate is stricter than polling ``IsLeader``: ``Leadership.lead()`` returns only after a
  renew that was sent after the call succeeded, so a scrape starts under a lease just confirmed,
  and the gate closes at the renew deadline even while the elector is stuck in a request.
- Inputs keep checkpoints (the end of the last delivered window) in the annotation
  ``benthic/checkpoints`` of the Lease (a JSON object, key per input). The leader writes them
  with every renew and at once after ``record``; a new leader reads them as it acquires.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.durations import format_duration, parse_duration
from pipeline.errors import LeaderElectionError
from pipeline.logs import Logger
from pipeline.metrics import Metrics

CHECKPOINTS_ANNOTATION = "benthic/checkpoints"
SERVICE_ACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
PIP_HINT = "pip install 'benthic[kubernetes]'"
# client-go's JitterFactor: followers retry after retry_period * [1, 1.2)
JITTER_FACTOR = 1.2

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@dataclass(frozen=True)
class ElectionSettings:
    lock_name: str
    namespace: str
    identity: str
    lease_duration: float
    renew_deadline: float
    retry_period: float


def election_settings(
    environ: Mapping[str, str], namespace_file: str = SERVICE_ACCOUNT_NAMESPACE_FILE
) -> tuple[ElectionSettings | None, list[str]]:
    """Read the election settings from the environment: (None, []) when election is off,
    (None, problems) when a value is wrong."""
    enabled = environ.get("LEADER_ELECTION", "")
    if enabled in ("", *_FALSE):
        return None, []
    if enabled not in _TRUE:
        return None, [f"LEADER_ELECTION: expected true or false, got '{enabled}'"]
    problems: list[str] = []
    name = environ.get("LEASE_LOCK_NAME") or environ.get("K8S_APP_INSTANCE") or ""
    if not name:
        problems.append(
            "LEASE_LOCK_NAME: the lease lock name is required when LEADER_ELECTION is true "
            "(set LEASE_LOCK_NAME or K8S_APP_INSTANCE)"
        )
    namespace = environ.get("LEASE_LOCK_NAMESPACE") or environ.get("K8S_NAMESPACE") or ""
    if not namespace:
        with contextlib.suppress(OSError):
            with open(namespace_file, encoding="utf-8") as fh:
                namespace = fh.read().strip()
    if not namespace:
        problems.append(
            "LEASE_LOCK_NAMESPACE: the lease lock namespace is required when LEADER_ELECTION is true "
            f"(set LEASE_LOCK_NAMESPACE or K8S_NAMESPACE, or run in a pod with {namespace_file})"
        )
    identity = environ.get("LEASE_LOCK_IDENTITY") or environ.get("K8S_POD_NAME") or socket.gethostname()
    durations: dict[str, float] = {}
    for var, default in (
        ("LEASE_DURATION", "15s"),
        ("LEASE_RENEW_DEADLINE", "10s"),
        ("LEASE_RETRY_PERIOD", "2s"),
    ):
        text = environ.get(var) or default
        try:
            value = parse_duration(text)
        except ValueError as err:
            problems.append(f"{var}: {err}")
            continue
        if value <= 0:
            problems.append(f"{var}: must be positive, got '{text}'")
            continue
        durations[var] = value
    if len(durations) == 3:
        lease, renew, retry = (
            durations["LEASE_DURATION"],
            durations["LEASE_RENEW_DEADLINE"],
            durations["LEASE_RETRY_PERIOD"],
        )
        # client-go's own checks, so that a leader always steps down before a follower may take over
        if lease <= renew:
            problems.append(
                f"LEASE_DURATION ({format_duration(lease)}) must be greater than "
                f"LEASE_RENEW_DEADLINE ({format_duration(renew)})"
            )
        if renew <= JITTER_FACTOR * retry:
            problems.append(
                f"LEASE_RENEW_DEADLINE ({format_duration(renew)}) must be greater than "
                f"{JITTER_FACTOR} x LEASE_RETRY_PERIOD ({format_duration(retry)})"
            )
    if problems:
        return None, problems
    return (
        ElectionSettings(
            name,
            namespace,
            identity,
            durations["LEASE_DURATION"],
            durations["LEASE_RENEW_DEADLINE"],
            durations["LEASE_RETRY_PERIOD"],
        ),
        [],
    )


def kubernetes_missing() -> str | None:
    """The fix to print when the optional Kubernetes client is not installed, else None."""
    try:
        import kubernetes_asyncio  # noqa: F401  (optional dependency: benthic[kubernetes])
    except ImportError:
        return f"LEADER_ELECTION is true but the Kubernetes client is not installed: run {PIP_HINT}"
    return None


# -- the gate ----------------------------------------------------------------------------------------


class Leadership:
    """Whether this process may run its scheduled inputs now, and their checkpoints.

    Without election it always leads (term 0). With it, ``term`` counts the leaderships this
    process won; ``leading`` is true only inside a term and before the renew deadline.
    """

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self.term = 0
        self._in_term = not enabled
        self._valid_until = math.inf
        self._checkpoints: dict[str, str] = {}
        self._changed = asyncio.Event()
        self._sent = 0  # renew attempts sent in this term
        self._confirmed = 0  # the latest of them that succeeded
        self._wake: asyncio.Event | None = None  # the elector's, to renew (and write) now

    @property
    def leading(self) -> bool:
        return self._in_term and time.monotonic() < self._valid_until

    def checkpoint(self, key: str) -> str | None:
        """The value last recorded under ``key`` (by this or a previous leader)."""
        return self._checkpoints.get(key)

    def record(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` on the Lease; written at once, and with every renew."""
        if not self.enabled:
            return
        if self._checkpoints.get(key) != value:
            self._checkpoints[key] = value
            self._poke()

    async def lead(self) -> int:
        """Wait until this process leads under a lease confirmed after the call; the term."""
        while True:
            if not self.enabled:
                return self.term
            if self.leading:
                term, wanted = self.term, self._sent + 1
                self._poke()
                while self.leading and self.term == term and self._confirmed < wanted:
                    await self.wait_changed()
                if self.leading and self.term == term:
                    return term
                continue
            await self.wait_changed()

    async def wait_changed(self, timeout: float | None = None) -> None:
        """Wait for a change of leadership (or of the renew state), or ``timeout`` seconds."""
        event = self._changed
        delay = timeout
        until = self._valid_until - time.monotonic()
        if self._in_term and 0 < until < math.inf:
            # the deadline passes without an event: wake up at it
            delay = until + 0.001 if delay is None else min(delay, until + 0.001)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), delay)

    # -- driven by the elector ------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _renew_sent(self) -> int:
        self._sent += 1
        return self._sent

    def _begin(self, checkpoints: dict[str, str], sent_at: float, deadline: float) -> None:
        self.term += 1
        self._checkpoints = dict(checkpoints)
        self._in_term = True
        self._sent = self._confirmed = 1
        self._valid_until = sent_at + deadline
        self._notify()

    def _renewed(self, attempt: int, sent_at: float, deadline: float) -> None:
        self._confirmed = max(self._confirmed, attempt)
        self._valid_until = max(self._valid_until, sent_at + deadline)
        self._notify()

    def _end(self) -> None:
        self._in_term = False
        self._valid_until = 0.0
        self._notify()

    def _checkpoints_json(self) -> str:
        return json.dumps(self._checkpoints, sort_keys=True, separators=(",", ":"))


# -- the elector -------------------------------------------------------------------------------------


def _parse_checkpoints(annotations: Mapping[str, str] | None) -> dict[str, str]:
    text = (annotations or {}).get(CHECKPOINTS_ANNOTATION)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


class LeaseElector:
    """Runs the election for a ``Leadership`` until ``close()``, which releases a held lease."""

    def __init__(
        self, settings: ElectionSettings, leadership: Leadership, logger: Logger, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.leadership = leadership
        self.log = logger.with_fields(component="leader election")
        self._status = metrics.gauge("leader_election_master_status", lease=settings.lock_name)
        self._transitions = metrics.counter("leader_election_transitions", lease=settings.lock_name)
        self._status.set(0)
        self._wake = asyncio.Event()
        leadership._wake = self._wake
        self._api: Any = None
        self._api_client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._holding = False  # acquired in this process and not lost since
        self._own_lease: Any = None  # the Lease as this leader last wrote it
        self._last_leader = ""
        self._request_timeout = max(1.0, min(settings.renew_deadline, 2 * settings.retry_period))

    async def start(self) -> None:
        # optional dependency: benthic[kubernetes]
        from kubernetes_asyncio import client, config

        api_config = client.Configuration()
        kubeconfig = os.environ.get("KUBECONFIG")
        try:
            if kubeconfig or not os.environ.get("KUBERNETES_SERVICE_HOST"):
                # as kubectl: KUBECONFIG (or ~/.kube/config) outside a pod
                await config.load_kube_config(
                    config_file=kubeconfig or None, client_configuration=api_config, persist_config=False
                )
            else:
                # kubernetes_asyncio has no annotations on this one
                config.load_incluster_config(client_configuration=api_config)  # type: ignore[no-untyped-call]
        except Exception as err:
            where = (
                f"kubeconfig {kubeconfig}" if kubeconfig else "the pod's service account or ~/.kube/config"
            )
            raise LeaderElectionError(f"cannot reach the Kubernetes API through {where}: {err}") from err
        self._api_client = client.ApiClient(configuration=api_config)
        self._api = client.CoordinationV1Api(self._api_client)
        s = self.settings
        self.log.info(
            f"Starting leader election for lease {s.namespace}/{s.lock_name} as '{s.identity}' "
            f"(duration {format_duration(s.lease_duration)}, renew deadline {format_duration(s.renew_deadline)}, "
            f"retry period {format_duration(s.retry_period)})"
        )
        self._task = asyncio.create_task(self._run(), name="leader election")

    async def close(self) -> None:
        """Stop electing; a held lease is released so that a standby takes over at once."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._holding:
            was_leading = self.leadership.leading
            self._lose("released on shutdown" if was_leading else "renew deadline passed")
            with contextlib.suppress(Exception):
                await self._release()
        if self._api_client is not None:
            with contextlib.suppress(Exception):
                await self._api_client.close()

    # -- the loop ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        s = self.settings
        while not self._stopping:
            self._wake.clear()  # a poke while this attempt is in flight asks for another one
            attempt = self.leadership._renew_sent() if self._holding else 0
            sent_at = time.monotonic()
            try:
                ok = await self._try_acquire_or_renew(attempt, sent_at)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                ok = False
                self.log.debug(f"Lease {s.namespace}/{s.lock_name} request failed: {err}")
            self._check_deadline(ok)
            if self._holding:
                # wake up at the deadline too, so that the loss is logged and counted on time
                wait = min(s.retry_period, max(0.0, self.leadership._valid_until - time.monotonic()))
            else:
                wait = s.retry_period * random.uniform(1.0, JITTER_FACTOR)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._check_deadline(False)

    def _check_deadline(self, renewed: bool) -> None:
        if self._holding and not renewed and time.monotonic() >= self.leadership._valid_until:
            self._lose(f"could not renew within {format_duration(self.settings.renew_deadline)}")

    async def _try_acquire_or_renew(self, attempt: int, sent_at: float) -> bool:
        from kubernetes_asyncio.client import V1Lease, V1LeaseSpec, V1ObjectMeta  # benthic[kubernetes]
        from kubernetes_asyncio.client.exceptions import ApiException  # benthic[kubernetes]

        s = self.settings
        if self._holding and self._own_lease is not None:
            # client-go's fast path: the leader renews the lease it last wrote without reading it
            try:
                return await self._replace(self._own_lease, True, attempt, sent_at)
            except ApiException as err:
                self._own_lease = None
                if err.status != 409:
                    raise
                # written by someone else since: read it and decide below
        now = datetime.now(UTC)
        lease_seconds = max(1, math.ceil(s.lease_duration))
        try:
            lease = await self._api.read_namespaced_lease(
                s.lock_name, s.namespace, _request_timeout=self._request_timeout
            )
        except ApiException as err:
            if err.status != 404:
                raise
            lease = None
        if lease is None:
            checkpoints = self.leadership._checkpoints if self._holding else {}
            body = V1Lease(
                metadata=V1ObjectMeta(
                    name=s.lock_name,
                    namespace=s.namespace,
                    annotations={CHECKPOINTS_ANNOTATION: json.dumps(checkpoints, sort_keys=True)},
                ),
                spec=V1LeaseSpec(
                    holder_identity=s.identity,
                    lease_duration_seconds=lease_seconds,
                    acquire_time=now,
                    renew_time=now,
                    lease_transitions=0,
                ),
            )
            try:
                created = await self._api.create_namespaced_lease(
                    s.namespace, body, _request_timeout=self._request_timeout
                )
            except ApiException as err:
                if err.status == 409:
                    return False
                raise
            self._won(checkpoints, attempt, sent_at, transitions=0)
            self._own_lease = created
            return True
        spec = lease.spec or V1LeaseSpec()
        holder = spec.holder_identity or ""
        record = (
            holder,
            spec.lease_duration_seconds,
            spec.acquire_time,
            spec.renew_time,
            spec.lease_transitions,
        )
        if record != self._observed:
            self._observed, self._observed_at = record, time.monotonic()
        if holder and holder != self._last_leader and holder != s.identity:
            self.log.info(f"Current leader: {holder}")
        self._last_leader = holder
        mine = self._holding and holder == s.identity
        if self._holding and not mine:
            # someone else holds it now (after our deadline passed): we lost it
            self._lose(f"lease taken by '{holder or '(nobody)'}'")
        if not mine and holder:
            expires = self._observed_at + (spec.lease_duration_seconds or lease_seconds)
            if time.monotonic() < expires:
                return False
        try:
            return await self._replace(lease, mine, attempt, sent_at)
        except ApiException as err:
            if err.status == 409:
                return False
            raise

    async def _replace(self, lease: Any, mine: bool, attempt: int, sent_at: float) -> bool:
        """Write ourselves as the holder over ``lease`` (as last read or written)."""
        from kubernetes_asyncio.client import V1Lease, V1LeaseSpec, V1ObjectMeta  # benthic[kubernetes]

        s = self.settings
        now = datetime.now(UTC)
        spec = lease.spec or V1LeaseSpec()
        metadata = lease.metadata or V1ObjectMeta()
        annotations = dict(metadata.annotations or {})
        checkpoints = self.leadership._checkpoints if mine else _parse_checkpoints(annotations)
        annotations[CHECKPOINTS_ANNOTATION] = json.dumps(checkpoints, sort_keys=True, separators=(",", ":"))
        transitions = spec.lease_transitions or 0
        body = V1Lease(
            metadata=V1ObjectMeta(
                name=s.lock_name,
                namespace=s.namespace,
                resource_version=metadata.resource_version,
                annotations=annotations,
                labels=metadata.labels,
            ),
            spec=V1LeaseSpec(
                holder_identity=s.identity,
                lease_duration_seconds=max(1, math.ceil(s.lease_duration)),
                acquire_time=spec.acquire_time if mine else now,
                renew_time=now,
                lease_transitions=transitions if mine else transitions + 1,
            ),
        )
        written = await self._api.replace_namespaced_lease(
            s.lock_name, s.namespace, body, _request_timeout=self._request_timeout
        )
        if mine:
            self.leadership._renewed(attempt, sent_at, s.renew_deadline)
        else:
            self._won(checkpoints, attempt, sent_at, transitions=transitions + 1)
        self._own_lease = written
        return True

    def _won(self, checkpoints: dict[str, str], attempt: int, sent_at: float, transitions: int) -> None:
        if self._holding:  # re-created a lease that was deleted under us: same term
            self.leadership._renewed(attempt, sent_at, self.settings.renew_deadline)
            return
        self._holding = True
        self._observed = None
        self.leadership._begin(checkpoints, sent_at, self.settings.renew_deadline)
        self._status.set(1)
        self._transitions.incr()
        s = self.settings
        self.log.info(
            f"Acquired lease {s.namespace}/{s.lock_name}: this replica ('{s.identity}') is the leader",
            term=self.leadership.term,
        )

    def _lose(self, why: str) -> None:
        if not self._holding:
            return
        self._holding = False
        self._own_lease = None
        self.leadership._end()
        self._status.set(0)
        self._transitions.incr()
        s = self.settings
        self.log.info(f"Lost lease {s.namespace}/{s.lock_name} ({why}): scheduled inputs pause")

    async def _release(self) -> None:
        from kubernetes_asyncio.client import V1Lease, V1LeaseSpec, V1ObjectMeta  # benthic[kubernetes]

        s = self.settings
        lease = await self._api.read_namespaced_lease(
            s.lock_name, s.namespace, _request_timeout=self._request_timeout
        )
        spec = lease.spec or V1LeaseSpec()
        if spec.holder_identity != s.identity:
            return
        now = datetime.now(UTC)
        metadata = lease.metadata or V1ObjectMeta()
        annotations = dict(metadata.annotations or {})
        annotations[CHECKPOINTS_ANNOTATION] = self.leadership._checkpoints_json()
        body = V1Lease(
            metadata=V1ObjectMeta(
                name=s.lock_name,
                namespace=s.namespace,
                resource_version=metadata.resource_version,
                annotations=annotations,
                labels=metadata.labels,
            ),
            spec=V1LeaseSpec(
                holder_identity="",
                lease_duration_seconds=1,
                acquire_time=now,
                renew_time=now,
                lease_transitions=spec.lease_transitions or 0,
            ),
        )
        await self._api.replace_namespaced_lease(
            s.lock_name, s.namespace, body, _request_timeout=self._request_timeout
        )
        self.log.info(f"Released lease {s.namespace}/{s.lock_name}")
