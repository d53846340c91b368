"""The simulated fleet: workloads and pods generated from a seed.

As in Run:ai, a workload's resources are divided over its pods (``_pod_shares``): each pod
requests, and when running is allocated, its share of the workload's GPUs, GPU memory, CPU and
memory, and a workload's ``allocatedResources`` is the sum of its running pods'. CPU and memory
are requested at half their limits.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from benthic.simulators.run_ai.values import QUANTITY_SCALE, parse_quantity

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
_WORKLOAD_TYPES = ("training", "workspace", "inference", "runai-job", "distributed")
_NOUNS = ("llama", "bert", "resnet", "whisper", "mistral", "vit", "t5", "yolo", "gpt", "clip", "sam", "unet")

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
    for suffix, scale in QUANTITY_SCALE.items():
        if scale >= 1000 and amount % int(scale) == 0:
            candidates.append(f"{amount // int(scale)}{suffix}")
    return min(candidates, key=len)


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
