"""The ``parquet`` processor: upstream's deprecated converter between JSON batches and Parquet
files, whose schema is a JSON document of xitongsys/parquet-go struct tags.

benthic does not read that tag language: a schema written in it would be half understood. The
processor is declared with upstream's fields so that ``benthic list`` shows it and a config using
it gets one lint error naming its replacements, ``parquet_decode`` and ``parquet_encode`` (which
upstream recommends too).
"""

from __future__ import annotations

from typing import Any

from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, enum, string

REFUSAL = (
    "the deprecated parquet processor is not supported by benthic (its schema is parquet-go's tag "
    "language); use parquet_decode to read Parquet files and parquet_encode to write them"
)

SPEC = ComponentSpec(
    "parquet",
    "processor",
    summary="Deprecated upstream and not supported by benthic: use `parquet_decode` and `parquet_encode`.",
    categories=("Parsing",),
    status="deprecated",
    fields=[
        enum("operator", ("to_json", "from_json"), "Which way to convert (upstream)."),
        enum(
            "compression",
            ("uncompressed", "snappy", "gzip", "lz4", "zstd"),
            "Compression of written files (upstream).",
            default="snappy",
        ),
        string("schema_file", "A file holding the schema (upstream).", optional=True),
        string("schema", "The schema as a JSON document (upstream).", optional=True),
    ],
    lint=lambda conf: [REFUSAL],
)


def _refuse(conf: Any, res: Any) -> Any:
    raise ValueError(REFUSAL)


register_processor(SPEC, _refuse)
