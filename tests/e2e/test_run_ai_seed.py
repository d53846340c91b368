"""The documented Run:ai collector config (``examples/run_ai.yaml``, unchanged, on its real
``*/30 * * * * *`` schedule) against the Run:ai simulator and a recording OpenMeter sink."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import SEED_CONFIG, Simulator
from tests.e2e.sink import RecordingSink
from tests.ports import free_port

pytestmark = pytest.mark.usefixtures("seed_config_runs")

WINDOW_SECONDS = 30  # the seed's schedule and metrics_offset


def expected_fleet(
    workloads: int = 50, pods_per_workload: int = 2, seed: int = 1
) -> dict[str, dict[str, Any]]:
    """The eligible workloads by name, from the simulator's own deterministic fleet."""
    from benthic.simulators.run_ai import generate_fleet

    fleet = generate_fleet(workloads, pods_per_workload, seed)
    return {w["name"]: w for w in fleet.eligible_workloads()}


def window_end(event_time: datetime) -> datetime:
    """The scrape behind an event ticked on the 30s boundary before it; its window ends one
    ``metrics_offset`` (30s) earlier."""
    tick = event_time.replace(microsecond=0) - timedelta(seconds=event_time.second % WINDOW_SECONDS)
    return tick - timedelta(seconds=WINDOW_SECONDS)


def parse_rfc3339(text: str) -> datetime:
    assert text.endswith("Z") or "+" in text[10:], f"time {text!r} has no zone"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def simulated(workload: dict[str, Any], metric: str, at: datetime) -> float:
    from benthic.simulators.run_ai import _fmt_value, metric_value

    return float(_fmt_value(metric_value(workload, metric, at)))


def check_seed_event(event: dict[str, Any], fleet: dict[str, dict[str, Any]]) -> None:
    assert set(event) == {"id", "specversion", "type", "source", "time", "subject", "data"}
    assert uuid.UUID(event["id"]).version == 4
    assert event["specversion"] == "1.0"
    assert event["type"] == "workload"
    assert event["source"] == "run_ai"
    when = parse_rfc3339(event["time"])
    workload = fleet[event["subject"]]
    data = event["data"]
    assert data["tenant"] == workload["tenantId"]
    assert data["project"] == workload["projectId"]
    assert data["department"] == workload["departmentId"]
    assert data["cluster"] == workload["clusterId"]
    assert data["type"] == workload["type"]
    gpu = float(workload["allocatedResources"]["gpu"] or 0)
    assert math.isclose(data["gpuAllocationMinutes"], gpu * WINDOW_SECONDS / 60, rel_tol=1e-12, abs_tol=1e-12)
    cpu_limit = simulated(workload, "CPU_LIMIT_CORES", window_end(when))
    assert math.isclose(
        data["cpuLimitCoreMinutes"], cpu_limit * WINDOW_SECONDS / 60, rel_tol=1e-12, abs_tol=1e-12
    )


def seed_env(simulator: Simulator, sink: RecordingSink) -> dict[str, str]:
    return {**simulator.env(), "OPENMETER_URL": sink.base_url}


def test_the_documented_config_sends_one_event_per_eligible_workload_per_window(
    benthic: Any, simulator: Simulator, sink: RecordingSink
) -> None:
    fleet = expected_fleet()
    proc = benthic(
        "run",
        "--set",
        f"http.address=127.0.0.1:{free_port()}",
        str(SEED_CONFIG),
        env=seed_env(simulator, sink),
    )
    proc.wait_for_output("Output type http_client is now active", timeout=30)
    [request] = sink.wait_for_requests(1, timeout=75)
    assert proc.stop() == 0

    # one POST per scrape: a JSON array (Go-encoded, keys sorted) with the seed's headers
    assert request.path == "/v3/openmeter/events"
    assert request.method == "POST"
    assert request.header("authorization") == "Bearer $KONNECT_SYSTEM_ACCESS_TOKEN"
    assert request.header("content-type") == "application/json"
    assert request.body.startswith(b'[{"data":{')
    events = request.events()
    assert sorted(e["subject"] for e in events) == sorted(fleet)
    for event in events:
        check_seed_event(event, fleet)
    assert len({e["id"] for e in events}) == len(events)
