"""The metric processor: custom metrics under the processor's label and path."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.engine import run_processors  # noqa: E402
from pipeline.message import Message  # noqa: E402
from tests.outputs.test_http_client import Harness, needs_meta  # noqa: E402

PATH = "root.output.output.batching.processors.0"


def run(h: Harness, conf: dict[str, Any], batch: list[Message]) -> list[list[Message]]:
    stages = h.manager.build_processors([{"metric": conf}], "root.output.output.batching.processors")
    return asyncio.run(run_processors(stages, batch))


def test_counter_adds_one_per_message_and_passes_the_batch_on() -> None:
    h = Harness()
    batch = [Message(b"a"), Message(b"b"), Message(b"c")]
    [out] = run(h, {"type": "counter", "name": "openmeter_events_sent", "value": 1}, batch)
    assert out == batch
    assert h.metrics.value("openmeter_events_sent", label="", path=PATH) == 3
    assert (
        'openmeter_events_sent{label="",path="root.output.output.batching.processors.0"} 3'
        in h.metrics.prometheus_text()
    )


def test_counter_by_gauge_and_timing_read_the_value() -> None:
    h = Harness()
    run(
        h,
        {"type": "counter_by", "name": "bytes_seen", "value": "${! content().length() }"},
        [Message(b"abc"), Message(b"de")],
    )
    run(
        h,
        {"type": "gauge", "name": "last_size", "value": "${! content().length() }"},
        [Message(b"abc"), Message(b"de")],
    )
    run(h, {"type": "timing", "name": "took_ns", "value": "1500"}, [Message(b"x")])
    assert h.metrics.value("bytes_seen", label="", path=PATH) == 5
    assert h.metrics.value("last_size", label="", path=PATH) == 2
    assert h.metrics.value("took_ns", label="", path=PATH) == 1


@needs_meta
def test_labels_are_interpolated_per_message() -> None:
    h = Harness()
    conf = {"type": "counter", "name": "events_by_type", "labels": {"type": '${! meta("t") }'}}
    run(h, conf, [Message(b"", {"t": "workload"}), Message(b"", {"t": "pod"}), Message(b"", {"t": "pod"})])
    assert h.metrics.value("events_by_type", label="", path=PATH, type="pod") == 2
    assert h.metrics.value("events_by_type", label="", path=PATH, type="workload") == 1


def test_a_bad_value_is_logged_and_skipped_without_flagging_the_message() -> None:
    h = Harness()
    batch = [Message(b"x"), Message(b"y")]
    [out] = run(h, {"type": "counter_by", "name": "n", "value": "${! content() }"}, batch)
    assert all(m.error is None for m in out)
    assert h.metrics.value("n", label="", path=PATH) == 0
    assert "Handler error:" in h.logs.getvalue()
    run(h, {"type": "gauge", "name": "g", "value": "-3"}, [Message(b"")])
    assert "is negative" in h.logs.getvalue()
