"""``benthic run`` with a run_ai config against ``benthic simulate run_ai``, both as subprocesses
talking over 127.0.0.1."""

from __future__ import annotations

import time

import orjson

from benthic.simulators.run_ai import generate_fleet, metric_value
from tests.e2e.conftest import Process, Simulator, benthic_argv


def test_benthic_run_writes_one_line_per_workload_per_window(tmp_path):
    simulator = Simulator("--workloads", "12", "--seed", "5")
    benthic = None
    try:
        out = tmp_path / "events.jsonl"
        config = tmp_path / "run_ai.yaml"
        config.write_text(
            "input:\n"
            "  run_ai:\n"
            f"    url: '{simulator.url}'\n"
            f"    app_id: {Simulator.APP_ID}\n"
            "    app_secret: '${RUNAI_APP_SECRET}'\n"
            "    schedule: '@every 1s'\n"
            "    metrics_offset: 2s\n"
            "output:\n"
            "  file:\n"
            f"    path: '{out}'\n"
            "    codec: lines\n"
            "logger:\n"
            "  level: DEBUG\n"
            # no service port: 4195 may be taken by another benthic on this machine
            "http:\n"
            "  enabled: false\n"
        )
        benthic = Process(benthic_argv("run", str(config)), {"RUNAI_APP_SECRET": Simulator.APP_SECRET})
        eligible = generate_fleet(12, 2, 5).eligible_workloads()
        deadline = time.monotonic() + 60
        lines: list[bytes] = []
        while time.monotonic() < deadline and len(lines) < 2 * len(eligible):
            time.sleep(0.2)
            if out.exists():
                lines = [line for line in out.read_bytes().splitlines() if line]
        assert benthic.stop(15) == 0, benthic.output
        # the lines codec ends each multi-message batch with an empty line
        events = [orjson.loads(line) for line in out.read_bytes().splitlines() if line]
        assert len(events) >= 2 * len(eligible), benthic.output[-4000:]
        by_window: dict[str, list[dict]] = {}
        for event in events:
            by_window.setdefault(event["metrics"]["timestamp"], []).append(event)
        # every complete window holds each eligible workload once, with the simulator's values
        from inputs.run_ai.schedule import parse_rfc3339

        first_window = sorted(by_window)[0]
        assert sorted(e["id"] for e in by_window[first_window]) == sorted(w["id"] for w in eligible)
        sample = by_window[first_window][0]
        end = parse_rfc3339(first_window)
        workload = next(w for w in eligible if w["id"] == sample["id"])
        for metric, value in sample["metrics"]["values"].items():
            assert value == metric_value(workload, metric, end), metric
        assert Simulator.APP_SECRET not in benthic.output
    finally:
        if benthic is not None:
            benthic.cleanup()
        simulator.stop()
