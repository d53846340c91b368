"""Throughput of the ingest path OpenMeter's preset uses: http_server → sqlite buffer → output.

    .venv/bin/python bench/bench_ingest_buffer.py [requests] [concurrency]

Posts CloudEvents to an http_server input whose stream stores them in an sqlite buffer (commit
before the 204) and delivers them to a ``drop`` output; prints requests per second answered.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.builder import Manager  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(total: int, concurrency: int) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data = {
            "input": {
                "http_server": {
                    "address": f"127.0.0.1:{port}",
                    "path": "/api/v1/events",
                    "sync_response": {"status": "204"},
                },
                "processors": [{"sync_response": {}}],
            },
            "buffer": {"sqlite": {"path": f"{tmp}/buffer.db", "post_processors": [{"split": {"size": 100}}]}},
            "pipeline": {"threads": 1},
            "output": {"drop": {}},
        }
        stream = Manager().build_stream(data)
        task = asyncio.create_task(stream.run())
        await asyncio.sleep(0.3)
        url = f"http://127.0.0.1:{port}/api/v1/events"
        sent = iter(range(total))
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

            async def worker() -> None:
                for i in sent:
                    body = orjson.dumps(
                        {"id": str(i), "source": "bench", "specversion": "1.0", "type": "t", "subject": "s"}
                    )
                    response = await client.post(url, content=body)
                    assert response.status_code == 204, response.status_code

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
        print(
            f"{total} requests, concurrency {concurrency}: {total / elapsed:.0f} req/s answered (each committed to sqlite)"
        )
        stream.stop()
        await asyncio.wait_for(task, 20)
        await stream.close()


if __name__ == "__main__":
    asyncio.run(
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, int(sys.argv[2]) if len(sys.argv) > 2 else 16)
    )
