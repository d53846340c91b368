"""The ``none`` buffer: no buffer; the input hands transactions straight to the pipeline."""

from __future__ import annotations

from pipeline import spec as s
from pipeline.plugin import register_buffer

register_buffer(
    s.ComponentSpec(
        "none",
        "buffer",
        summary="Do not buffer messages. This is the default and most resilient configuration.",
    ),
    lambda conf, res: None,
)
