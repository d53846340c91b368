"""The simulator's metric values, read over its HTTP API: realistic and consistent with each
workload's and pod's own resources."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from benthic.simulators.run_ai import RunAISimulator, gpu_count, metric_value, parse_quantity
from inputs.run_ai.client import POD_METRICS, WORKLOAD_METRICS

END = datetime(2026, 2, 1, 12, 0, 30, tzinfo=UTC)
SAMPLES = 4
PERCENTAGES = {
    m for m in POD_METRICS if m.endswith("_PER_GPU") and "BYTES" not in m and "BANDWIDTH_PER" not in m
}


async def measurements(
    client: httpx.AsyncClient, path: str, metric_types: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Every measurement of the metric types over the 30s window ending at ``END``."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(metric_types), 9):
        answer = await client.get(
            path,
            params={
                "metricType": ",".join(metric_types[start : start + 9]),
                "start": (END - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": END.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "numberOfSamples": str(SAMPLES),
            },
        )
        assert answer.status_code == 200, answer.text
        found.extend(answer.json()["measurements"])
    return found


def by_sample(found: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Whole-resource series as one {metric type: value} per sample time."""
    samples: list[dict[str, float]] = [{} for _ in range(SAMPLES)]
    for measurement in found:
        if measurement["labels"] is None:
            for k, sample in enumerate(measurement["values"]):
                samples[k][measurement["type"]] = float(sample["value"])
    return samples


def run_simulator(check: Any, **fleet: Any) -> None:
    async def scenario() -> None:
        async with RunAISimulator(**fleet) as sim:
            async with httpx.AsyncClient(base_url=sim.url, trust_env=False) as client:
                token = await client.post(
                    "/api/v1/token",
                    json={"grantType": "app_token", "AppId": sim.app_id, "AppSecret": sim.app_secret},
                )
                client.headers["Authorization"] = f"Bearer {token.json()['accessToken']}"
                await check(sim, client)

    asyncio.run(scenario())


def test_workload_metrics_agree_with_the_workloads_resources() -> None:
    async def check(sim: RunAISimulator, client: httpx.AsyncClient) -> None:
        for workload in sim.fleet.workloads:
            path = f"/api/v1/workloads/{workload['id']}/metrics"
            found = await measurements(client, path, WORKLOAD_METRICS)
            requested, allocated = workload["workloadRequestedResources"], workload["allocatedResources"]
            for values in by_sample(found):
                assert values["GPU_ALLOCATION"] == allocated["gpu"]
                assert values["CPU_LIMIT_CORES"] == requested["cpu"]["limit"]
                assert values["CPU_REQUEST_CORES"] == requested["cpu"]["request"]
                memory_limit = int(requested["cpuMemory"]["limit"].removesuffix("G")) * 10**9
                assert values["CPU_MEMORY_LIMIT_BYTES"] == memory_limit
                # memory is requested at half its limit, so request and limit metrics differ
                assert values["CPU_MEMORY_REQUEST_BYTES"] == memory_limit / 2
                gpu_memory = int(allocated["gpuMemory"].removesuffix("Gi") or 0) * 2**30
                assert values["GPU_MEMORY_REQUEST_BYTES"] == gpu_memory
                assert values["POD_COUNT"] == workload["requestedPods"]["count"]
                assert values["RUNNING_POD_COUNT"] == workload["runningPods"]
                # only the running pods use anything: at most their part of the limits
                running = workload["runningPods"] / workload["requestedPods"]["count"]
                assert 0 <= values["CPU_USAGE_CORES"] <= values["CPU_LIMIT_CORES"] * running
                assert 0 <= values["CPU_MEMORY_USAGE_BYTES"] <= memory_limit * running
                assert 0 <= values["GPU_MEMORY_USAGE_BYTES"] <= gpu_memory
                assert 0 <= values["GPU_UTILIZATION"] <= 100
                if workload["runningPods"] == 0:
                    usage = (
                        "CPU_USAGE_CORES",
                        "CPU_MEMORY_USAGE_BYTES",
                        "GPU_MEMORY_USAGE_BYTES",
                        "GPU_UTILIZATION",
                    )
                    assert [values[m] for m in usage] == [0, 0, 0, 0]
            # bytes and counts are served as whole numbers, like Run:ai does
            served = {m["type"]: m["values"][-1]["value"] for m in found}
            assert "." not in served["CPU_MEMORY_LIMIT_BYTES"] + served["POD_COUNT"]

    run_simulator(check, workloads=40, pods_per_workload=2, seed=3)


