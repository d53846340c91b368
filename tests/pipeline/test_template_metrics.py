"""Metrics mappings: a template's ``metrics_mapping`` and the root ``metrics.mapping``, seen on
``/metrics`` of the real CLI."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.pipeline.conftest import start_cli
from tests.pipeline.test_service import stop, wait_answering
from tests.ports import free_port

# an input template whose metrics_mapping renames input_received, drops the metrics of the
# processors it generates, tags every series with the template's name and relabels with $label
TICKS = """name: ticks
type: input
fields:
  - name: interval
    type: string
    default: 10ms
mapping: |
  root.generate = {"interval": this.interval, "mapping": "root = \\"tick\\""}
  root.processors = [{"mapping": "root = content().uppercase()"}]
metrics_mapping: |
  root = if this == "input_received" { "ticks_received" } else if this.has_prefix("processor_") { deleted() }
  meta template = "ticks"
  meta label = "t_" + $label
"""


def _series(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def _scrape_until(url: str, wanted: str) -> dict[str, float]:
    deadline = time.monotonic() + 30
    while True:
        series = _series(httpx.get(url, timeout=5).text)
        if series.get(wanted, 0) > 0 or time.monotonic() > deadline:
            return series
        time.sleep(0.1)


def test_template_metrics_mapping_renames_relabels_and_drops_then_the_root_mapping_runs(tmp_path: Path):
    (tmp_path / "ticks.yaml").write_text(TICKS)
    port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(
        f"http:\n  address: 127.0.0.1:{port}\n"
        "input:\n  label: clock\n  ticks: {}\n"
        "pipeline:\n  processors:\n    - label: keep\n      mapping: 'root = content()'\n"
        "output:\n  drop: {}\n"
        "metrics:\n  prometheus: {}\n  mapping: 'root = \"bx_\" + this'\n"
    )
    proc = start_cli("run", "-t", str(tmp_path / "ticks.yaml"), str(config))
    try:
        wait_answering(f"http://127.0.0.1:{port}/ping")
        renamed = 'bx_ticks_received{label="t_clock",path="root.input",template="ticks"}'
        series = _scrape_until(f"http://127.0.0.1:{port}/metrics", renamed)
    finally:
        out, err = stop(proc)
    assert series.get(renamed, 0) > 0, sorted(series)
    names = {key.partition("{")[0] for key in series}
    # the template's mapping ran first, the root mapping's prefix after it
    assert "bx_input_received" not in names and "ticks_received" not in names
    # the template's own processor (root.input.processors.0) reports nothing ...
    assert not [k for k in series if 'path="root.input.processors.0"' in k], sorted(series)
    # ... while components outside the template keep their metrics, without the template's labels
    kept = 'bx_processor_received{label="keep",path="root.pipeline.processors.0"}'
    assert kept in series, sorted(series)
    assert 'bx_output_sent{label="",path="root.output"}' in series, sorted(series)


def test_root_metrics_mapping_can_drop_and_relabel_every_series(tmp_path: Path):
    port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(
        f"http:\n  address: 127.0.0.1:{port}\n"
        "input:\n  label: gen\n  generate:\n    interval: 10ms\n    mapping: 'root = \"x\"'\n"
        "output:\n  drop: {}\n"
        "metrics:\n  prometheus: {}\n  mapping: |\n"
        '    root = if !this.has_prefix("input_") { deleted() }\n'
        "    meta path = deleted()\n"
        '    meta team = "metering"\n'
    )
    proc = start_cli("run", str(config))
    try:
        wait_answering(f"http://127.0.0.1:{port}/ping")
        wanted = 'input_received{label="gen",team="metering"}'
        series = _scrape_until(f"http://127.0.0.1:{port}/metrics", wanted)
    finally:
        stop(proc)
    assert series.get(wanted, 0) > 0, sorted(series)
    assert all(key.startswith("input_") for key in series), sorted(series)
