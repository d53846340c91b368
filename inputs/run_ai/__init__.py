"""The ``run_ai`` input: Run:ai workload and pod metrics on a schedule (OpenMeter-compatible).

Modules: ``input`` (the spec, the registration and the input itself), ``client`` (token,
listing, metrics), ``schedule`` (cron, windows, delivery bookkeeping), ``resources`` (the message
bodies). The Run:ai API simulator that the demo and the tests use is a tool, not part of the
input: it lives in ``benthic.simulators.run_ai``.
"""

from inputs.run_ai.client import POD_METRICS, WORKLOAD_METRICS, RunAIClient, RunAIError
from inputs.run_ai.input import RunAIInput, spec
from inputs.run_ai.schedule import Schedule, Window

__all__ = [
    "POD_METRICS",
    "WORKLOAD_METRICS",
    "RunAIClient",
    "RunAIError",
    "RunAIInput",
    "Schedule",
    "Window",
    "spec",
]
