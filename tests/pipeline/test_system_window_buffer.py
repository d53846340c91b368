"""The ``system_window`` buffer: windows by event or arrival time, flushed when the clock passes
their end, with the input's acks held until the window's batch is delivered.

Most cases drive the buffer with a controllable clock (its sleep moves the clock on), so that no
test waits for real windows; the last ones run configs through the real CLI."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.buffers.system_window import SystemWindowBuffer
from pipeline.builder import Manager
from pipeline.errors import ConfigError, EndOfInputError
from pipeline.message import Message
from tests.component_runs import lint, run_lines

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)


def ns(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000_000 + at.microsecond * 1000


class Clock:
    """A clock whose sleep moves time on at once."""

    def __init__(self, at: datetime) -> None:
        self.now = ns(at)

    def __call__(self) -> int:
        return self.now

    def set(self, at: datetime) -> None:
        self.now = ns(at)

    async def sleep(self, seconds: float) -> None:
        self.now += max(1, round(seconds * 1e9))
        await asyncio.sleep(0)


def window_buffer(clock: Clock, **conf: Any) -> SystemWindowBuffer:
    conf.setdefault("timestamp_mapping", "root = this.at")
    buffer = Manager().build_buffer({"system_window": conf}, "root.buffer")
    assert isinstance(buffer, SystemWindowBuffer)
    buffer.clock, buffer.sleep = clock, clock.sleep
    buffer.oldest_ts = clock()
    return buffer


def event(at: datetime, **fields: Any) -> Message:
    return Message(json.dumps({"at": at.isoformat().replace("+00:00", "Z"), **fields}).encode())


class Acks:
    """The acknowledgements the input received, one list per written batch."""

    def __init__(self) -> None:
        self.results: list[list[str | None]] = []

    def for_batch(self):
        got: list[str | None] = []
        self.results.append(got)

        async def ack(err: BaseException | None) -> None:
            got.append(None if err is None else str(err))

        return ack


def contents(batch: list[Message]) -> list[Any]:
    return [json.loads(m.content)["n"] for m in batch]


def test_a_tumbling_window_is_flushed_once_the_clock_passes_its_end_and_acks_wait_for_delivery():
    async def run() -> None:
        clock = Clock(T0 + timedelta(seconds=1))
        buffer = window_buffer(clock, size="10s")
        acks = Acks()
        await buffer.write(
            [event(T0 + timedelta(seconds=2), n=1), event(T0 + timedelta(seconds=9), n=2)], acks.for_batch()
        )
        await buffer.write([event(T0 + timedelta(seconds=12), n=3)], acks.for_batch())
        assert acks.results == [[], []]  # held until the window is delivered

        batch, ack = await buffer.read()
        assert contents(batch) == [1, 2]
        assert {m.metadata["window_end_timestamp"] for m in batch} == {"2026-03-01T10:00:10Z"}
        assert clock() >= ns(T0 + timedelta(seconds=10))
        assert acks.results == [[], []]
        await ack(None)
        assert acks.results == [[None], []]

        batch, ack = await buffer.read()
        assert contents(batch) == [3]
        assert batch[0].metadata["window_end_timestamp"] == "2026-03-01T10:00:20Z"
        await ack(RuntimeError("output down"))
        assert acks.results == [[None], ["output down"]]

    asyncio.run(run())


def test_a_message_on_a_boundary_belongs_to_the_window_that_ends_there():
    async def run() -> list[str]:
        clock = Clock(T0 + timedelta(seconds=1))
        buffer = window_buffer(clock, size="10s")
        await buffer.write([event(T0 + timedelta(seconds=10), n=1)], Acks().for_batch())
        batch, _ = await buffer.read()
        return [m.metadata["window_end_timestamp"] for m in batch]

    assert asyncio.run(run()) == ["2026-03-01T10:00:10Z"]


def test_sliding_windows_deliver_a_message_in_each_window_and_ack_it_on_the_first():
    async def run() -> None:
        clock = Clock(T0 + timedelta(seconds=6))
        buffer = window_buffer(clock, size="10s", slide="5s")
        acks = Acks()
        await buffer.write([event(T0 + timedelta(seconds=7), n=1)], acks.for_batch())
        ends = []
        for _ in range(2):
            batch, ack = await buffer.read()
            assert contents(batch) == [1]
            ends.append(batch[0].metadata["window_end_timestamp"])
            await ack(None)
        assert ends == ["2026-03-01T10:00:10Z", "2026-03-01T10:00:15Z"]
        assert acks.results == [[None]]  # once, on the first delivery

    asyncio.run(run())


def test_offset_moves_the_window_boundaries():
    async def run() -> str:
        clock = Clock(T0 + timedelta(minutes=40))
        buffer = window_buffer(clock, size="1h", offset="30m")
        await buffer.write([event(T0 + timedelta(minutes=45), n=1)], Acks().for_batch())
        batch, _ = await buffer.read()
        return str(batch[0].metadata["window_end_timestamp"])

    assert asyncio.run(run()) == "2026-03-01T11:30:00Z"


def test_allowed_lateness_keeps_a_window_open_for_late_events():
    async def run() -> list[int]:
        clock = Clock(T0 + timedelta(seconds=1))
        buffer = window_buffer(clock, size="10s", allowed_lateness="3s")
        await buffer.write([event(T0 + timedelta(seconds=5), n=1)], Acks().for_batch())
        reading = asyncio.ensure_future(buffer.read())
        await asyncio.sleep(0)
        # the clock is past the window's end (10:00:10) but within its lateness: a late event joins
        clock.set(T0 + timedelta(seconds=11))
        await buffer.write([event(T0 + timedelta(seconds=8), n=2)], Acks().for_batch())
        batch, _ = await reading
        return contents(batch)

    assert asyncio.run(run()) == [1, 2]


def test_events_of_an_already_flushed_window_are_dropped_and_acked():
    async def run() -> None:
        clock = Clock(T0 + timedelta(seconds=1))
        buffer = window_buffer(clock, size="10s")
        acks = Acks()
        await buffer.write([event(T0 + timedelta(seconds=2), n=1)], acks.for_batch())
        batch, _ = await buffer.read()
        assert contents(batch) == [1]
        # a batch wholly in the flushed window is acknowledged at once ...
        await buffer.write([event(T0 + timedelta(seconds=3), n=2)], acks.for_batch())
        assert acks.results[1] == [None]
        # ... and a mixed batch once its newer part is delivered
        await buffer.write(
            [event(T0 + timedelta(seconds=4), n=3), event(T0 + timedelta(seconds=15), n=4)], acks.for_batch()
        )
        assert acks.results[2] == []
        batch, ack = await buffer.read()
        assert contents(batch) == [4]
        await ack(None)
        assert acks.results[2] == [None]

    asyncio.run(run())


def test_windows_the_output_never_took_are_dropped_when_it_falls_behind():
    async def run() -> None:
        clock = Clock(T0 + timedelta(seconds=1))
        buffer = window_buffer(clock, size="10s")
        acks = Acks()
        await buffer.write([event(T0 + timedelta(seconds=2), n=1)], acks.for_batch())
        clock.set(T0 + timedelta(seconds=35))  # nobody read for three windows
        await buffer.write([event(T0 + timedelta(seconds=33), n=2)], acks.for_batch())
        assert acks.results == [[None], []]  # the stale window went, acknowledged
        batch, _ = await buffer.read()
        assert contents(batch) == [2]

    asyncio.run(run())


def test_a_failing_timestamp_mapping_nacks_the_batch():
    async def run() -> list[list[str | None]]:
        clock = Clock(T0)
        buffer = window_buffer(clock, size="10s")
        acks = Acks()
        await buffer.write([Message(b'{"at":"yesterday"}')], acks.for_batch())
        await buffer.write([Message(b'{"at":true}')], acks.for_batch())
        return acks.results

    first, second = asyncio.run(run())
    assert len(first) == 1 and first[0] is not None
    assert first[0].startswith("unable to parse result of timestamp mapping as timestamp")
    assert second[0] is not None and "unable to parse result of timestamp mapping" in second[0]


def test_numeric_unix_seconds_place_events_too():
    async def run() -> str:
        clock = Clock(T0)
        buffer = window_buffer(clock, size="10s")
        at = T0.timestamp() + 2.5
        await buffer.write([Message(json.dumps({"at": at, "n": 1}).encode())], Acks().for_batch())
        batch, _ = await buffer.read()
        return str(batch[0].metadata["window_end_timestamp"])

    assert asyncio.run(run()) == "2026-03-01T10:00:10Z"


def test_the_end_of_input_nacks_events_of_unfinished_windows():
    async def run() -> list[list[str | None]]:
        clock = Clock(T0 + timedelta(seconds=1))
        buffer = window_buffer(clock, size="10s")
        acks = Acks()
        await buffer.write([event(T0 + timedelta(seconds=25), n=1)], acks.for_batch())
        buffer.sleep = asyncio.sleep  # a real 24 s wait: the input ends long before the window does
        reading = asyncio.ensure_future(buffer.read())
        await asyncio.sleep(0.01)
        await buffer.end_of_input()
        with pytest.raises(EndOfInputError):
            await reading
        return acks.results

    assert asyncio.run(run()) == [["message rejected as window did not complete"]]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"size": "10s", "slide": "10s"}, "invalid window slide '10s' must be lower than the size '10s'"),
        ({"size": "1h", "offset": "1h"}, "invalid offset '1h0m0s' must be lower than the size '1h0m0s'"),
        (
            {"size": "1h", "slide": "10m", "offset": "10m"},
            "invalid offset '10m0s' must be lower than the slide '10m0s'",
        ),
        (
            {"size": "1m", "allowed_lateness": "2m"},
            "invalid allowed_lateness '2m0s' must be lower than the size '1m0s'",
        ),
        ({"size": "soon"}, "failed to parse field 'size' as duration: time: invalid duration \"soon\""),
    ],
)
def test_inconsistent_durations_are_refused_with_upstreams_message(fields: dict[str, str], message: str):
    with pytest.raises(ConfigError) as caught:
        Manager().build_buffer({"system_window": fields}, "root.buffer")
    assert message in str(caught.value)


def test_lint_reports_inconsistent_durations(tmp_path: Path):
    result = lint(tmp_path, "buffer:\n  system_window:\n    size: 30s\n    slide: 1m\n")
    assert result.returncode == 1
    assert "lint.yaml(2,3) invalid window slide '1m0s' must be lower than the size '30s'" in result.stderr, (
        result.stderr
    )


def test_the_documented_traffic_example_counts_cars_per_light_and_window(tmp_path: Path):
    # events stamped a little ahead of the clock so that they land in a window still open when
    # the CLI has started
    second = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    created_at = second.strftime("%Y-%m-%dT%H:%M:%S.5Z")
    rows = [
        ("light-a", "AB1 CDE", 3),
        ("light-b", "XY9 ZZZ", 1),
        ("light-a", "FG2 HIJ", 2),
        ("light-a", "AB1 CDE", 1),
    ]
    events = tmp_path / "cars.jsonl"
    events.write_text(
        "".join(
            json.dumps(
                {
                    "traffic_light": light,
                    "created_at": created_at,
                    "registration_plate": plate,
                    "passengers": n,
                }
            )
            + "\n"
            for light, plate, n in rows
        )
    )
    config = f"""
