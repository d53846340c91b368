"""The ``compress`` processor: replace each message's bytes with their compressed form.

Upstream offers ``flate``, ``gzip``, ``lz4``, ``pgzip``, ``snappy`` and ``zlib`` with an optional
``level``. The codecs are the Bloblang ``compress`` method's (one implementation serves both), so
the bytes match what ``root = content().compress("gzip")`` produces. Where we differ: ``snappy``
has no codec in benthic and is refused at lint; ``lz4`` needs the ``full`` extra. A message that
fails to compress keeps its bytes and is flagged with the error.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.errors import EvalError
from mapping_lang.methods.encoding import compress as compress_value
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, enum, integer

ALGORITHMS = ("flate", "gzip", "lz4", "pgzip", "snappy", "zlib")
UNSUPPORTED = {"snappy": "benthic has no snappy codec"}

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
    algorithm = conf["algorithm"]
    if algorithm in UNSUPPORTED:
        return [f"algorithm {algorithm} is not supported: {UNSUPPORTED[algorithm]}"]
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
