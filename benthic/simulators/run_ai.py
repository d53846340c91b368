"""A Run:ai control-plane API simulator, for the tests, the benchmark and the demo.

It serves the part of the Run:ai REST API the ``run_ai`` input uses, over real HTTP on
127.0.0.1: ``POST /api/v1/token`` (expiring HS256 JWTs, 401 on bad credentials), workload and pod
listings with ``limit``/``offset``/``next`` pagination and ``filterBy``, and both metrics
endpoints (metric types validated, at most 9 per request). Every other request needs a valid,
unexpired bearer token.

The fleet is generated from a seed. As in Run:ai, a workload's resources are divided over its pods
(``_pod_shares``): each pod requests, and when running is allocated, its share of the workload's
GPUs, GPU memory, CPU and memory, and a workload's ``allocatedResources`` is the sum of its
running pods'. CPU and memory are requested at half their limits.

Every metric value is a pure function of (the resource, metric type, sample time[, gpu]),
``metric_value(resource, metric_type, at, gpu)`` below, so a test can compute what the input must
emit without asking the simulator. The values follow the resource's own fields:

* allocations and limits are read off the resource: ``GPU_ALLOCATION`` is
  ``allocatedResources.gpu``, ``GPU_MEMORY_REQUEST_BYTES`` its ``gpuMemory``, ``CPU_*_CORES`` and
  ``CPU_MEMORY_*_BYTES`` the ``cpu``/``cpuMemory`` limit and request of the requested resources
  (Kubernetes quantities: "64G" is 64e9 bytes, "64Gi" 64 * 2^30), ``POD_COUNT`` and
  ``RUNNING_POD_COUNT`` the requested and running pods;
* usage is a share of its bound (CPU cores and memory of the limit, for a workload of its running
  pods' part of the limit; GPU memory of the allocated GPU memory, split evenly over the GPUs),
  and GPU utilisation a percentage; a resource that is not running (a workload without running
  pods, a pod not in phase Running) uses nothing, one without GPUs shows 0 %;
* the whole-resource ``GPU_UTILIZATION`` is the mean, and ``GPU_MEMORY_USAGE_BYTES`` the sum, of
  the per-GPU series; the per-GPU activity percentages (SM, tensor, FP16/32/64, ...) are shares
  of that GPU's utilisation, NVLink (only between a pod's GPUs) and PCIe bandwidths are bytes/s
  scaled by it, and GPU swap is at most 256 MiB;
* every usage sample wobbles around a level typical of its series: both are fractions taken from
  sha256 of "<id>|<type>[|<gpu>]" and "<id>|<type>|<unix seconds>[|<gpu>]". Cores and percentages
  are rounded to 2 decimals, bytes and counts to whole numbers (served without a fraction).

Faults are injected by rate (5xx, 429 with ``Retry-After``, latency, token failures) or scripted
one by one with ``fail_next``.

Command line: ``benthic simulate run_ai --port 0 --workloads 50 ...`` prints
``listening on http://127.0.0.1:PORT`` as its first line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import math
import random
import re
import signal
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from inputs.run_ai.client import MAX_METRIC_TYPES_PER_REQUEST, POD_METRICS, WORKLOAD_METRICS
from pipeline.http.server import HTTPServer, Request, Response

DEFAULT_APP_ID = "simulated-app"
DEFAULT_APP_SECRET = "simulated-secret"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50

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

# Workload phases, weighted: most run, some are in phases the collector filters out.
PHASE_WEIGHTS = (
    ("Running", 70),
    ("Pending", 6),
    ("Completed", 5),
    ("Failed", 3),
    ("Stopped", 3),
    ("Degraded", 4),
    ("Deleting", 2),
    ("Initializing", 3),
    ("Creating", 2),
    ("Terminating", 2),
)
_ADJECTIVES = (
    "amber",
    "brisk",
    "calm",
    "deep",
    "eager",
    "fast",
    "grand",
    "hazy",
    "icy",
    "jolly",
    "keen",
    "lucid",
)
_NOUNS = ("llama", "bert", "resnet", "whisper", "mistral", "vit", "t5", "yolo", "gpt", "clip", "sam", "unet")
_WORKLOAD_TYPES = ("training", "workspace", "inference", "runai-job", "distributed")
_FILTER_TERM = re.compile(r"^([A-Za-z][A-Za-z0-9_.]*)(==|!=|=@|!@|=\^|=\$|<=|>=)(.*)$")


# -- metric values -----------------------------------------------------------------------------------------

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[kMGTPE]|m|[eE][+-]?[0-9]+)?$")
_QUANTITY_SCALE = {
    "": 1.0,
    "m": 1e-3,
    **{suffix: 1000.0**i for i, suffix in enumerate("kMGTPE", 1)},
    **{suffix: 1024.0**i for i, suffix in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"), 1)},
}
# How far a sample strays from its series' typical level (a share of the metric's range).
_SAMPLE_SPREAD = 0.25
# Per-GPU activity metrics, as a share of the GPU's utilisation (DCGM-style: SM activity and the
# engine activities are at most what the GPU is busy).
_ACTIVITY_SHARE = {
    "GPU_GRAPHICS_ENGINE_ACTIVITY_PER_GPU": (0.9, 1.0),
    "GPU_SM_ACTIVITY_PER_GPU": (0.6, 0.95),
    "GPU_SM_OCCUPANCY_PER_GPU": (0.3, 0.8),
    "GPU_TENSOR_ACTIVITY_PER_GPU": (0.1, 0.7),
    "GPU_FP16_ENGINE_ACTIVITY_PER_GPU": (0.05, 0.5),
    "GPU_FP32_ENGINE_ACTIVITY_PER_GPU": (0.05, 0.4),
    "GPU_FP64_ENGINE_ACTIVITY_PER_GPU": (0.0, 0.05),
    "GPU_MEMORY_BANDWIDTH_UTILIZATION_PER_GPU": (0.2, 0.8),
}
# Bytes per second at full utilisation: NVLink (A100/H100 class) and PCIe Gen4 x16.
_BANDWIDTH_AT_FULL_LOAD = {
    "GPU_NVLINK_TRANSMITTED_BANDWIDTH_PER_GPU": (5e9, 50e9),
    "GPU_NVLINK_RECEIVED_BANDWIDTH_PER_GPU": (5e9, 50e9),
    "GPU_PCIE_TRANSMITTED_BANDWIDTH_PER_GPU": (0.5e9, 8e9),
    "GPU_PCIE_RECEIVED_BANDWIDTH_PER_GPU": (0.5e9, 8e9),
}
_MAX_GPU_SWAP_BYTES = 256 * 2**20


def metric_value(resource: dict[str, Any], metric_type: str, at: datetime, gpu: int | None = None) -> float:
    """The simulated value of one sample of a workload's or pod's metric at ``at`` (on GPU ``gpu``
    for the per-GPU types), consistent with the resource's own fields: the model is in the module
    docstring. The simulator serves exactly this, so tests compute expected values with it."""
    requested = resource.get("workloadRequestedResources") or resource.get("requestedResources") or {}
    allocated = resource.get("allocatedResources") or {}
    running = _is_running(resource)
    gpus = float(allocated.get("gpu") or 0)

    def usage(low: float, high: float) -> float:
        return _usage(resource["id"], metric_type, at, gpu, low, high) if running else 0.0

    if metric_type == "GPU_ALLOCATION":
        return gpus
    if metric_type == "POD_COUNT":
        return float((resource.get("requestedPods") or {}).get("count") or 0)
    if metric_type == "RUNNING_POD_COUNT":
        return float(resource.get("runningPods") or 0)
    if metric_type in ("CPU_LIMIT_CORES", "CPU_REQUEST_CORES"):
        bound = "limit" if metric_type == "CPU_LIMIT_CORES" else "request"
        return round(float((requested.get("cpu") or {}).get(bound) or 0), 2)
    if metric_type in ("CPU_MEMORY_LIMIT_BYTES", "CPU_MEMORY_REQUEST_BYTES"):
        bound = "limit" if metric_type == "CPU_MEMORY_LIMIT_BYTES" else "request"
        return float(round(parse_quantity((requested.get("cpuMemory") or {}).get(bound))))
    if metric_type == "CPU_USAGE_CORES":
        return round(_cpu_limit(requested, allocated) * _running_share(resource) * usage(0.1, 0.9), 2)
    if metric_type == "CPU_MEMORY_USAGE_BYTES":
        return float(
            int(_cpu_memory_limit(requested, allocated) * _running_share(resource) * usage(0.2, 0.9))
        )
    if metric_type == "GPU_MEMORY_REQUEST_BYTES":
        return float(round(parse_quantity(allocated.get("gpuMemory"))))
    # the whole-resource GPU figures aggregate the per-GPU series (a workload's too, though Run:ai
    # only serves per-GPU series for pods)
    if metric_type == "GPU_UTILIZATION":
        per_gpu = [
            metric_value(resource, "GPU_UTILIZATION_PER_GPU", at, g) for g in range(gpu_count(resource))
        ]
        return round(sum(per_gpu) / len(per_gpu), 2)
    if metric_type == "GPU_MEMORY_USAGE_BYTES":
        return float(
            sum(
                metric_value(resource, "GPU_MEMORY_USAGE_BYTES_PER_GPU", at, g)
                for g in range(gpu_count(resource))
            )
        )
    if metric_type == "GPU_UTILIZATION_PER_GPU":
        return round(usage(5, 100), 2) if gpus else 0.0
    if metric_type == "GPU_MEMORY_USAGE_BYTES_PER_GPU":
        memory_per_gpu = parse_quantity(allocated.get("gpuMemory")) / gpu_count(resource)
        return float(int(memory_per_gpu * usage(0.3, 0.95)))
    if metric_type == "GPU_SWAP_MEMORY_BYTES_PER_GPU":
        return float(int(_MAX_GPU_SWAP_BYTES * usage(0, 1) ** 4)) if gpus else 0.0
    utilisation = metric_value(resource, "GPU_UTILIZATION_PER_GPU", at, gpu) / 100
    if metric_type in _ACTIVITY_SHARE:
        return round(100 * utilisation * usage(*_ACTIVITY_SHARE[metric_type]), 2)
    if metric_type in _BANDWIDTH_AT_FULL_LOAD:
        if metric_type.startswith("GPU_NVLINK") and gpu_count(resource) < 2:
            return 0.0  # NVLink carries traffic between a pod's GPUs
        return float(int(utilisation * usage(*_BANDWIDTH_AT_FULL_LOAD[metric_type])))
    return _nim_value(resource, metric_type, at, usage)


def _nim_value(
    resource: dict[str, Any], metric_type: str, at: datetime, usage: Callable[[float, float], float]
) -> float:
    """NVIDIA NIM inference metrics (served for workloads, not in the collector's defaults)."""
    if metric_type == "NIM_NUM_REQUESTS_RUNNING":
        return float(int(usage(0, 32)))
    if metric_type == "NIM_NUM_REQUESTS_WAITING":
        return float(int(usage(0, 8)))
    if metric_type == "NIM_NUM_REQUEST_MAX":
        return float(32 * (1 + int(_fraction(resource["id"], metric_type) * 4)))
    if metric_type == "NIM_GPU_CACHE_USAGE_PERC":
        return round(usage(0, 100), 2)
    if metric_type == "NIM_TIME_TO_FIRST_TOKEN_SECONDS":
        return round(usage(0.05, 2), 3)
    if metric_type == "NIM_E2E_REQUEST_LATENCY_SECONDS":
        return round(usage(0.5, 20), 3)
    if metric_type in ("NIM_REQUEST_SUCCESS_TOTAL", "NIM_REQUEST_FAILURE_TOTAL"):
        if not _is_running(resource):
            return 0.0
        # counters: a steady request rate since the workload was created, so they only grow
        created = datetime.fromisoformat(resource["createdAt"].replace("Z", "+00:00"))
        seconds = max(0.0, (at - created).total_seconds())
        per_second = 0.5 + 20 * _fraction(resource["id"], "NIM_REQUEST_RATE")
        if metric_type == "NIM_REQUEST_FAILURE_TOTAL":
            per_second *= 0.01 * _fraction(resource["id"], metric_type)
        return float(int(per_second * seconds))
    raise ValueError(f"no simulated value for metric type {metric_type!r}")


def _fraction(*parts: object) -> float:
    """sha256 of the parts joined with "|", its first 8 bytes as a big-endian integer over 2^64:
    a deterministic fraction in [0, 1)."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _usage(
    resource_id: str, metric_type: str, at: datetime, gpu: int | None, low: float, high: float
) -> float:
    """A sample between ``low`` and ``high``: the series' typical level plus a wobble of the sample
    time, clamped to the range."""
    series = (resource_id, metric_type) if gpu is None else (resource_id, metric_type, gpu)
    sample = (resource_id, metric_type, int(at.timestamp())) + (() if gpu is None else (gpu,))
    share = _fraction(*series) + _SAMPLE_SPREAD * (_fraction(*sample) - 0.5)
    return low + (high - low) * min(1.0, max(0.0, share))


def _is_running(resource: dict[str, Any]) -> bool:
    if "k8sPhase" in resource:
        return bool(resource["k8sPhase"] == "Running")
    return bool(resource.get("runningPods"))


def _running_share(resource: dict[str, Any]) -> float:
    """The share of a resource's requested limits that its running pods hold: all of a pod's, and
    a workload's running pods of its requested ones (its requests and limits are for all of them,
    while only running pods use anything)."""
    if "k8sPhase" in resource:
        return 1.0
    pods = (resource.get("requestedPods") or {}).get("count") or 0
    running = resource.get("runningPods") or 0
    return min(1.0, running / pods) if pods else 1.0


def _cpu_limit(requested: dict[str, Any], allocated: dict[str, Any]) -> float:
    cpu = requested.get("cpu") or {}
    return float(cpu.get("limit") or cpu.get("request") or allocated.get("cpu") or 0)


def _cpu_memory_limit(requested: dict[str, Any], allocated: dict[str, Any]) -> float:
    memory = requested.get("cpuMemory") or {}
    return parse_quantity(memory.get("limit") or memory.get("request") or allocated.get("cpuMemory"))


def parse_quantity(quantity: str | float | None) -> float:
    """A Kubernetes resource quantity as a number: "64G" is 64e9, "64Gi" 64 * 2^30, "500m" 0.5,
    "1e3" 1000; "" or None (not set) is 0."""
    if quantity is None or quantity == "":
        return 0.0
    if isinstance(quantity, int | float):
        return float(quantity)
    found = _QUANTITY.match(quantity.strip())
    if found is None:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    number, suffix = float(found.group(1)), found.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * 10 ** int(suffix[1:])
    return number * _QUANTITY_SCALE[suffix]


# GPU memory per allocated GPU (A100 40 GB class).
_GPU_MEMORY_PER_GPU = 40 * 2**30


@dataclass(frozen=True)
class _Resources:
    """Resources requested by, or divided out to, one pod or a whole workload: GPUs, the GPU
    memory that comes with them and the CPU memory in bytes, CPU in millicores."""

    gpus: float
    gpu_memory_bytes: int
    cpu_limit_millicores: int
    cpu_request_millicores: int
    memory_limit_bytes: int
    memory_request_bytes: int


def _workload_resources(gpus: float, cpus: float, memory: str) -> _Resources:
    """A workload's resources; CPU and memory are requested at half their limits (the scheduler
    reserves the request, the limit is what the pods may burst to)."""
    memory_bytes = int(parse_quantity(memory))
    return _Resources(
        gpus,
        round(gpus * _GPU_MEMORY_PER_GPU),
        round(cpus * 1000),
        round(cpus * 500),
        memory_bytes,
        memory_bytes // 2,
    )


def _pod_shares(workload: _Resources, pods: int) -> list[_Resources]:
    """The workload's resources divided over its pods, so that the pods' shares sum exactly to
    the workload's. Whole GPUs stay whole where there are at least as many as pods (8 over 3 pods
    is 2, 3 and 3); otherwise GPUs are divided in hundredths (0.5 over 2 pods is 0.25 each). Each
    pod's GPU memory follows its GPUs; CPU is divided in millicores and memory in bytes."""
    whole = float(workload.gpus).is_integer() and workload.gpus >= pods
    gpu_unit = 1 if whole else 100  # GPUs are counted in whole GPUs or in hundredths
    gpu_units = _divide(round(workload.gpus * gpu_unit), pods)
    return [
        _Resources(units / gpu_unit, *shares)
        for units, *shares in zip(
            gpu_units,
            _divide(workload.gpu_memory_bytes, pods, gpu_units),
            _divide(workload.cpu_limit_millicores, pods),
            _divide(workload.cpu_request_millicores, pods),
            _divide(workload.memory_limit_bytes, pods),
            _divide(workload.memory_request_bytes, pods),
            strict=True,
        )
    ]


