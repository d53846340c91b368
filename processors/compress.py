"""The ``compress`` processor: replace each message's bytes with their compressed form.

Upstream offers ``flate``, ``gzip``, ``lz4``, ``pgzip``, ``snappy``, ``zlib`` and ``zstd`` with an
optional ``level``. The codecs are the Bloblang ``compress`` method's (one implementation serves
both), so the bytes match what ``root = content().compress("gzip")`` produces. As upstream,
``snappy`` writes a single Snappy block (not the framed stream format) and ``zstd`` one zstd frame,
with ``level`` mapped onto the four speeds of Go's encoder (below 3 fastest, below 6 default,
below 10 better, otherwise best). Where we differ: ``lz4``, ``snappy`` and ``zstd`` need the
``full`` extra (lint says so when it is missing), and the encoders are not Go's, so the bytes are
valid for any decoder but not identical to Go's. A message that fails to compress keeps its bytes
and is flagged with the error.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.errors import EvalError
from mapping_lang.methods.encoding import compress as compress_value
from mapping_lang.methods.encoding import require_codec
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, enum, integer

ALGORITHMS = ("flate", "gzip", "lz4", "pgzip", "snappy", "zlib", "zstd")

SPEC = ComponentSpec(
    "compress",
    "processor",
    summary="Compresses each message with the chosen algorithm.",
    description="The compressed bytes take the place of the message's payload; metadata is kept.",
    categories=("Parsing",),
    fields=[
        enum("algorithm", ALGORITHMS, "Which compression algorithm to apply."),
        integer(
            "level",
            "How hard to compress, where the algorithm has levels; -1 picks the algorithm's default.",
            default=-1,
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    try:
        require_codec(conf["algorithm"])
    except EvalError as err:
        return [str(err)]
    return []


SPEC.lint = _lint


class Compress:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.algorithm = conf["algorithm"]
        self.level = conf["level"]

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            try:
                msg.content = compress_value(None, msg.content, self.algorithm, self.level)
            except EvalError as err:
                msg.error = f"failed to compress message: {err}"
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, Compress)