input:
  file:
    paths: [{json.dumps(str(events))}]
    codec: lines
buffer:
  system_window:
    timestamp_mapping: root = this.created_at
    size: 1s
pipeline:
  processors:
    - group_by_value:
        value: '${{! json("traffic_light") }}'
    - mapping: |
        root = if batch_index() == 0 {{
          {{
            "traffic_light": this.traffic_light,
            "created_at": meta("window_end_timestamp"),
            "total_cars": json("registration_plate").from_all().unique().length(),
            "passengers": json("passengers").from_all().sum(),
          }}
        }} else {{ deleted() }}
output:
  stdout: {{}}
"""
    out = sorted(run_lines(tmp_path, config), key=lambda row: row["traffic_light"])
    window_end = (second + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert out == [
        {"traffic_light": "light-a", "created_at": window_end, "total_cars": 2, "passengers": 6},
        {"traffic_light": "light-b", "created_at": window_end, "total_cars": 1, "passengers": 1},
    ]


def test_by_arrival_time_a_finite_input_is_flushed_before_the_run_ends(tmp_path: Path):
    config = """
input:
  generate:
    count: 3
    interval: ""
    mapping: 'root = {"n": counter()}'
buffer:
  system_window:
    size: 1s
pipeline:
  processors:
    - mapping: 'root = {"n": this.n, "batch": batch_size(), "end": meta("window_end_timestamp")}'
output:
  stdout: {}
"""
    started = time.time()
    out = run_lines(tmp_path, config)
    assert sorted(row["n"] for row in out) == [1, 2, 3]
    ends = {row["end"] for row in out}
    assert all(datetime.fromisoformat(end).timestamp() > started for end in ends)
    # each window came out as one batch
    assert all(row["batch"] == sum(1 for other in out if other["end"] == row["end"]) for row in out)
