"""The ``unarchive`` processor: expand each message into the messages its archive holds.

Every produced message is a copy of the original with all its metadata. ``json_array`` elements
are structured values, so their bytes are re-serialised canonical JSON (sorted keys) when asked
for, as upstream does. A message that fails to unarchive is kept, flagged with the error.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import tarfile
import zipfile
from collections.abc import Callable
from typing import Any

from mapping_lang.gojson import JsonEOF, JsonSyntaxError, decode_first
from mapping_lang.value import parse_json
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, string

FORMATS = ("binary", "csv", "json_array", "json_documents", "json_map", "lines", "tar", "zip")

SPEC = ComponentSpec(
    "unarchive",
    "processor",
    summary="Opens each message as an archive of the chosen format and puts the entries into the batch as messages.",
    description=(
        "The entries take the archive's place in the batch. A message that cannot be read in the chosen "
        "format stays in the batch as it was, flagged as errored."
    ),
    fields=[
        string(
            "format",
            "How to read the archive: " + ", ".join(FORMATS) + " (csv:x for a custom delimiter).",
            check=lambda v: (
                None if v in FORMATS or str(v).startswith("csv:") else f"format not supported: {v}"
            ),
        ),
    ],
)


def _parse(content: bytes) -> Any:
    if not content:
        raise ValueError("target message part does not exist")
    return parse_json(content)


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "<nil>"
    return "json.Number"


def _derive(msg: Message, content: bytes | None = None, structured: Any = None, **meta: str) -> Message:
    out = msg.copy()
    if content is not None:
        out.content = content
    else:
        out.set_structured(structured)
    out.metadata.update(meta)
    return out


def json_array(msg: Message) -> list[Message]:
    try:
        value = _parse(msg.content) if not msg.has_structured() else msg.structured()
    except ValueError as err:
        raise ValueError(f"failed to parse message into JSON array: {err}") from None
    if not isinstance(value, list):
        raise ValueError(f"failed to parse message into JSON array: invalid type '{_go_type(value)}'")
    return [_derive(msg, b"null" if v is None else None, v) for v in value]


def json_map(msg: Message) -> list[Message]:
    try:
        value = _parse(msg.content) if not msg.has_structured() else msg.structured()
    except ValueError as err:
        raise ValueError(f"failed to parse message into JSON map: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"failed to parse message into JSON map: invalid type '{_go_type(value)}'")
    return [_derive(msg, b"null" if v is None else None, v, archive_key=k) for k, v in value.items()]


def json_documents(msg: Message) -> list[Message]:
    # Upstream reads values with one json.Decoder until EOF and fails the whole message on the
    # first bad one, with the decoder's own error. Python's decoder splits the values quickly; when
    # it stops, Go's scanner (``gojson``) reads them again to say what Go would have said.
    raw = msg.content
    text = raw.decode("utf-8", "surrogateescape")  # so that each value's bytes come back exactly
    decoder = json.JSONDecoder()
    out: list[Message] = []
    pos = 0
    try:
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                return out
            _, end = decoder.raw_decode(text, pos)
            out.append(_derive(msg, None, parse_json(text[pos:end].encode("utf-8", "surrogateescape"))))
            pos = end
    except (ValueError, RecursionError) as err:
        raise ValueError(_go_documents_error(raw) or str(err)) from None


def _go_documents_error(raw: bytes) -> str | None:
    """The error Go's decoder meets reading ``raw`` value by value (None: it meets none)."""
    pos = 0
    while True:
        try:
            pos = decode_first(raw, pos)
        except JsonEOF:
            return None
        except JsonSyntaxError as err:
            return str(err)


def lines(msg: Message) -> list[Message]:
    return [_derive(msg, part) for part in msg.content.split(b"\n")]


def binary(msg: Message) -> list[Message]:
    # Benthos' binary batch format: uint32 count, then uint32 length + bytes per message
    data = msg.content
    try:
        (count,) = struct.unpack_from(">I", data, 0)
        offset, out = 4, []
        for _ in range(count):
            (length,) = struct.unpack_from(">I", data, offset)
            offset += 4
            if offset + length > len(data):
                raise ValueError("message length exceeds the remaining bytes")
            out.append(_derive(msg, data[offset : offset + length]))
            offset += length
    except struct.error as err:
        raise ValueError(f"failed to decode binary batch: {err}") from None
    return out


def tar(msg: Message) -> list[Message]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(msg.content), mode="r:") as archive:
        for member in archive:
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            out.append(_derive(msg, handle.read() if handle else b"", archive_filename=member.name))
    return out


def zip_(msg: Message) -> list[Message]:
    out = []
    with zipfile.ZipFile(io.BytesIO(msg.content)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            out.append(_derive(msg, archive.read(info), archive_filename=info.filename))
    return out


def csv_rows(delimiter: str) -> Callable[[Message], list[Message]]:
    def expand(msg: Message) -> list[Message]:
        reader = csv.reader(io.StringIO(msg.content.decode("utf-8", "replace")), delimiter=delimiter)
        rows = list(reader)
        if not rows:
            raise ValueError("failed to parse message as csv: no header row")
        header, out = rows[0], []
        for number, row in enumerate(rows[1:], start=2):
            if len(row) != len(header):
                raise ValueError(
                    f"failed to parse message as csv: record on line {number}: wrong number of fields"
                )
            out.append(_derive(msg, None, dict(zip(header, row, strict=True))))
        return out

    return expand


_UNARCHIVERS: dict[str, Callable[[Message], list[Message]]] = {
    "json_array": json_array,
    "json_map": json_map,
    "json_documents": json_documents,
    "lines": lines,
    "binary": binary,
    "tar": tar,
    "zip": zip_,
    "csv": csv_rows(","),
}


class Unarchive:
    def __init__(self, fmt: str, res: Any) -> None:
        self.res = res
        if fmt.startswith("csv:"):
            delimiter = fmt[4:]
            if len(delimiter) != 1:
                raise ValueError(f"csv delimiter must be a single character: {delimiter!r}")
            self.expand = csv_rows(delimiter)
        elif fmt in _UNARCHIVERS:
            self.expand = _UNARCHIVERS[fmt]
        else:
            raise ValueError(f"format not supported: {fmt}")

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        for msg in batch:
            try:
                out.extend(self.expand(msg))
            except Exception as err:
                self.res.logger.error(f"Failed to unarchive message part: {err}")
                msg.error = str(err)
                out.append(msg)
        return [out] if out else []

    async def close(self) -> None:
        return None


register_processor(SPEC, lambda conf, res: Unarchive(conf["format"], res))
