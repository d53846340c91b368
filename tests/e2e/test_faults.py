"""The seed config (with ``--set`` overrides for a 1s schedule and short retry periods) against a
sink that misbehaves: afterwards the sink holds every event that should be there, once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.e2e.conftest import SEED_CONFIG, Simulator
from tests.e2e.sink import RecordingSink
from tests.ports import free_port

pytestmark = pytest.mark.usefixtures("seed_config_runs")

CLIENT = "output.drop_on.output.http_client"
WORKLOADS = 6


def fast_seed(*extra: str) -> list[str]:
    return [
        "run",
        "--set", f"http.address=127.0.0.1:{free_port()}",
        "--set", "input.run_ai.schedule='@every 1s'",
        "--set", f"{CLIENT}.retry_period=100ms",
        "--set", f"{CLIENT}.max_retry_backoff=400ms",
        *extra,
        str(SEED_CONFIG),
    ]  # fmt: skip


@pytest.fixture
def small_simulator() -> Any:
    sim = Simulator("--workloads", str(WORKLOADS))
    yield sim
    sim.stop()


def eligible_names() -> set[str]:
    from benthic.simulators.run_ai import generate_fleet

    return {w["name"] for w in generate_fleet(WORKLOADS, 2, 1).eligible_workloads()}


def ids(requests: list[Any]) -> list[tuple[str, str]]:
    return [(e["source"], e["id"]) for r in requests for e in r.events()]


def assert_delivered_once(sink: RecordingSink, *, allow_identical_resends: bool = False) -> None:
    """No (source, id) is accepted twice, and every event of a failed (not dropped) request was
    accepted later, with the same bytes."""
    accepted = sink.accepted()
    counts = Counter(ids(accepted))
    if allow_identical_resends:
        seen: dict[tuple[str, str], Any] = {}
        for event in (e for r in accepted for e in r.events()):
            key = (event["source"], event["id"])
            assert seen.setdefault(key, event) == event, f"{key} was accepted twice with different content"
    else:
        assert [k for k, n in counts.items() if n > 1] == []
    retried = [r for r in sink.requests if not r.accepted and r.status != 400]
    assert set(ids(retried)) <= set(counts), "an event of a failed request never arrived"
    names = eligible_names()
    for request in accepted:
        assert {e["subject"] for e in request.events()} == names


def run_until_events(benthic: Any, simulator: Simulator, sink: RecordingSink, events: int, *args: str) -> Any:
    proc = benthic(*fast_seed(*args), env={**simulator.env(), "OPENMETER_URL": sink.base_url})
    sink.wait_for_events(events, timeout=60)
    assert proc.stop() == 0
    return proc


def test_a_sink_answering_503_for_a_while_gets_every_event_once(
    benthic: Any, small_simulator: Simulator, sink: RecordingSink
) -> None:
    sink.fail_next(5, status=503)
    proc = run_until_events(benthic, small_simulator, sink, 3 * len(eligible_names()))
    assert [r.status for r in sink.requests[:5]] == [503] * 5
    assert_delivered_once(sink)
    assert "unexpected response code (503): 503 Service Unavailable" in proc.output


def test_a_sink_answering_429_is_retried_with_backoff(
    benthic: Any, small_simulator: Simulator, sink: RecordingSink
) -> None:
    sink.fail_next(3, status=429)
    run_until_events(benthic, small_simulator, sink, 2 * len(eligible_names()))
    assert [r.status for r in sink.requests[:3]] == [429] * 3
    assert_delivered_once(sink)


def test_a_400_is_dropped_by_both_drop_on_layers_and_logged(
    benthic: Any, small_simulator: Simulator, sink: RecordingSink
) -> None:
    sink.fail_next(1, status=400)
    proc = run_until_events(benthic, small_simulator, sink, 2 * len(eligible_names()))
    rejected = sink.requests[0]
    assert rejected.status == 400
    dropped = set(ids([rejected]))
    # http_client's drop_on: no retry of that request; the outer drop_on: acked, never re-sent
    assert [r for r in sink.requests if set(ids([r])) & dropped] == [rejected]
    assert "Message dropped due to error matching pattern 0: " in proc.output
    assert "unexpected response code (400): 400 Bad Request" in proc.output
    assert_delivered_once(sink)


def test_a_sink_refusing_connections_gets_everything_once_it_is_up(
    benthic: Any, small_simulator: Simulator
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = benthic(*fast_seed(), env={**small_simulator.env(), "OPENMETER_URL": url})
    proc.wait_for_output(rf"dial tcp 127\.0\.0\.1:{port}: connect: connection refused", timeout=60)
    with RecordingSink(port=port) as sink:
        sink.wait_for_events(2 * len(eligible_names()), timeout=60)
        assert proc.stop() == 0
        assert_delivered_once(sink)


def test_a_sink_slower_than_the_timeout_is_retried_with_the_same_bytes(
    benthic: Any, small_simulator: Simulator, sink: RecordingSink
) -> None:
    sink.slow_next(1, delay=1.5)
    run_until_events(
        benthic, small_simulator, sink, 3 * len(eligible_names()), "--set", f"{CLIENT}.timeout=500ms"
    )
    # the slow request was answered after the client had given up on it (the attempt timed out
    # and was retried, which upstream does not log unless every retry fails): its events were
    # sent again, with the same ids and content, so OpenMeter's (source, id) dedup keeps one each
    resent = [key for key, n in Counter(ids(sink.accepted())).items() if n > 1]
    assert resent, "the slow request's events were not sent again"
    assert_delivered_once(sink, allow_identical_resends=True)
