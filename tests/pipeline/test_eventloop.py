"""The process-level tuning ``benthic run`` applies: the garbage collector's thresholds and the
frozen start-up objects, and the variable that turns it off. Each case runs in a fresh
interpreter, since freezing is process-wide."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import gc
from pipeline import eventloop

async def main():
    return gc.get_threshold()[0], gc.get_freeze_count() > 0

print(*eventloop.run(main()))
"""


def probe(**env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_a_run_freezes_start_up_objects_and_raises_the_young_threshold():
    assert probe(BENTHIC_GC="") == "10000 True"


def test_benthic_gc_default_leaves_the_collector_as_python_set_it():
    assert probe(BENTHIC_GC="default") == "700 False"
