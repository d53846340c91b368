"""Metric values of the simulated Run:ai API: every sample is a pure function of the resource, the
metric type, the sample time and (for per-GPU series) the GPU, so a test can compute what the
``run_ai`` input must emit without asking the simulator. The values follow the resource's own
fields:

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
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

# -- metric values -----------------------------------------------------------------------------------------

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[kMGTPE]|m|[eE][+-]?[0-9]+)?$")
QUANTITY_SCALE = {
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
    return number * QUANTITY_SCALE[suffix]


def gpu_count(resource: dict[str, Any]) -> int:
    """How many per-GPU series a resource has: its allocated GPUs rounded up, at least one."""
    return max(1, math.ceil(float(resource.get("allocatedResources", {}).get("gpu", 0) or 0)))
