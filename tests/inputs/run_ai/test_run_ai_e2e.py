"""``benthic run`` with a run_ai config against ``benthic simulate run_ai``, both as subprocesses
talking over 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from inputs.run_ai.simulator import generate_fleet, metric_value

REPO = Path(__file__).resolve().parents[3]
SECRET = "e2e-secret-do-not-log"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_benthic_run_writes_one_line_per_workload_per_window(tmp_path):
    simulator = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "simulate", "run_ai", "--port", "0", "--workloads", "12"]
        + ["--seed", "5", "--app-secret", SECRET],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
        cwd=REPO,
    )
    benthic = None
    try:
        first_line = simulator.stdout.readline().strip()
        assert first_line.startswith("listening on http://127.0.0.1:")
        url = first_line.removeprefix("listening on ")
        out = tmp_path / "events.jsonl"
        config = tmp_path / "run_ai.yaml"
        config.write_text(
            "input:\n"
            "  run_ai:\n"
            f"    url: '{url}'\n"
            "    app_id: simulated-app\n"
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
        log_path = tmp_path / "benthic.log"
        with open(log_path, "wb") as log:
            benthic = subprocess.Popen(
                [sys.executable, "-m", "pipeline.cli", "run", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**_env(), "RUNAI_APP_SECRET": SECRET},
                cwd=REPO,
            )
            eligible = generate_fleet(12, 2, 5).eligible_workloads()
            deadline = time.monotonic() + 60
            lines: list[bytes] = []
            while time.monotonic() < deadline and len(lines) < 2 * len(eligible):
                time.sleep(0.2)
                if out.exists():
                    lines = [line for line in out.read_bytes().splitlines() if line]
            _stop(benthic)
        assert benthic.returncode == 0, log_path.read_text()
        # the lines codec ends each multi-message batch with an empty line
        events = [orjson.loads(line) for line in out.read_bytes().splitlines() if line]
        assert len(events) >= 2 * len(eligible), log_path.read_text()[-4000:]
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
        assert SECRET not in log_path.read_text()
    finally:
        if benthic is not None:
            _stop(benthic)
        _stop(simulator)
