"""Turning messages into a byte stream: the ``codec`` of the ``stdout`` and ``file`` outputs
(``lines``, ``delim:X``, ``all-bytes``, ``append``)."""

from __future__ import annotations

from pipeline.message import Message

CODEC_DESCRIPTION = (
    "The way in which the bytes of messages should be written out into the output data stream: "
    "`lines` (a newline after each message), `delim:x`, `all-bytes` (one file per message for `file`) or `append`."
)


def encoder(codec: str) -> tuple[bytes, bool]:
    """(separator after each message, batch as one block)."""
    if codec == "lines":
        return b"\n", False
    if codec.startswith("delim:"):
        delim = codec[len("delim:") :]
        if not delim:
            raise ValueError("delim codec requires a non-empty delimiter")
        return delim.encode(), False
    if codec in ("all-bytes", "append"):
        return b"", False
    raise ValueError(f"codec {codec} is not supported (supported: lines, delim:X, all-bytes, append)")


def encode_batch(batch: list[Message], separator: bytes) -> bytes:
    """Messages of a batch, each followed by the separator; a batch of several messages is
    followed by an empty line as upstream's lines codec does (a batch boundary)."""
    if separator == b"\n" and len(batch) > 1:
        return b"".join(m.content + b"\n" for m in batch) + b"\n"
    return b"".join(m.content + separator for m in batch)


def check_codec(codec: str) -> list[str]:
    try:
        encoder(codec)
    except ValueError as err:
        return [str(err)]
    return []
