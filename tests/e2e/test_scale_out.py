"""The scale-out topology of ``examples/scale_out/`` survives what production does to it.

Two ingest replicas take CloudEvents POSTed concurrently and store them in NATS JetStream (or a
Redis stream); two delivery replicas share the stream and forward batches to an OpenMeter sink. A
delivery replica is killed with SIGKILL mid-stream and restarted, the broker is restarted once,
and still: every event reaches the sink, the only repeats are redeliveries of what was in flight,
both delivery replicas carried a share, and a client re-POSTing delivered events delivers nothing
twice (on NATS, through JetStream's duplicate window).

The issue asks for 20,000 events; these tests POST 4,000 (NATS) and 3,000 (Redis) so that the
two stay within about 90 s on a two-core machine; ``bench/scale_out.py`` runs the larger loads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e._scale_out import Topology, post_events
from tests.e2e.sink import RecordingSink
from tests.servers import NatsServer, RedisServer

NATS_EVENTS = 4000
REDIS_EVENTS = 3000


@pytest.fixture
def openmeter() -> Iterator[RecordingSink]:
    with RecordingSink(path="/api/v1/events", status=204) as sink:
        yield sink


class Poster(threading.Thread):
    """POSTs events from a thread of its own while the test breaks things."""

    def __init__(self, urls: list[str], numbers: list[int]) -> None:
        super().__init__(daemon=True)
        self.urls, self.numbers = urls, numbers
        self.outcome: dict[str, int] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.outcome = asyncio.run(post_events(self.urls, self.numbers))
        except BaseException as err:  # reported by the test
            self.error = err

    def result(self, timeout: float = 120) -> dict[str, int]:
        self.join(timeout)
        assert not self.is_alive(), "the client did not finish posting"
        if self.error is not None:
            raise self.error
        return self.outcome


def ids_by_instance(sink: RecordingSink) -> tuple[Counter[str], Counter[str]]:
    ids: Counter[str] = Counter()
    instances: Counter[str] = Counter()
    for request in sink.accepted():
        events = request.events()
        ids.update(str(e["id"]) for e in events)
        instances[request.header("x-collector-instance") or "?"] += len(events)
    return ids, instances


def wait_for_delivered(sink: RecordingSink, count: int, timeout: float = 90) -> None:
    def delivered(s: RecordingSink) -> bool:
        return len({e["id"] for r in s.requests if r.accepted for e in r.events()}) >= count

    if not sink.wait_for(delivered, timeout):
        ids, _ = ids_by_instance(sink)
        raise AssertionError(f"the sink holds {len(ids)} distinct events of {count}")


def test_jetstream_topology_delivers_every_event_through_a_kill_and_a_server_restart(
    openmeter: RecordingSink,
) -> None:
    with NatsServer() as nats:
        topology = Topology("nats", nats.url, openmeter.base_url)
        try:
            first = topology.delivery("delivery-0")
            topology.delivery("delivery-1")
            _, url_a = topology.ingest("ingest-0")
            _, url_b = topology.ingest("ingest-1")
            poster = Poster([url_a, url_b], list(range(NATS_EVENTS)))
            poster.start()

            wait_for_delivered(openmeter, NATS_EVENTS // 4)
            first.kill()
            first.start("Input type nats_jetstream is now active")

            wait_for_delivered(openmeter, NATS_EVENTS // 2)
            nats.restart(down_for=0.5)

            outcome = poster.result()
            wait_for_delivered(openmeter, NATS_EVENTS)
            ids, instances = ids_by_instance(openmeter)
            assert set(ids) == {f"evt-{n}" for n in range(NATS_EVENTS)}
            repeats = sum(c - 1 for c in ids.values())
            # only what was in flight comes again: at most max_ack_pending (512) per incident
            assert repeats <= 2 * 512, f"{repeats} repeated events; outcome {outcome}"
            assert instances["delivery-0"] > 0 and instances["delivery-1"] > 0, instances

            # a client retrying events that were delivered: JetStream's duplicate window absorbs them
            settled = sum(ids.values())
            again = asyncio.run(post_events([url_a, url_b], list(range(0, NATS_EVENTS, 10))))
            assert again == {"204": NATS_EVENTS // 10}
            time.sleep(3)
            after, _ = ids_by_instance(openmeter)
            assert sum(after.values()) == settled, "re-POSTed events were delivered again"
        finally:
            topology.cleanup()


def redis_pending(url: str) -> int:
    import redis  # optional dependency: the benthic[redis] extra (installed with the test extra)

    client = redis.Redis.from_url(url)
    try:
        info: Any = client.xpending("openmeter-events", "openmeter-delivery")
        return int(info["pending"])
    finally:
        client.close()


def test_redis_streams_topology_delivers_every_event_when_a_consumer_is_killed_and_restarted(
    openmeter: RecordingSink,
) -> None:
    with RedisServer(password="s3cret-pw") as redis_server:
        topology = Topology("redis", redis_server.url, openmeter.base_url)
        try:
            first = topology.delivery("delivery-0")
            topology.delivery("delivery-1")
            _, url_a = topology.ingest("ingest-0")
            _, url_b = topology.ingest("ingest-1")
            poster = Poster([url_a, url_b], list(range(REDIS_EVENTS)))
            poster.start()

            wait_for_delivered(openmeter, REDIS_EVENTS // 3)
            first.kill()
            # restarted under the same client_id: it delivers the entries it had taken first
            first.start("Input type redis_streams is now active")

            poster.result()
            wait_for_delivered(openmeter, REDIS_EVENTS)
            ids, instances = ids_by_instance(openmeter)
            assert set(ids) == {f"evt-{n}" for n in range(REDIS_EVENTS)}
            repeats = sum(c - 1 for c in ids.values())
            assert repeats <= 1000, f"{repeats} repeated events"
            assert instances["delivery-0"] > 0 and instances["delivery-1"] > 0, instances
            deadline = time.monotonic() + 20
            while redis_pending(redis_server.url) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert redis_pending(redis_server.url) == 0, "the group's pending list did not drain"
            assert "s3cret-pw" not in "".join(r.process.output for r in topology.replicas if r.process)
        finally:
            topology.cleanup()
