"""The scale-out topology of ``examples/scale_out/`` as real processes, for the end-to-end tests and
``bench/scale_out.py``: ingest replicas (the http-server preset writing to NATS JetStream or a
Redis stream), delivery replicas (a queue consumer or a consumer group, batching, OpenMeter), and
a client that POSTs CloudEvents concurrently and retries what was not acknowledged.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.e2e.conftest import REPO, Process, benthic_argv
from tests.ports import free_port

EXAMPLES = REPO / "examples" / "scale_out"
SCHEMA = REPO / "examples" / "cloudevents.schema.json"
TOKEN = "scale-out-token"


def event(n: int, source: str = "scale-out-test") -> dict[str, Any]:
    return {
        "id": f"evt-{n}",
        "source": source,
        "specversion": "1.0",
        "type": "request",
        "subject": f"customer-{n % 7}",
        "time": "2024-01-02T03:04:05Z",
        "data": {"method": "GET", "path": "/", "duration_ms": n % 100},
    }


@dataclass
class Replica:
    name: str
    config: Path
    env: dict[str, str]
    process: Process | None = None
    http_port: int = field(default_factory=free_port)

    def start(self, ready: str) -> Replica:
        env = {**self.env, "HTTP_ADDRESS": f"127.0.0.1:{self.http_port}", "K8S_APP_INSTANCE": self.name}
        self.process = Process(benthic_argv("run", str(self.config)), env)
        self.process.wait_for_output(ready, timeout=60)
        return self

    def kill(self) -> None:
        """kill -9: no flush, no acknowledgement of what was in flight."""
        assert self.process is not None
        self.process.popen.kill()
        self.process.popen.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(20)

    def cleanup(self) -> None:
        if self.process is not None:
            self.process.cleanup()


@dataclass
class Topology:
    engine: str  # "nats" | "redis"
    broker_url: str
    sink_url: str
    replicas: list[Replica] = field(default_factory=list)

    def broker_env(self) -> dict[str, str]:
        if self.engine == "nats":
            return {"NATS_URL": self.broker_url, "NATS_ACK_WAIT": "6s", "NATS_MAX_ACK_PENDING": "512"}
        return {"REDIS_URL": self.broker_url, "REDIS_CLAIM_MIN_IDLE": "3s"}

    def ingest(self, name: str) -> tuple[Replica, str]:
        port = free_port()
        env = {
            **self.broker_env(),
            "INGEST_ADDRESS": f"127.0.0.1:{port}",
            "CLOUDEVENTS_SCHEMA": str(SCHEMA),
            "LOG_LEVEL": "INFO",
        }
        replica = Replica(name, EXAMPLES / f"ingest_{self.engine}.yaml", env)
        self.replicas.append(replica)
        replica.start("Input type http_server is now active")
        return replica, f"http://127.0.0.1:{port}/api/v1/events"

    def delivery(self, name: str) -> Replica:
        env = {
            **self.broker_env(),
            "OPENMETER_URL": self.sink_url,
            "OPENMETER_TOKEN": TOKEN,
            "RETRY_PERIOD": "200ms",
            "LOG_LEVEL": "INFO",
        }
        replica = Replica(name, EXAMPLES / f"delivery_{self.engine}.yaml", env)
        self.replicas.append(replica)
        active = "nats_jetstream" if self.engine == "nats" else "redis_streams"
        replica.start(f"Input type {active} is now active")
        return replica

    def cleanup(self) -> None:
        for replica in self.replicas:
            replica.cleanup()


async def post_events(
    urls: list[str], numbers: list[int], concurrency: int = 48, deadline: float = 120.0
) -> dict[str, int]:
    """POST one event per request, spread over ``urls``, retrying (as a client would) every request
    that was not answered 204; returns how many attempts ended how."""
    outcome: dict[str, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in numbers:
        queue.put_nowait(n)
    stop_at = time.monotonic() + deadline
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=15, limits=limits) as client:

        async def worker(w: int) -> None:
            attempt = w
            while not queue.empty():
                n = queue.get_nowait()
                while True:
                    attempt += 1
                    url = urls[attempt % len(urls)]
                    try:
                        response = await client.post(
                            url,
                            content=orjson.dumps(event(n)),
                            headers={"Content-Type": "application/cloudevents+json"},
                        )
                        key = str(response.status_code)
                    except httpx.HTTPError as err:
                        key = type(err).__name__
                    outcome[key] = outcome.get(key, 0) + 1
                    if key == "204":
                        break
                    if time.monotonic() > stop_at:
                        raise AssertionError(f"event {n} was never accepted: {outcome}")
                    await asyncio.sleep(0.2)

        await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return outcome
