"""The ``awk`` processor: upstream runs each message through an embedded POSIX AWK interpreter
(GoAWK) with its own functions for metadata and JSON.

benthic does not carry an AWK interpreter: a partial one would run some programs differently
without saying so. The processor is declared with upstream's fields so that ``benthic list``
shows it and configs using it get one clear lint error naming the alternatives, instead of an
unknown-component error.
"""

from __future__ import annotations

from typing import Any

from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, enum, string

REFUSAL = (
    "the awk processor is not supported by benthic (no POSIX AWK interpreter); "
    "use a mapping processor, or run awk itself with the command or subprocess processor"
)

SPEC = ComponentSpec(
    "awk",
    "processor",
    summary="Not supported by benthic: configs that use it fail lint with a pointer to the alternatives.",
    categories=("Mapping",),
    status="experimental",
    fields=[
        enum(
            "codec",
            ("none", "text", "json"),
            "How the message is presented to the program (upstream).",
            optional=True,
        ),
        string("program", "The AWK program (upstream)."),
    ],
    lint=lambda conf: [REFUSAL],
)


def _refuse(conf: Any, res: Any) -> Any:
    raise ValueError(REFUSAL)


register_processor(SPEC, _refuse)
