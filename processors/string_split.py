"""The ``string_split`` processor: a message's content split by a delimiter into a JSON array.

As upstream (``internal/impl/text/processor_string_split.go``): each message becomes an array of
the pieces between delimiters (an empty delimiter splits into single characters), metadata kept;
``empty_as_null`` turns empty pieces into ``null``; ``emit_bytes`` keeps the pieces as bytes, which
JSON carries as base64 strings, as Go's encoder does. Content that is not UTF-8 has each bad byte
read as U+FFFD, which is what upstream's JSON encoder writes for it.
"""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, boolean, string

SPEC = ComponentSpec(
    "string_split",
    "processor",
    summary="Turns each message into an array of the parts of its content between delimiters.",
    description=(
        "A mapping with `content().string().split(...)` does the same and more; this processor "
        "is for the plain case."
    ),
    categories=("Parsing",),
    fields=[
        string("delimiter", "The text between the parts.", default="\n"),
        boolean("emit_bytes", "Keep each part as bytes instead of a string.", default=False, advanced=True),
        boolean("empty_as_null", "Write empty parts as null.", default=False),
    ],
)


def _split(content: bytes, delimiter: bytes, as_bytes: bool) -> list[Any]:
    if as_bytes:
        if delimiter:
            return list(content.split(delimiter))
        # UTF-8 sequences, a byte that is not part of one on its own (as Go's bytes.Split)
        return [
            bytes([ord(ch) - 0xDC00]) if 0xDC80 <= ord(ch) <= 0xDCFF else ch.encode()
            for ch in content.decode("utf-8", "surrogateescape")
        ]
    text = content.decode("utf-8", "replace")
    if delimiter:
        return text.split(delimiter.decode("utf-8", "replace"))
    return list(text)


class StringSplit:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.delimiter = str(conf["delimiter"]).encode()
        self.emit_bytes = bool(conf["emit_bytes"])
        self.empty_as_null = bool(conf["empty_as_null"])

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out = []
        for msg in batch:
            parts = _split(msg.content, self.delimiter, self.emit_bytes)
            if self.empty_as_null:
                parts = [None if len(part) == 0 else part for part in parts]
            new = msg.copy()
            new.set_structured(parts)
            out.append(new)
        return [out]

    async def close(self) -> None:
        return None


register_processor(SPEC, StringSplit)
