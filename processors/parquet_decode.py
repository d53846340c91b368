"""The ``parquet_decode`` processor: a message holding a whole Parquet file becomes one message per
row of the file.

As upstream: each row is a structured message (a copy of the original, metadata kept); the values
are those of ``pipeline/parquet_rows.py``, which says how each Parquet type comes out. A message
that is not a Parquet file (or whose rows do not decode) keeps its content and is flagged with
the error; a file with no rows yields no messages. ``byte_array_as_string`` is deprecated upstream
and changes nothing there or here: BYTE_ARRAY values are always strings. ``handle_logical_types``
takes ``v1`` or ``v2``; upstream's code treats both alike (timestamps and UUIDs are converted
with either), and so does benthic. Files are read with Apache Arrow (the ``parquet`` extra).
"""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.parquet_rows import read_rows, require_pyarrow
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, boolean, enum

SPEC = ComponentSpec(
    "parquet_decode",
    "processor",
    summary="Turns a message holding a Parquet file into one structured message per row.",
    description=(
        "Read the whole file into one message first (for example with the `to_the_end` scanner), "
        "then this processor expands it into a batch. BYTE_ARRAY values become strings, "
        "FIXED_LEN_BYTE_ARRAY values bytes, TIMESTAMP columns timestamps and UUID columns their text "
        "form. Needs the `parquet` extra: `pip install 'benthic[parquet]'`."
    ),
    categories=("Parsing",),
    status="experimental",
    requires=("pyarrow", "parquet"),
    fields=[
        boolean(
            "byte_array_as_string",
            "Deprecated: BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY values are read as strings or bytes as "
            "described above, whatever this says.",
            default=False,
            deprecated=True,
        ),
        enum(
            "handle_logical_types",
            ("v1", "v2"),
            "Which version of logical type handling to apply: `v2` turns TIMESTAMP columns into "
            "timestamps and UUID columns into text (upstream does so with `v1` as well).",
            default="v1",
            examples=("v2",),
        ),
    ],
)


class ParquetDecode:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        require_pyarrow("processor parquet_decode")
        self.logger = res.logger

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        for msg in batch:
            try:
                rows = read_rows(msg.content, logical_types=True)
            except Exception as err:  # pyarrow raises its own error types for a bad file
                msg.error = f"decoding Parquet file: {err}"
                self.logger.debug(f"Processor failed: {msg.error}")
                out.append(msg)
                continue
            for row in rows:
                part = msg.copy()
                part.set_structured(row)
                out.append(part)
        return [out] if out else []

    async def close(self) -> None:
        return None


register_processor(SPEC, ParquetDecode)
