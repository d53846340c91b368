"""The ``redpanda_data_transform`` processor: refused, with the reason.

Upstream runs a Redpanda Data Transform module (wazero, WASI) through the host module
``redpanda_transform``: the module drives its own loop, pulling batch headers and records in
Kafka's record encoding (varint lengths, keys, headers, timestamps) and writing records back,
with an ABI version check, per-record timeouts and memory pages. That ABI belongs to Redpanda's
transform SDKs rather than to Redpanda Connect, and is not small; benthic does not emulate it.
The spec is kept, with upstream's fields, so that lint names this component and says why rather
than failing to infer its type. Use the ``wasm`` processor for a module of one's own.
"""

from __future__ import annotations

from typing import Any

from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, any_field, duration, integer, interp, string

REFUSAL = (
    "redpanda_data_transform is not supported by benthic: it would need Redpanda's data-transform "
    "ABI (the redpanda_transform host module and Kafka record encoding); use the wasm processor"
)

SPEC = ComponentSpec(
    "redpanda_data_transform",
    "processor",
    summary="Not supported by benthic: upstream runs a Redpanda data-transform module over each message.",
    description="Refused at lint: benthic does not emulate Redpanda's data-transform ABI.",
    categories=("Utility",),
    fields=[
        string("module_path", "Where the transform's `.wasm` file is."),
        interp("input_key", "The record key handed to the transform for each message.", optional=True),
        string(
            "output_key",
            "The metadata key that receives the key of each record the transform writes.",
            optional=True,
        ),
        any_field("input_headers", "Which metadata values become message headers.", optional=True),
        any_field("output_metadata", "Which message headers become metadata.", optional=True),
        interp(
            "timestamp",
            "The record timestamp handed to the transform for each message.",
            optional=True,
            advanced=True,
        ),
        duration(
            "timeout",
            "How long the transform may take over one message.",
            default="10s",
            advanced=True,
        ),
        integer(
            "max_memory_pages",
            "How many 64 KiB pages of memory the module may grow to.",
            default=1600,
            advanced=True,
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    return [REFUSAL]


SPEC.lint = _lint


def _refuse(conf: dict[str, Any], res: Any) -> Any:
    raise ValueError(REFUSAL)


register_processor(SPEC, _refuse)
