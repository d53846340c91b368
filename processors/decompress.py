"""The ``decompress`` processor: replace each message's bytes with their decompressed form.

Upstream reads ``bzip2``, ``flate``, ``gzip``, ``lz4``, ``pgzip``, ``snappy``, ``zlib`` and
``zstd``. The codecs are the Bloblang ``decompress`` method's. As upstream, ``snappy`` reads one
Snappy block (the framed stream format is the ``decompress`` scanner's) and ``zstd`` reads any
number of concatenated frames. Where we differ: ``lz4``, ``snappy`` and ``zstd`` need the ``full``
extra, and lint says so when it is missing. A message that fails to decompress keeps its bytes and
is flagged with the error, as upstream.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.errors import EvalError
from mapping_lang.methods.encoding import decompress as decompress_value
from mapping_lang.methods.encoding import require_codec
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, enum

ALGORITHMS = ("bzip2", "flate", "gzip", "lz4", "pgzip", "snappy", "zlib", "zstd")

SPEC = ComponentSpec(
    "decompress",
    "processor",
    summary="Decompresses each message with the chosen algorithm.",
    description="The decompressed bytes take the place of the message's payload; metadata is kept.",
    categories=("Parsing",),
    fields=[enum("algorithm", ALGORITHMS, "Which algorithm the payloads were compressed with.")],
)


def _lint(conf: Any) -> list[str]:
    try:
        require_codec(conf["algorithm"])
    except EvalError as err:
        return [str(err)]
    return []


SPEC.lint = _lint


def decompress_bytes(data: bytes, algorithm: str) -> bytes:
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