@pytest.mark.parametrize("pods_per_workload", [1, 2, 3])
def test_a_workloads_allocation_is_the_sum_of_its_running_pods_shares(pods_per_workload: int) -> None:
    sim = RunAISimulator(workloads=60, pods_per_workload=pods_per_workload, seed=6)
    gib = 2**30
    for workload in sim.fleet.workloads:
        pods = [p for p in sim.fleet.pods if p["workloadId"] == workload["id"]]
        running = [p for p in pods if p["k8sPhase"] == "Running"]
        assert len(pods) == pods_per_workload and len(running) == workload["runningPods"]
        requested, allocated = workload["workloadRequestedResources"], workload["allocatedResources"]

        # every pod requests its share: the pods' requests add up to the workload's
        def total(field: str, bound: str, pods: list[dict[str, Any]] = pods) -> float:
            return sum(parse_quantity(p["requestedResources"][field][bound]) for p in pods)

        for field in ("gpu", "cpu", "cpuMemory"):
            for bound in ("limit", "request"):
                assert total(field, bound) == pytest.approx(parse_quantity(requested[field][bound]))
        # Kubernetes quantities divided in whole bytes, with exact sums
        assert sum(parse_quantity(p["requestedResources"]["cpuMemory"]["limit"]) for p in pods) == (
            parse_quantity(requested["cpuMemory"]["limit"])
        )
        assert all(
            parse_quantity(p["requestedResources"]["cpuMemory"]["request"])
            < parse_quantity(p["requestedResources"]["cpuMemory"]["limit"])
            for p in pods
        )
        # the running pods hold their share, and the workload the sum of theirs
        for pod in running:
            assert pod["allocatedResources"]["gpu"] == pod["requestedResources"]["gpu"]["request"]
            assert pod["allocatedResources"]["cpu"] == pod["requestedResources"]["cpu"]["request"]
            gpu_memory = parse_quantity(pod["allocatedResources"]["gpuMemory"])
            assert gpu_memory == pytest.approx(pod["allocatedResources"]["gpu"] * 40 * gib, abs=1)
        for field in ("gpu", "gpuMemory", "cpu", "cpuMemory"):
            held = sum(parse_quantity(p["allocatedResources"][field]) for p in running)
            assert held == pytest.approx(parse_quantity(allocated[field])), (workload["name"], field)
        if workload["runningPods"] == pods_per_workload:
            assert allocated["gpu"] == requested["gpu"]["request"]
            assert allocated["cpu"] == requested["cpu"]["request"]
        at = END
        assert metric_value(workload, "GPU_ALLOCATION", at) == sum(
            metric_value(p, "GPU_ALLOCATION", at) for p in running
        )


def test_gpus_are_divided_over_the_pods_in_whole_gpus_or_in_sensible_fractions() -> None:
    def pod_gpus(pods_per_workload: int) -> dict[float, set[tuple[float, ...]]]:
        fleet = RunAISimulator(workloads=80, pods_per_workload=pods_per_workload, seed=8).fleet
        found: dict[float, set[tuple[float, ...]]] = {}
        for workload in fleet.workloads:
            shares = tuple(
                p["requestedResources"]["gpu"]["request"]
                for p in fleet.pods
                if p["workloadId"] == workload["id"]
            )
            found.setdefault(workload["workloadRequestedResources"]["gpu"]["request"], set()).add(shares)
        return found

    assert pod_gpus(2) == {
        0.5: {(0.25, 0.25)},
        1.0: {(0.5, 0.5)},
        2.0: {(1.0, 1.0)},
        4.0: {(2.0, 2.0)},
        8.0: {(4.0, 4.0)},
    }
    assert pod_gpus(3) == {
        0.5: {(0.16, 0.17, 0.17)},
        1.0: {(0.33, 0.33, 0.34)},
        2.0: {(0.66, 0.67, 0.67)},
        4.0: {(1.0, 1.0, 2.0)},
        8.0: {(2.0, 3.0, 3.0)},
    }