def _divide(total: int, parts: int, weights: list[int] | None = None) -> list[int]:
    """``total`` divided into ``parts`` whole numbers that sum to it: as evenly as can be, or in
    proportion to ``weights``. Each part is the difference of rounded-down cumulative shares."""
    weights = weights or [1] * parts
    whole, cumulative, parts_of_total = sum(weights) or 1, 0, []
    for weight in weights:
        before = total * cumulative // whole
        cumulative += weight
        parts_of_total.append(total * cumulative // whole - before)
    return parts_of_total


def _requested_resources(resources: _Resources) -> dict[str, Any]:
    """Requested resources as Run:ai lists them."""
    return {
        "gpuRequestType": "portion" if resources.gpus < 1 else "whole",
        "gpu": {"limit": resources.gpus, "request": resources.gpus},
        "gpuMemory": {"limit": "", "request": ""},
        "cpu": {
            "limit": resources.cpu_limit_millicores / 1000,
            "request": resources.cpu_request_millicores / 1000,
        },
        "cpuMemory": {
            "limit": format_quantity(resources.memory_limit_bytes),
            "request": format_quantity(resources.memory_request_bytes),
        },
    }


def _allocated_resources(shares: list[_Resources]) -> dict[str, Any]:
    """What the pods holding these shares are allocated, summed: their GPUs and GPU memory, and
    their CPU and memory requests (what the scheduler reserves). Nothing running holds nothing."""
    if not shares:
        return {"gpu": 0, "gpuMemory": "", "cpu": 0, "cpuMemory": ""}
    return {
        # summed in hundredths, so that 0.25 + 0.25 is exactly 0.5
        "gpu": sum(round(share.gpus * 100) for share in shares) / 100,
        "gpuMemory": format_quantity(sum(share.gpu_memory_bytes for share in shares)),
        "cpu": sum(share.cpu_request_millicores for share in shares) / 1000,
        "cpuMemory": format_quantity(sum(share.memory_request_bytes for share in shares)),
    }


def format_quantity(amount: int) -> str:
    """Whole bytes as the shortest exact Kubernetes quantity: 16 * 10^9 is "16G", 10 * 2^30
    "10Gi", 5333333333 stays as it is."""
    candidates = [str(amount)]
    for suffix, scale in _QUANTITY_SCALE.items():
        if scale >= 1000 and amount % int(scale) == 0:
            candidates.append(f"{amount // int(scale)}{suffix}")
    return min(candidates, key=len)


def gpu_count(resource: dict[str, Any]) -> int:
    """How many per-GPU series a resource has: its allocated GPUs rounded up, at least one."""
    return max(1, math.ceil(float(resource.get("allocatedResources", {}).get("gpu", 0) or 0)))


# -- the fleet -------------------------------------------------------------------------------------------


@dataclass
class Fleet:
    tenant_id: int
    workloads: list[dict[str, Any]]
    pods: list[dict[str, Any]]

    def workload(self, workload_id: str) -> dict[str, Any] | None:
        return self._workloads_by_id.get(workload_id)

    def pod(self, pod_id: str) -> dict[str, Any] | None:
        return self._pods_by_id.get(pod_id)

    def __post_init__(self) -> None:
        self._workloads_by_id = {w["id"]: w for w in self.workloads}
        self._pods_by_id = {p["id"]: p for p in self.pods}

    def eligible_workloads(self) -> list[dict[str, Any]]:
        """The workloads OpenMeter's collector emits: an eligible phase and running pods."""
        excluded = {"Creating", "Initializing", "Resuming", "Pending", "Updating", "Stopped", "Stopping"}
        excluded |= {"Failed", "Completed", "Terminating", "Unknown"}
        return [w for w in self.workloads if w["phase"] not in excluded and w["runningPods"] > 0]

    def active_pods(self) -> list[dict[str, Any]]:
        """The pods listed with ``completed=false``."""
        return [p for p in self.pods if p.get("completedAt") is None]


def generate_fleet(workloads: int, pods_per_workload: int, seed: int) -> Fleet:
    """A deterministic fleet: the same arguments give the same workloads and pods."""
    rng = random.Random(seed)

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    tenant_id = 1000 + rng.randint(1, 999)
    clusters = [uid() for _ in range(2)]
    departments = [
        {"id": str(i + 1), "name": f"dept-{name}"}
        for i, name in enumerate(("research", "product", "platform"))
    ]
    projects: list[dict[str, Any]] = []
    for i in range(6):
        dept = departments[i % len(departments)]
        projects.append(
            {"id": str(100 + i), "name": f"proj-{_NOUNS[i]}", "department": dept, "cluster": clusters[i % 2]}
        )
    base_time = datetime(2026, 1, 1, tzinfo=UTC)
    phases = [p for p, _ in PHASE_WEIGHTS]
    weights = [w for _, w in PHASE_WEIGHTS]
    fleet_workloads: list[dict[str, Any]] = []
    fleet_pods: list[dict[str, Any]] = []
    for i in range(workloads):
        project = projects[rng.randrange(len(projects))]
        phase = rng.choices(phases, weights)[0]
        if phase == "Running":
            # a few running workloads have no pod up yet: the collector drops them client-side
            running = 0 if rng.random() < 0.1 else pods_per_workload
        elif phase == "Degraded":
            running = rng.randint(0, pods_per_workload)
        else:
            running = 0
        gpus = rng.choice((0.5, 1.0, 1.0, 2.0, 4.0, 8.0))
        cpus = rng.choice((2.0, 4.0, 8.0, 16.0))
        memory = rng.choice(("16G", "32G", "64G", "128G"))
        created = base_time + timedelta(
            seconds=rng.randint(0, 86_400 * 30), microseconds=rng.randint(0, 999) * 1000
        )
        name = f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{i}"
        requested = _workload_resources(gpus, cpus, memory)
        shares = _pod_shares(requested, pods_per_workload)
        workload = {
            "tenantId": tenant_id,
            "id": uid(),
            "name": name,
            "type": rng.choice(_WORKLOAD_TYPES),
            "namespace": f"runai-{project['name']}",
            "priorityClassName": rng.choice(("train", "build", "inference", "")),
            "submittedBy": f"user{rng.randint(1, 40)}@example.com",
            "clusterId": project["cluster"],
            "projectName": project["name"],
            "projectId": project["id"],
            "departmentName": project["department"]["name"],
            "departmentId": project["department"]["id"],
            "runningPods": running,
            "phase": phase,
            "phaseUpdatedAt": (created + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
            "createdAt": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "priority": rng.choice((50, 75, 100)),
            "preemptible": rng.random() < 0.5,
            "workloadRequestedResources": _requested_resources(requested),
            # what Run:ai reports for a workload is the sum over its running pods
            "allocatedResources": _allocated_resources(shares[:running]),
            "requestedPods": {"count": pods_per_workload},
            "idleGpus": 0 if running else None,
            "nodepool": "default",
        }
        fleet_workloads.append(workload)
        for j, share in enumerate(shares):
            if phase in ("Completed", "Failed"):
                k8s_phase = "Succeeded" if phase == "Completed" else "Failed"
            elif j < running:
                k8s_phase = "Running"
            else:
                k8s_phase = "Pending"
            started = created + timedelta(seconds=30 + j)
            pod = {
                "tenantId": tenant_id,
                "id": uid(),
                "name": f"{name}-{j}",
                "workloadId": workload["id"],
                "clusterId": workload["clusterId"],
                "projectId": workload["projectId"],
                "projectName": workload["projectName"],
                "workloadName": name,
                "priorityClassName": workload["priorityClassName"],
                "nodeName": f"node-{rng.randint(1, 32):02d}" if k8s_phase != "Pending" else None,
                "createdAt": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "completedAt": (
                    (created + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
                    if k8s_phase in ("Succeeded", "Failed")
                    else None
                ),
                "containers": [
                    {
                        "name": "main",
                        "image": f"registry.example.com/{_NOUNS[i % len(_NOUNS)]}:latest",
                        "startedAt": started.isoformat().replace("+00:00", "Z")
                        if k8s_phase == "Running"
                        else None,
                    }
                ],
                "currentNodePool": "default" if k8s_phase != "Pending" else None,
                "requestedNodePools": ["default"],
                "requestedResources": _requested_resources(share),
                "allocatedResources": _allocated_resources([share])
                if k8s_phase == "Running"
                else {"gpu": 0, "cpu": 0},
                "k8sPhase": k8s_phase,
                "k8sPhaseUpdatedAt": started.isoformat().replace("+00:00", "Z"),
                "updatedAt": started.isoformat().replace("+00:00", "Z"),
            }
            fleet_pods.append(pod)
    return Fleet(tenant_id, fleet_workloads, fleet_pods)


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
    ) -> None:
        self.fleet = generate_fleet(workloads, pods_per_workload, seed)
        self.app_id = app_id
        self.app_secret = app_secret
        self.token_ttl = token_ttl
        self.faults = _Faults(error_rate, rate_limit_rate, latency_ms, token_failure_rate, retry_after)
        self.keep_records = keep_records
        self.records: list[RequestRecord] = []
        self.requests: Counter[str] = Counter()
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
        page = items[offset : offset + limit]
        body: dict[str, Any] = {key: [shape(item) for item in page], "totalCount": len(items)}
        if offset + len(page) < len(items):
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


# -- command line ----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benthic simulate run_ai", description="Serve a simulated Run:ai API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--workloads", type=int, default=50)
    parser.add_argument("--pods-per-workload", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--app-id", default=DEFAULT_APP_ID)
    parser.add_argument("--app-secret", default=DEFAULT_APP_SECRET)
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="share of API requests answered 500/503"
    )
    parser.add_argument(
        "--rate-limit-rate", type=float, default=0.0, help="share of API requests answered 429"
    )
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every request")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime in seconds")
    parser.add_argument(
        "--token-failure-rate", type=float, default=0.0, help="share of token requests answered 503"
    )
    return parser


def main(argv: list[str]) -> int:
    """``benthic simulate run_ai ...``: serve until SIGINT/SIGTERM."""
    if argv and argv[0] == "run_ai":
        argv = argv[1:]
    args = _parser().parse_args(argv)
    sim = RunAISimulator(
        workloads=args.workloads,
        pods_per_workload=args.pods_per_workload,
        seed=args.seed,
        host=args.host,
        port=args.port,
        app_id=args.app_id,
        app_secret=args.app_secret,
        token_ttl=args.token_ttl,
        error_rate=args.error_rate,
        rate_limit_rate=args.rate_limit_rate,
        latency_ms=args.latency_ms,
        token_failure_rate=args.token_failure_rate,
        retry_after=args.retry_after,
        keep_records=False,
    )

    async def serve() -> None:
        await sim.start()
        print(f"listening on {sim.url}", flush=True)
        print(
            f"fleet: {len(sim.fleet.workloads)} workloads ({len(sim.fleet.eligible_workloads())} eligible), "
            f"{len(sim.fleet.pods)} pods; app id {sim.app_id}",
            file=sys.stderr,
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await sim.close()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
