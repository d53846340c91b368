"""Benchmark: the seed's run_ai → OpenMeter mapping through the engine vs hand-written Python.

Full cycle per message: raw JSON bytes + metadata in → CloudEvent bytes out.

    .venv/bin/python bench/mapping.py [--n 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mapping_lang  # noqa: E402
from pipeline.message import Message  # noqa: E402

SEED_MAPPING = """\
let duration_seconds = (meta("scrape_interval").parse_duration() / 1000 / 1000 / 1000).round().int64()
let gpu_allocation_minutes = this.allocatedResources.gpu.number(0) * $duration_seconds / 60
let cpu_limit_core_minutes = this.metrics.values.CPU_LIMIT_CORES.number(0) * $duration_seconds / 60
# Add metrics as needed...

root = {
  "id": uuid_v4(),
  "specversion": "1.0",
  "type": meta("resource_type"),
  "source": "run_ai",
  "time": now(),
  "subject": this.name,
  "data": {
    "tenant": this.tenantId,
    "project": this.projectId,
    "department": this.departmentId,
    "cluster": this.clusterId,
    "type": this.type,
    "gpuAllocationMinutes": $gpu_allocation_minutes,
    "cpuLimitCoreMinutes": $cpu_limit_core_minutes,
  }
}
"""

BODY = {
    "resourceType": "workload",
    "tenantId": 1001,
    "type": "training",
    "namespace": "runai-team-a",
    "name": "llm-finetune-7b",
    "id": "7f3c2a9e-51d4-4b8e-9c1a-2d6e8f0b1234",
    "priorityClassName": "train",
    "submittedBy": "alice@example.com",
    "clusterId": "c0ffee00-1234-4abc-8def-0123456789ab",
    "projectName": "team-a",
    "projectId": "4501",
    "departmentName": "research",
    "departmentId": "12",
    "runningPods": 2,
    "workloadRequestedResources": {
        "gpuRequestType": "portion",
        "gpu": {"limit": 2, "request": 2},
        "gpuMemory": {"limit": "", "request": ""},
        "cpu": {"limit": 8, "request": 4},
        "cpuMemory": {"limit": "32Gi", "request": "16Gi"},
    },
    "allocatedResources": {"gpu": 2, "gpuMemory": "80Gi", "cpu": 4, "cpuMemory": "16Gi"},
    "phase": "Running",
    "preemptible": False,
    "requestedPods": {"count": 2},
    "createdAt": "2025-04-14T10:00:00.123456Z",
    "metrics": {
        "timestamp": "2025-04-14T12:00:00.004211Z",
        "values": {
            "ALLOCATED_GPU": 2,
            "CPU_LIMIT_CORES": 8,
            "CPU_MEMORY_USAGE_BYTES": 12884901888,
            "CPU_USAGE_CORES": 3.75,
            "GPU_MEMORY_USAGE_BYTES": 68719476736,
            "GPU_UTILIZATION": 87.5,
        },
    },
}
RAW = json.dumps(BODY, separators=(",", ":")).encode()
METADATA = {"scrape_interval": "30s", "resource_type": "workload", "cluster_id": BODY["clusterId"]}


def _now_text() -> str:
    t = dt.datetime.now().astimezone()
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += "." + f"{t.microsecond * 1000:09d}".rstrip("0")
    off = t.utcoffset()
    if not off:
        return s + "Z"
    mins = int(off.total_seconds()) // 60
    return s + f"{'+' if mins >= 0 else '-'}{abs(mins) // 60:02d}:{abs(mins) % 60:02d}"


def _num(x: float) -> int | float:
    return int(x) if x == int(x) else x


def hand_written(raw: bytes, metadata: dict[str, str]) -> bytes:
    """The same event with the stdlib json module."""
    doc = json.loads(raw)
    interval = metadata["scrape_interval"]
    duration_seconds = round(int(interval[:-1]) * 1_000_000_000 / 1000 / 1000 / 1000)
    gpu = float(((doc.get("allocatedResources") or {}).get("gpu")) or 0)
    cpu = float((((doc.get("metrics") or {}).get("values") or {}).get("CPU_LIMIT_CORES")) or 0)
    event = {
        "data": {
            "cluster": doc.get("clusterId"),
            "cpuLimitCoreMinutes": _num(cpu * duration_seconds / 60),
            "department": doc.get("departmentId"),
            "gpuAllocationMinutes": _num(gpu * duration_seconds / 60),
            "project": doc.get("projectId"),
            "tenant": doc.get("tenantId"),
            "type": doc.get("type"),
        },
        "id": str(uuid.uuid4()),
        "source": "run_ai",
        "specversion": "1.0",
        "subject": doc.get("name"),
        "time": _now_text(),
        "type": metadata.get("resource_type"),
    }
    return json.dumps(event, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    mapping = mapping_lang.compile(SEED_MAPPING)
    compile_us = (time.perf_counter() - t0) * 1e6

    def engine() -> bytes:
        out = mapping.map_message(Message(RAW, dict(METADATA)))
        return out.content

    sample = json.loads(engine())
    ref = json.loads(hand_written(RAW, METADATA))
    for k in ("id", "time"):
        sample.pop(k), ref.pop(k)
    assert sample == ref, (sample, ref)

    def timeit(fn: object) -> float:
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(args.n // 5):
                fn()  # type: ignore[operator]
            best = min(best, (time.perf_counter() - t) / (args.n // 5))
        return best * 1e6

    engine_us = timeit(engine)
    hand_us = timeit(lambda: hand_written(RAW, METADATA))
    print(f"compile:      {compile_us:8.1f} µs")
    print(f"engine:       {engine_us:8.2f} µs/message")
    print(f"hand-written: {hand_us:8.2f} µs/message")
    print(f"ratio:        {engine_us / hand_us:8.2f} (engine / hand-written)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
