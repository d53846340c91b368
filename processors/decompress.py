"""The ``decompress`` processor: replace each message's bytes with their decompressed form.

Upstream reads ``bzip2``, ``flate``, ``gzip``, ``lz4``, ``pgzip``, ``snappy`` and ``zlib``. The
codecs are the Bloblang ``decompress`` method's (``bzip2`` comes from the standard library here,
as Bloblang does not offer it). Where we differ: ``snappy`` has no codec in benthic and is refused
at lint; ``lz4`` needs the ``full`` extra. A message that fails to decompress keeps its bytes and
is flagged with the error, as upstream.
"""

from __future__ import annotations

import bz2
from typing import Any

from mapping_lang.errors import EvalError
from mapping_lang.methods.encoding import decompress as decompress_value
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, enum

ALGORITHMS = ("bzip2", "flate", "gzip", "lz4", "pgzip", "snappy", "zlib")
UNSUPPORTED = {"snappy": "benthic has no snappy codec"}

SPEC = ComponentSpec(
    "decompress",
    "processor",
    summary="Decompresses each message with the chosen algorithm.",
    description="The decompressed bytes take the place of the message's payload; metadata is kept.",
    categories=("Parsing",),
    fields=[enum("algorithm", ALGORITHMS, "Which algorithm the payloads were compressed with.")],
)


def _lint(conf: Any) -> list[str]:
    algorithm = conf["algorithm"]
    if algorithm in UNSUPPORTED:
        return [f"algorithm {algorithm} is not supported: {UNSUPPORTED[algorithm]}"]
    return []


SPEC.lint = _lint


def decompress_bytes(data: bytes, algorithm: str) -> bytes:
    if algorithm == "bzip2":
        try:
            return bz2.decompress(data)
        except (OSError, ValueError) as err:
            raise EvalError(f"bzip2: {err}") from None
    result = decompress_value(None, data, algorithm)
    return bytes(result)


class Decompress:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.algorithm = conf["algorithm"]

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            try:
                msg.content = decompress_bytes(msg.content, self.algorithm)
            except EvalError as err:
                msg.error = f"failed to decompress message: {err}"
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, Decompress)
