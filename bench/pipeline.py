"""Events per second through the seed pipeline, against a baseline measured in the same run.

    .venv/bin/python bench/pipeline.py [--events 20000]

- baseline: ``generate`` (run_ai-shaped messages with the run_ai metadata) → ``drop``;
- seed: the same input → the seed's mapping → the seed's output (``drop_on`` → ``http_client``
  with ``count: 100`` batches, ``metric`` + ``archive json_array``) → a sink on 127.0.0.1.

Both run the real engine in-process (``Manager.build_stream``); the sink runs in a thread.
The printed ratio is seed throughput / baseline throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.builder import Manager  # noqa: E402
from pipeline.logs import Logger, LogSink  # noqa: E402
from tests.e2e.sink import RecordingSink  # noqa: E402

WORKLOAD = (
    'root = {"name": "wl-" + counter().string(), "tenantId": 1, "projectId": "100", "departmentId": "1",'
    ' "clusterId": "c-1", "type": "training", "allocatedResources": {"gpu": 2, "cpu": 4},'
    ' "metrics": {"values": {"CPU_LIMIT_CORES": 8, "GPU_ALLOCATION": 2}}}\n'
    'meta scrape_interval = "30s"\nmeta resource_type = "workload"\n'
)


def seed_sections() -> dict[str, Any]:
    return yaml.safe_load((REPO / "examples" / "run_ai.yaml").read_text())


def build(events: int, output: dict[str, Any], processors: list[Any]) -> dict[str, Any]:
    return {
        "input": {"generate": {"mapping": WORKLOAD, "interval": "", "count": events, "batch_size": 100}},
        "pipeline": {"threads": 1, "processors": processors},
        "output": output,
    }


async def run(config: dict[str, Any]) -> float:
    logger = Logger(LogSink(level="ERROR", stream=io.StringIO()))
    manager = Manager(logger=logger)
    stream = manager.build_stream(config)
    started = time.perf_counter()
    await stream.run()
    elapsed = time.perf_counter() - started
    await stream.close()
    return elapsed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args(argv)
    seed = seed_sections()
    with RecordingSink() as sink:
        # the seed writes drop_on's child as a sibling of drop_on (see the report); nest it as meant
        documented = seed["output"]
        output = {
            "label": documented["label"],
            "drop_on": {**documented["drop_on"], "output": documented["output"]},
        }
        client = output["drop_on"]["output"]["http_client"]
        client["url"] = sink.url
        client["dump_request_log_level"] = ""
        baseline = asyncio.run(run(build(args.events, {"drop": {}}, [])))
        seeded = asyncio.run(run(build(args.events, output, seed["pipeline"]["processors"])))
        received = len(sink.events())
    base_rate = args.events / baseline
    seed_rate = args.events / seeded
    print(f"baseline generate -> drop:                 {base_rate:>10.0f} events/s ({baseline:.2f}s)")
    print(
        f"seed mapping -> drop_on/http_client (x100): {seed_rate:>10.0f} events/s ({seeded:.2f}s, {received} events at the sink)"
    )
    print(f"ratio seed/baseline: {seed_rate / base_rate:.3f}")
    return 0 if received >= args.events else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
