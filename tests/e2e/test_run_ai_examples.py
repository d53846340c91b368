"""The Run:ai examples (``examples/run_ai_workloads.yaml``, ``examples/run_ai_pods.yaml``) run
with the real CLI against the Run:ai simulator and a recording OpenMeter sink: every field of
every event is checked against what the simulator's fleet and metric samples say it must be."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e._examples_helpers import (
    SECONDS_PER_UNIT,
    RunAIAPI,
    differences,
    expected_pod_event,
    expected_workload_event,
)
from tests.e2e.conftest import REPO, RUNAI_LINT_ENV, Simulator, run_benthic
from tests.e2e.sink import RecordingSink
from tests.ports import free_port

WORKLOADS_EXAMPLE = REPO / "examples" / "run_ai_workloads.yaml"
PODS_EXAMPLE = REPO / "examples" / "run_ai_pods.yaml"
INTERVAL = timedelta(seconds=1)  # the schedule the tests run the examples on
WINDOWS = 2  # windows collected per run


@pytest.fixture
def runai(simulator: Simulator) -> Iterator[RunAIAPI]:
    api = RunAIAPI(simulator.url, Simulator.APP_ID, Simulator.APP_SECRET)
    yield api
    api.close()


def start_example(
    benthic: Any, example: Path, simulator: Simulator, sink: RecordingSink, env: dict[str, str] | None = None
) -> Any:
    """Start an example on a 1s schedule, sending to ``sink``, its service server on a free port."""
    return benthic(
        "run",
        "--set",
        "input.run_ai.schedule='@every 1s'",
        "--set",
        f"http.address=127.0.0.1:{free_port()}",
        str(example),
        env={**simulator.env(), "OPENMETER_URL": sink.base_url, **(env or {})},
    )


def run_example(
    benthic: Any,
    example: Path,
    simulator: Simulator,
    sink: RecordingSink,
    *,
    windows: int = WINDOWS,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[list[dict[str, Any]], str]:
    """Run an example on a 1s schedule until the sink holds ``windows`` windows; stop it (SIGTERM
    flushes what was read) and return the events received and the log."""
    proc = start_example(benthic, example, simulator, sink, env)
    proc.wait_for_output("Input type run_ai is now active", timeout=30)
    if not sink.wait_for(lambda s: len({e["time"] for e in held_events(s)}) >= windows, timeout=timeout):
        raise AssertionError(f"fewer than {windows} windows received:\n{proc.output[-4000:]}")
    assert proc.stop() == 0, proc.output[-4000:]
    return sink.events(), proc.output


def held_events(sink: RecordingSink) -> list[dict[str, Any]]:
    """The accepted events, for a ``sink.wait_for`` predicate (which runs holding the sink's lock,
    so ``sink.events()`` cannot be called there)."""
    return [event for r in sink.requests if r.accepted for event in r.events()]


def by_window(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    windows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        windows[event["time"]].append(event)
    return windows


def assert_one_event_per_resource_per_window(
    events: list[dict[str, Any]], resources: Iterable[dict[str, Any]]
) -> None:
    """Every window holds one event per billed resource, no more, no less."""
    names = sorted(r["name"] for r in resources)
    for window, window_events in by_window(events).items():
        assert sorted(e["data"]["name"] for e in window_events) == names, window


def assert_events_as_computed(events: list[dict[str, Any]], expected_for: Any) -> None:
    """Every event is the one computed for it, and no two events share an id."""
    problems = []
    for event in events:
        expected = expected_for(event)
        problems += [
            f"{event['type']} {event['data'].get('name')} at {event['time']}{d}"
            for d in differences(event, expected)
        ]
    assert not problems, "\n".join(problems[:40])
    assert len({e["id"] for e in events}) == len(events)


WORKLOAD_SUBJECTS = {
    "project": lambda w: w["projectName"],
    "project_id": lambda w: w["projectId"],
    "department": lambda w: w["departmentName"],
    "department_id": lambda w: w["departmentId"],
}


@pytest.mark.parametrize(
    ("unit", "subject_from"), [("second", "project"), ("minute", "department_id"), ("hour", "department")]
)
def test_workloads_example_sends_every_metric_normalised_to_the_unit(
    benthic: Any, simulator: Simulator, sink: RecordingSink, runai: RunAIAPI, unit: str, subject_from: str
) -> None:
    events, _ = run_example(
        benthic,
        WORKLOADS_EXAMPLE,
        simulator,
        sink,
        env={"RUNAI_USAGE_UNIT": unit, "RUNAI_SUBJECT_FROM": subject_from},
    )
    workloads = runai.billed_workloads()
    assert workloads, "the simulated fleet has no workload to bill"
    subject = WORKLOAD_SUBJECTS[subject_from]

    assert_one_event_per_resource_per_window(events, workloads.values())
    by_name = {w["name"]: w for w in workloads.values()}

    def expected_for(event: dict[str, Any]) -> dict[str, Any]:
        workload = by_name[event["data"]["name"]]
        return expected_workload_event(runai, workload, event["time"], INTERVAL, unit, subject(workload))

    assert_events_as_computed(events, expected_for)


@pytest.mark.parametrize(
    ("unit", "subject_from"), [("second", "project_id"), ("minute", "project"), ("hour", "project")]
)
def test_pods_example_sends_every_metric_of_running_pods_normalised_to_the_unit(
    benthic: Any, simulator: Simulator, sink: RecordingSink, runai: RunAIAPI, unit: str, subject_from: str
) -> None:
    events, _ = run_example(
        benthic,
        PODS_EXAMPLE,
        simulator,
        sink,
        env={"RUNAI_USAGE_UNIT": unit, "RUNAI_SUBJECT_FROM": subject_from},
    )
    pods = runai.billed_pods()
    assert pods, "the simulated fleet has no running pod"
    subject = {"project": lambda p: p["projectName"], "project_id": lambda p: p["projectId"]}[subject_from]

    assert_one_event_per_resource_per_window(events, pods.values())
    by_name = {p["name"]: p for p in pods.values()}

    def expected_for(event: dict[str, Any]) -> dict[str, Any]:
        pod = by_name[event["data"]["name"]]
        return expected_pod_event(runai, pod, event["time"], INTERVAL, unit, subject(pod))

    assert_events_as_computed(events, expected_for)

    # a pod bills its share of its workload: per window, a workload's pods add up to what the
    # workload holds, so billing pods instead of workloads counts no GPU twice
    window_units = INTERVAL.total_seconds() / SECONDS_PER_UNIT[unit]
    workloads = {w["name"]: w for w in runai.billed_workloads().values()}
    for window, window_events in by_window(events).items():
        gpus: dict[str, float] = defaultdict(float)
        for event in window_events:
            gpus[event["data"]["workload"]] += event["data"][f"gpu_allocation_{unit}s"]
        assert gpus.keys() == workloads.keys(), window
        for name, held in gpus.items():
            assert held == pytest.approx(workloads[name]["allocatedResources"]["gpu"] * window_units), name


def test_the_unit_defaults_to_minutes_and_the_subject_to_the_project_name(
    benthic: Any, simulator: Simulator, sink: RecordingSink, runai: RunAIAPI
) -> None:
    events, _ = run_example(benthic, WORKLOADS_EXAMPLE, simulator, sink, windows=1)
    workloads = {w["name"]: w for w in runai.billed_workloads().values()}
    event = events[0]
    assert event["subject"] == workloads[event["data"]["name"]]["projectName"]
    assert event["data"]["workload_minutes"] == pytest.approx(1 / 60, rel=1e-12)
    assert sorted(k for k in event["data"] if k.endswith("_minutes")) == sorted(
        [
            "workload_minutes",
            "cpu_limit_core_minutes",
            "cpu_request_core_minutes",
            "cpu_usage_core_minutes",
            "cpu_memory_limit_gigabyte_minutes",
            "cpu_memory_request_gigabyte_minutes",
            "cpu_memory_usage_gigabyte_minutes",
            "gpu_allocation_minutes",
            "gpu_usage_minutes",
            "gpu_memory_request_gigabyte_minutes",
            "gpu_memory_usage_gigabyte_minutes",
        ]
    )


def test_the_subject_can_come_from_metadata_set_by_a_processor_added_before_the_mapping(
    benthic: Any, simulator: Simulator, sink: RecordingSink, runai: RunAIAPI, tmp_path: Path
) -> None:
    # a user's lookup from project to customer, put in front of the example's mapping
    text = WORKLOADS_EXAMPLE.read_text()
    lookup = "    - mapping: 'meta customer_id = \"customer-\" + this.projectId'\n"
    assert text.count("pipeline:\n  processors:\n") == 1
    config = tmp_path / "with_lookup.yaml"
    config.write_text(text.replace("pipeline:\n  processors:\n", "pipeline:\n  processors:\n" + lookup))

    events, _ = run_example(
        benthic, config, simulator, sink, windows=1, env={"RUNAI_SUBJECT_FROM": "meta:customer_id"}
    )
    workloads = {w["name"]: w for w in runai.billed_workloads().values()}
    assert events
    for event in events:
        assert event["subject"] == "customer-" + workloads[event["data"]["name"]]["projectId"]


def test_two_collectors_over_the_same_windows_send_identical_events_with_the_same_ids(
    benthic: Any, simulator: Simulator, runai: RunAIAPI
) -> None:
    """Two runs of the example (two replicas, or a restart that scrapes a window again) name
    each window's events alike, so OpenMeter's (source, id) dedup keeps one copy."""
    with RecordingSink() as first, RecordingSink() as second:
        procs = [start_example(benthic, WORKLOADS_EXAMPLE, simulator, s) for s in (first, second)]
        for proc in procs:
            proc.wait_for_output("Input type run_ai is now active", timeout=30)

        def shared_windows() -> set[str]:
            return {e["time"] for e in held_events(first)} & {e["time"] for e in held_events(second)}

        assert first.wait_for(lambda _: len(shared_windows()) >= 2, timeout=30), (
            "no window scraped by both runs"
        )
        for proc in procs:
            assert proc.stop() == 0, proc.output[-4000:]

        shared = shared_windows()
        from_first = {(e["time"], e["data"]["name"]): e for e in first.events() if e["time"] in shared}
        from_second = {(e["time"], e["data"]["name"]): e for e in second.events() if e["time"] in shared}
        assert from_first.keys() == from_second.keys()
        assert from_first == from_second  # same id, and the duplicate OpenMeter drops is identical


def test_an_unknown_unit_is_reported_and_nothing_wrong_is_sent(
    benthic: Any, simulator: Simulator, sink: RecordingSink
) -> None:
    proc = start_example(benthic, WORKLOADS_EXAMPLE, simulator, sink, {"RUNAI_USAGE_UNIT": "fortnight"})
    proc.wait_for_output("RUNAI_USAGE_UNIT must be second, minute or hour, not 'fortnight'", timeout=30)
    proc.wait_for_output("Dropping the Run:ai usage of workload", timeout=10)
    assert proc.stop() == 0
    assert sink.requests == []


def test_with_a_flaky_run_ai_every_event_carries_all_its_metrics_none_billed_as_zero(
    benthic: Any, sink: RecordingSink
) -> None:
    # 30% of the Run:ai API calls fail; a workload whose metric request still fails after its
    # retry is held back and only that request is made again, so no event lacks a metric (the
    # seed's mapping would bill a missing one as 0)
    flaky = Simulator("--error-rate", "0.3")
    runai = RunAIAPI(flaky.url, Simulator.APP_ID, Simulator.APP_SECRET)
    try:
        # (whole scrapes fail too, and are retried with backoff: allow them time on a busy machine)
        events, log = run_example(benthic, WORKLOADS_EXAMPLE, flaky, sink, windows=3, timeout=90)
        by_name = {w["name"]: w for w in runai.billed_workloads().values()}
        windows = by_window(events)
        for time in sorted(windows)[:-1]:  # (the newest may have been cut short by the stop)
            assert sorted(e["data"]["name"] for e in windows[time]) == sorted(by_name), time
        for event in events:
            workload = by_name[event["data"]["name"]]
            expected = expected_workload_event(
                runai, workload, event["time"], INTERVAL, "minute", workload["projectName"]
            )
            assert differences(event, expected) == [], (event["data"]["name"], event["time"])
        assert "until all their metrics are fetched" in log, (
            "no metric request failed: the case was not exercised"
        )
    finally:
        runai.close()
        flaky.stop()


@pytest.mark.parametrize("example", [WORKLOADS_EXAMPLE, PODS_EXAMPLE], ids=["workloads", "pods"])
def test_the_examples_lint_with_only_the_documented_output_blocks_warnings(example: Path) -> None:
    result = run_benthic("lint", str(example), env=RUNAI_LINT_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    # both come from the documented output block, kept unchanged (see the comment above it)
    assert all("drop_on" in line or "KONNECT_SYSTEM_ACCESS_TOKEN" in line for line in warnings), warnings
