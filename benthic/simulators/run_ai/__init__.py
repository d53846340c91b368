"""A Run:ai control-plane API simulator, for the tests, the benchmark and the demo.

One concept per module:

- ``fleet``: the workloads and pods it serves, generated from a seed;
- ``values``: the metric values, a pure function of (resource, metric type, time[, gpu]);
- ``server``: the HTTP API, its token handling and fault injection (``RunAISimulator``);
- ``cli``: ``benthic simulate run_ai`` (and ``python -m benthic.simulators.run_ai``).

It is a tool, not a component: it sits above the components and may import their constants (the
metric type lists of ``inputs.run_ai.client``).
"""

from benthic.simulators.run_ai.cli import main
from benthic.simulators.run_ai.fleet import Fleet, format_quantity, generate_fleet
from benthic.simulators.run_ai.server import (
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    RequestRecord,
    RunAISimulator,
    _fmt_value,
)
from benthic.simulators.run_ai.values import gpu_count, metric_value, parse_quantity

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_APP_SECRET",
    "Fleet",
    "RequestRecord",
    "RunAISimulator",
    "_fmt_value",
    "format_quantity",
    "generate_fleet",
    "gpu_count",
    "main",
    "metric_value",
    "parse_quantity",
]
