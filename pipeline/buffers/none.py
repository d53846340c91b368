"""The ``none`` buffer: no buffer; the input hands transactions straight to the pipeline."""

from __future__ import annotations

from pipeline import spec as s
from pipeline.plugin import register_buffer

register_buffer(
    s.ComponentSpec(
        "none",
        "buffer",
        summary="No buffer: messages go straight from the input to the pipeline and are acknowledged only once delivered. The default, and the one that loses nothing on a crash.",
    ),
    lambda conf, res: None,
)