def test_pod_metrics_have_a_series_per_gpu_within_that_gpus_share_of_the_pod() -> None:
    async def check(sim: RunAISimulator, client: httpx.AsyncClient) -> None:
        for pod in sim.fleet.active_pods():
            path = f"/api/v1/workloads/{pod['workloadId']}/pods/{pod['id']}/metrics"
            found = await measurements(client, path, POD_METRICS)
            gpus = gpu_count(pod)
            # the pod's own GPUs, not its workload's
            assert gpus == max(1, math.ceil(pod["allocatedResources"]["gpu"]))
            per_gpu: dict[str, list[list[float]]] = {}
            for measurement in found:
                if measurement["type"].endswith("_PER_GPU"):
                    series = [float(sample["value"]) for sample in measurement["values"]]
                    per_gpu.setdefault(measurement["type"], []).append(series)
                    assert measurement["labels"] == {"gpu": str(len(per_gpu[measurement["type"]]) - 1)}
            assert all(len(series) == gpus for series in per_gpu.values())
            memory_per_gpu = parse_quantity(pod["allocatedResources"].get("gpuMemory")) / gpus
            for metric, series_per_gpu in per_gpu.items():
                samples = [v for gpu_series in series_per_gpu for v in gpu_series]
                if metric in PERCENTAGES:
                    assert all(0 <= v <= 100 for v in samples), metric
                elif metric == "GPU_MEMORY_USAGE_BYTES_PER_GPU":
                    assert all(0 <= v <= memory_per_gpu for v in samples)
                elif "BANDWIDTH" in metric:
                    assert all(0 <= v <= 100e9 for v in samples), metric
                else:
                    assert metric == "GPU_SWAP_MEMORY_BYTES_PER_GPU"
                    assert all(0 <= v <= 2**28 for v in samples)
            utilisation = per_gpu["GPU_UTILIZATION_PER_GPU"]
            memory = per_gpu["GPU_MEMORY_USAGE_BYTES_PER_GPU"]
            cpu_limit = pod["requestedResources"]["cpu"]["limit"]
            for k, values in enumerate(by_sample(found)):
                mean = sum(series[k] for series in utilisation) / gpus
                assert values["GPU_UTILIZATION"] == pytest.approx(mean, abs=0.0051)
                assert values["GPU_MEMORY_USAGE_BYTES"] == sum(series[k] for series in memory)
                assert 0 <= values["CPU_USAGE_CORES"] <= cpu_limit
                if pod["k8sPhase"] != "Running":
                    assert values["CPU_USAGE_CORES"] == values["GPU_UTILIZATION"] == 0

    run_simulator(check, workloads=20, pods_per_workload=2, seed=4)


def test_values_are_reproducible_and_vary_with_the_sample_time() -> None:
    sim = RunAISimulator(workloads=30, seed=2)
    workload = sim.fleet.eligible_workloads()[0]
    times = [END + timedelta(seconds=s) for s in range(10)]
    usage = [metric_value(workload, "CPU_USAGE_CORES", at) for at in times]
    assert usage == [metric_value(workload, "CPU_USAGE_CORES", at) for at in times]
    assert len(set(usage)) > 1
    assert all(round(v, 2) == v for v in usage)
    assert len({metric_value(workload, "CPU_LIMIT_CORES", at) for at in times}) == 1


def test_kubernetes_quantities_in_decimal_and_binary_units() -> None:
    assert parse_quantity("64G") == 64 * 10**9
    assert parse_quantity("64Gi") == 64 * 2**30
    assert parse_quantity("1.5Mi") == 1.5 * 2**20
    assert parse_quantity("500m") == 0.5
    assert parse_quantity("2e3") == 2000
    assert parse_quantity("") == parse_quantity(None) == 0
    with pytest.raises(ValueError, match="not a Kubernetes quantity: '64GB'"):
        parse_quantity("64GB")
