"""The ``archive`` processor: collapses a batch into one message of a given archive format.

The archived message carries the first message's metadata and error flag and stands for all N
messages (``collapsed``), so ``output_sent`` still counts N. When a ``json_array`` member is not
JSON, every message is flagged with the parse error and the originals pass on un-archived.
"""

from __future__ import annotations

import io
import struct
import tarfile
import time
import zipfile
from typing import Any

from pipeline.message import Message, json_array_bytes
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, enum, interp

FORMATS = ("binary", "concatenate", "json_array", "lines", "tar", "zip")

SPEC = ComponentSpec(
    "archive",
    "processor",
    summary="Packs every message of a batch into one message, using the chosen archive format.",
    description=(
        "In the tar and zip formats every message becomes a file inside the archive, and files need "
        "names: the interpolated `path` field gives each message its own, for example from a counter or "
        "from its metadata. The archive that comes out carries the metadata of the batch's first message."
    ),
    categories=("Parsing", "Utility"),
    fields=[
        enum("format", FORMATS, "Which archive format to produce."),
        interp(
            "path",
            "The file name each message gets inside the archive, for formats that name their entries.",
            default="",
            examples=("${!counter()}.txt", '${!meta("kafka_key")}-${!json("id")}.json'),
        ),
    ],
)


class ArchiveError(Exception):
    pass


class ArchiveProcessor:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.res = res
        self.format = conf["format"]
        self.path = res.interpolation(conf["path"]) if self.format in ("tar", "zip") else None
        self._archivers = {
            "binary": self._binary,
            "concatenate": lambda batch: b"".join(m.content for m in batch),
            "json_array": self._json_array,
            "lines": lambda batch: b"\n".join(m.content for m in batch),
            "tar": self._tar,
            "zip": self._zip,
        }

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if not batch:
            return []
        try:
            archived = self._archivers[self.format](batch)
        except ArchiveError as err:
            self.res.logger.error(f"Failed to create archive: {err}")
            for msg in batch:
                msg.error = str(err)
            return [batch]
        first = batch[0]
        out = Message(b"", dict(first.metadata), first.error)
        out.context = first.context
        if isinstance(archived, bytes):
            out.content = archived
        elif (joined := json_array_bytes(batch)) is not None:
            # the members' bytes are their values' JSON already: join them, keep the values
            out.content = joined
            out.cache_structured(archived)
        else:
            out.set_structured(archived)
        out.collapsed = sum(m.collapsed for m in batch)
        return [[out]]

    def _json_array(self, batch: list[Message]) -> list[Any]:
        values = []
        for msg in batch:
            try:
                values.append(msg.structured())
            except ValueError as err:
                raise ArchiveError(f"failed to parse message as JSON: {err}") from None
        return values

    def _binary(self, batch: list[Message]) -> bytes:
        # Benthos' serialised batch: a big-endian uint32 part count, then each part's length and bytes.
        out = bytearray(struct.pack(">I", len(batch)))
        for msg in batch:
            out += struct.pack(">I", len(msg.content)) + msg.content
        return bytes(out)

    def _paths(self, batch: list[Message]) -> list[str]:
        assert self.path is not None
        paths = []
        for i, msg in enumerate(batch):
            try:
                paths.append(str(self.path.render(msg, batch, i)))
            except Exception as err:
                raise ArchiveError(f"path interpolation error: {err}") from None
        return paths

    def _tar(self, batch: list[Message]) -> bytes:
        buf = io.BytesIO()
        now = time.time()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for path, msg in zip(self._paths(batch), batch, strict=True):
                info = tarfile.TarInfo(path)
                info.size = len(msg.content)
                info.mode = 0o666
                info.mtime = int(now)
                tar.addfile(info, io.BytesIO(msg.content))
        return buf.getvalue()

    def _zip(self, batch: list[Message]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path, msg in zip(self._paths(batch), batch, strict=True):
                info = zipfile.ZipInfo(path, time.localtime()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o666 << 16
                archive.writestr(info, msg.content)
        return buf.getvalue()

    async def close(self) -> None:
        return None


register_processor(SPEC, ArchiveProcessor)

__all__ = ["SPEC", "ArchiveProcessor"]
