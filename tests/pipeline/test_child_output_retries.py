"""A child of ``broker`` or ``switch`` whose writes fail is sent the same messages again: its
processors run once per event however often the write is retried, so a ``metric`` there counts
each event once and a mapping keeps the first attempt's bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.conftest import cli_env, run_cli


def _parent(kind: str, child: dict[str, Any]) -> dict[str, Any]:
    if kind == "broker":  # fan_out retries a failing child itself, until it delivers
        return {"broker": {"pattern": "fan_out", "outputs": [child]}}
    # without retry_until_success the switch fails and the engine retries the switch
    return {
        "switch": {
            "cases": [
                {"check": "content().string().length() > 0", "output": child},
                {"output": {"drop": {}}},
            ]
        }
    }


@pytest.mark.parametrize("parent", ["broker", "switch"])
def test_a_retried_child_runs_its_processors_once_per_event(tmp_path: Path, plugin_dir: str, parent: str):
    delivered, attempts, metrics = tmp_path / "delivered.txt", tmp_path / "attempts.txt", tmp_path / "m.txt"
    child = {
        "flaky_file": {"path": str(delivered), "attempts_path": str(attempts), "failures": 8},
        "processors": [
            {"metric": {"type": "counter", "name": "events_sent"}},
            {"mapping": 'root = content().string() + " " + uuid_v4()'},
        ],
    }
    config = tmp_path / "children.yaml"
    config.write_text(
        json.dumps(
            {
                "http": {"enabled": False},
                "metrics": {"prometheus": {"file_output_path": str(metrics)}},
                "input": {
                    "generate": {
                        "count": 100,
                        "interval": "",
                        "batch_size": 10,
                        "mapping": "root = counter().string()",
                    }
                },
                "output": _parent(parent, child),
            },
            indent=2,
        )
    )
    result = run_cli("run", str(config), env=cli_env(pythonpath=[plugin_dir]))
    assert result.returncode == 0, result.stderr
    assert len(attempts.read_text().splitlines()) > 100  # writes did fail and were retried
    lines = delivered.read_text().splitlines()
    assert sorted(int(line.split()[0]) for line in lines) == list(range(1, 101))
    counted = re.search(r"^events_sent\{[^}]*\} (\d+)", metrics.read_text(), re.MULTILINE)
    assert counted and int(counted.group(1)) == 100
    # every retry sent the first attempt's bytes (the uuid the child's mapping added)
    assert len(set(attempts.read_text().splitlines())) == 100
