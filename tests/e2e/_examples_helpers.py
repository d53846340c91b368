"""What the Run:ai examples (``examples/run_ai_workloads.yaml``, ``examples/run_ai_pods.yaml``)
must send, worked out without them: the fleet and the metric samples are read from the Run:ai
simulator over its HTTP API (as any Run:ai client would), and the usage arithmetic is written
out here in Python from the rules the examples document.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from pipeline.durations import format_duration

# The examples' id namespace: ids are uuid5(namespace, "run_ai/<type>/<resource id>/<end>/<interval>").
ID_NAMESPACE = uuid.UUID("0b6e4c3a-5d1f-4f6e-9a57-6c1d2e3f4a5b")
SECONDS_PER_UNIT = {"second": 1, "minute": 60, "hour": 3600}
BYTES_PER_GIGABYTE = 2**30

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
)
POD_METRICS = ("CPU_MEMORY_USAGE_BYTES", "CPU_USAGE_CORES", "GPU_MEMORY_USAGE_BYTES", "GPU_UTILIZATION")
# phases Run:ai is asked to leave out of the workload listing (OpenMeter's filter)
EXCLUDED_PHASES = frozenset(
    "Creating Initializing Resuming Pending Updating Stopped Stopping Failed Completed Terminating Unknown".split()
)

_QUANTITY = re.compile(
    r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)
_SUFFIX = {
    "": 1,
    **{s: 1024**i for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"), 1)},
    **{s: 1000**i for i, s in enumerate(("k", "M", "G", "T", "P", "E"), 1)},
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
}


def quantity(text: str) -> float:
    """A Kubernetes resource quantity as a number; "" (not set) is 0."""
    if text == "":
        return 0
    found = _QUANTITY.match(text)
    assert found, f"not a Kubernetes quantity: {text!r}"
    number, suffix = float(found.group(1)), found.group(2) or ""
    scale = _SUFFIX[suffix] if suffix in _SUFFIX else 10 ** int(suffix[1:])
    return number * scale


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RunAIAPI:
    """The simulator seen as a Run:ai control plane: token, listings and metrics over HTTP."""

    url: str
    app_id: str
    app_secret: str
    _client: httpx.Client = field(init=False)
    _samples: dict[tuple[str, str, str], dict[str, float]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._client = httpx.Client(base_url=self.url, timeout=10, trust_env=False)
        token = self._client.post(
            "/api/v1/token",
            json={"grantType": "app_token", "AppId": self.app_id, "AppSecret": self.app_secret},
        )
        token.raise_for_status()
        self._client.headers["Authorization"] = f"Bearer {token.json()['accessToken']}"

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, params: dict[str, str]) -> Any:
        """GET, asking again while the simulator answers with an injected 5xx."""
        for _ in range(50):
            answer = self._client.get(path, params=params)
            if answer.status_code < 500:
                answer.raise_for_status()
                return answer.json()
        raise AssertionError(f"GET {path}: still failing after 50 attempts ({answer.status_code})")

    def _listing(self, path: str, key: str, **params: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            body = self._get(path, {**params, "limit": "500", "offset": str(len(found))})
            found.extend(body[key])
            if not body.get("next"):
                return found

    def billed_workloads(self) -> dict[str, dict[str, Any]]:
        """The workloads the collector reports, by id: not in an excluded phase, with running pods."""
        return {
            w["id"]: w
            for w in self._listing("/api/v1/workloads", "workloads")
            if w["phase"] not in EXCLUDED_PHASES and w["runningPods"] > 0
        }

    def billed_pods(self) -> dict[str, dict[str, Any]]:
        """The pods the pods example bills, by id: listed as not completed, and running."""
        pods = self._listing("/api/v1/workloads/pods", "pods", completed="false", verbosity="full")
        return {p["id"]: p for p in pods if p["k8sPhase"] == "Running"}

    def samples(
        self, path: str, metric_types: tuple[str, ...], end: datetime, interval: timedelta
    ) -> dict[str, float]:
        """The last sample of each metric type over the window ending at ``end``."""
        key = (path, ",".join(metric_types), rfc3339(end))
        if key not in self._samples:
            values: dict[str, float] = {}
            for start in range(0, len(metric_types), 9):
                answer = self._get(
                    path,
                    {
                        "metricType": ",".join(metric_types[start : start + 9]),
                        "start": rfc3339(end - interval),
                        "end": rfc3339(end),
                        "numberOfSamples": "1",
                    },
                )
                for measurement in answer["measurements"]:
                    samples = measurement["values"]
                    values[measurement["type"]] = float(samples[-1]["value"]) if samples else 0.0
            self._samples[key] = values
        return self._samples[key]


def usage_fields(levels: dict[str, float], unit: str, interval: timedelta) -> dict[str, float]:
    """Levels held over the window, as usage in the unit: ``<name>_<unit>s`` = level x window length."""
    window_units = interval.total_seconds() / SECONDS_PER_UNIT[unit]
    return {f"{name}_{unit}s": level * window_units for name, level in levels.items()}


def used_gpus(allocated: float, utilisation_percent: float) -> float:
    return allocated * min(max(utilisation_percent, 0.0), 100.0) / 100


def event_id(resource_type: str, resource_id: str, window_end: str, interval: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"run_ai/{resource_type}/{resource_id}/{window_end}/{interval}"))


def usage_event(
    resource_type: str,
    resource_id: str,
    window_end: str,
    interval: timedelta,
    subject: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """The CloudEvent the examples send for one resource's window (the id names the interval as
    the ``scrape_interval`` metadata does: a Go duration)."""
    interval_text = format_duration(interval.total_seconds())
    return {
        "id": event_id(resource_type, resource_id, window_end, interval_text),
        "specversion": "1.0",
        "type": resource_type,
        "source": "run_ai",
        "time": window_end,
        "subject": subject,
        "data": data,
    }


def expected_workload_event(
    api: RunAIAPI,
    workload: dict[str, Any],
    window_end: str,
    interval: timedelta,
    unit: str,
    subject: str,
) -> dict[str, Any]:
    end = parse_time(window_end)
    m = api.samples(f"/api/v1/workloads/{workload['id']}/metrics", WORKLOAD_METRICS, end, interval)
    gib = BYTES_PER_GIGABYTE
    levels = {
        "workload": 1.0,
        "cpu_limit_core": m["CPU_LIMIT_CORES"],
        "cpu_request_core": m["CPU_REQUEST_CORES"],
        "cpu_usage_core": m["CPU_USAGE_CORES"],
        "cpu_memory_limit_gigabyte": m["CPU_MEMORY_LIMIT_BYTES"] / gib,
        "cpu_memory_request_gigabyte": m["CPU_MEMORY_REQUEST_BYTES"] / gib,
        "cpu_memory_usage_gigabyte": m["CPU_MEMORY_USAGE_BYTES"] / gib,
        "gpu_allocation": m["GPU_ALLOCATION"],
        "gpu_usage": used_gpus(m["GPU_ALLOCATION"], m["GPU_UTILIZATION"]),
        "gpu_memory_request_gigabyte": m["GPU_MEMORY_REQUEST_BYTES"] / gib,
        "gpu_memory_usage_gigabyte": m["GPU_MEMORY_USAGE_BYTES"] / gib,
    }
    data = {
        "name": workload["name"],
        "namespace": workload["namespace"],
        "phase": workload["phase"],
        "project": workload["projectId"],
        "department": workload["departmentId"],
        **usage_fields(levels, unit, interval),
    }
    return usage_event("workload", workload["id"], window_end, interval, subject, data)


def expected_pod_event(
    api: RunAIAPI,
    pod: dict[str, Any],
    window_end: str,
    interval: timedelta,
    unit: str,
    subject: str,
) -> dict[str, Any]:
    end = parse_time(window_end)
    m = api.samples(
        f"/api/v1/workloads/{pod['workloadId']}/pods/{pod['id']}/metrics", POD_METRICS, end, interval
    )
    requested, gpus = pod["requestedResources"], float(pod["allocatedResources"]["gpu"])
    gib = BYTES_PER_GIGABYTE
    levels = {
        "pod": 1.0,
        "cpu_limit_core": float(requested["cpu"]["limit"]),
        "cpu_request_core": float(requested["cpu"]["request"]),
        "cpu_usage_core": m["CPU_USAGE_CORES"],
        "cpu_memory_limit_gigabyte": quantity(requested["cpuMemory"]["limit"]) / gib,
        "cpu_memory_request_gigabyte": quantity(requested["cpuMemory"]["request"]) / gib,
        "cpu_memory_usage_gigabyte": m["CPU_MEMORY_USAGE_BYTES"] / gib,
        "gpu_allocation": gpus,
        "gpu_usage": used_gpus(gpus, m["GPU_UTILIZATION"]),
        "gpu_memory_request_gigabyte": quantity(requested["gpuMemory"]["request"]) / gib,
        "gpu_memory_usage_gigabyte": m["GPU_MEMORY_USAGE_BYTES"] / gib,
    }
    data = {
        "name": pod["name"],
        "workload": pod["workloadName"],
        "project": pod["projectId"],
        "phase": pod["k8sPhase"],
        "node": pod["nodeName"],
        **usage_fields(levels, unit, interval),
    }
    return usage_event("pod", pod["id"], window_end, interval, subject, data)


def differences(received: Any, expected: Any, path: str = "") -> list[str]:
    """Where ``received`` differs from ``expected`` (numbers compared to 1e-12 relative)."""
    if isinstance(expected, dict) and isinstance(received, dict):
        found = [f"{path}.{k}: missing" for k in expected if k not in received]
        found += [f"{path}.{k}: unexpected" for k in received if k not in expected]
        for key in expected.keys() & received.keys():
            found += differences(received[key], expected[key], f"{path}.{key}")
        return found
    numbers = (int, float)
    if isinstance(expected, numbers) and isinstance(received, numbers) and not isinstance(received, bool):
        close = abs(received - expected) <= 1e-12 * max(abs(expected), abs(received), 1e-300)
        return [] if close or received == expected else [f"{path}: {received!r} != {expected!r}"]
    return [] if received == expected else [f"{path}: {received!r} != {expected!r}"]
