"""Turning messages into a byte stream: the ``codec`` of the ``stdout`` and ``file`` outputs
(``lines``, ``delim:X``, ``all-bytes``, ``append``)."""

from __future__ import annotations

from pipeline.message import Message

CODEC_DESCRIPTION = (
    "How messages are framed in what is written: `lines` puts a newline after each, `delim:x` puts "
    "the string x after each, `all-bytes` writes each message as the whole file (replacing what was "
    "there) and `append` adds messages with nothing between them."
)


def encoder(codec: str) -> tuple[bytes, bool]:
    """(suffix written after each message, whether the output appends to a stream)."""
    if codec == "lines":
        return b"\n", True
    if codec.startswith("delim:"):
        delim = codec[len("delim:") :]
        if not delim:
            raise ValueError("custom delimiter codec requires a non-empty delimiter")
        return delim.encode(), True
    if codec == "append":
        return b"", True
    if codec == "all-bytes":
        return b"", False
    raise ValueError(f"codec was not recognised: {codec} (supported: lines, delim:X, all-bytes, append)")


def encode_batch(batch: list[Message], suffix: bytes) -> bytes:
    """Each message followed by the suffix, unless it already ends with it (as upstream)."""
    if not suffix:
        return b"".join(m.content for m in batch)
    return b"".join(m.content if m.content.endswith(suffix) else m.content + suffix for m in batch)


def check_codec(codec: str) -> list[str]:
    try:
        encoder(codec)
    except ValueError as err:
        return [str(err)]
    return []
