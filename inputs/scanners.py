"""Scanners beyond ``lines``, ``to_the_end`` and ``chunker``: how upstream's ``scanner`` blocks
cut a byte stream into messages.

``csv`` (rows as objects or arrays, ``csv_row`` metadata), ``json_documents`` (a stream of JSON
values), ``json_array`` (the elements of one array), ``re_match`` (a new message where a
pattern matches), ``tar`` (each file of an archive, ``tar_name`` metadata), ``skip_bom`` and
``decompress`` (which hand the rest of the stream to an ``into`` scanner), ``switch`` (a
scanner chosen by the name of the source, such as the file path) and ``avro`` (the datums of an
Avro container file, in ``inputs/avro_ocf.py``). The simple scanners and the legacy ``codec``
strings stay in ``inputs/codecs.py``; ``build_scanner`` serves both.

A scanner's ``next(reader)`` returns the next messages (bytes, or ``Message`` when it adds
metadata or structure) or None at the end. ``decompress`` reads upstream's stream formats: for
``snappy`` that is the framed format (stream identifier, CRC-checked chunks), not the bare block
the ``decompress`` processor reads; ``zstd`` reads concatenated frames. A stream that ends inside
a frame is an error, as in Go. Where we differ: ``json_array``, ``tar`` and ``avro`` read the
whole stream before emitting (a socket connection must end first); ``lz4``, ``snappy`` and
``zstd`` need the ``full`` extra, and lint says so when it is missing.
"""

from __future__ import annotations

import asyncio
import bz2
import contextlib
import csv
import io
import json
import tarfile
import zlib
from typing import Any

from inputs.avro_ocf import AvroScanner, require_fastavro
from inputs.codecs import SCANNER_FIELDS, Scanner
from mapping_lang.errors import EvalError
from mapping_lang.gojson import JsonSyntaxError, decode_first
from mapping_lang.methods.encoding import require_codec, zstd_decoder
from mapping_lang.re2 import compile_re2
from pipeline.message import Message

NEW_SCANNERS = (
    "avro",
    "csv",
    "json_documents",
    "json_array",
    "re_match",
    "tar",
    "skip_bom",
    "decompress",
    "switch",
)
DECOMPRESSORS = ("gzip", "pgzip", "zlib", "bzip2", "flate", "lz4", "snappy", "zstd")
READ_SIZE = 65536

Part = bytes | Message


def _body(conf: Any) -> tuple[str, Any]:
    if not isinstance(conf, dict) or len(conf) != 1:
        names = ", ".join(map(str, conf)) if isinstance(conf, dict) else type(conf).__name__
        raise ValueError(f"scanner: expected exactly one scanner, got {names}")
    ((name, body),) = conf.items()
    return str(name), body


def _fields(name: str, body: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise ValueError(f"scanner.{name}: expected an object")
    for key in body:
        if key not in allowed:
            raise ValueError(f"scanner.{name}.{key}: field {key} not recognised")
    return body


def build_scanner(conf: dict[str, Any], source_name: str = "") -> Any:
    """The scanner for an input's config (its ``scanner`` block or legacy ``codec``)."""
    scanner = conf.get("scanner")
    if isinstance(scanner, dict) and scanner:
        return scanner_from(scanner, source_name)
    return Scanner.from_config(conf)


def scanner_from(conf: Any, source_name: str = "") -> Any:
    name, body = _body(conf)
    if name in SCANNER_FIELDS:
        return Scanner.from_config({"scanner": {name: body}})
    if name == "avro":
        f = _fields(name, body, ("raw_json",))
        require_fastavro()
        return AvroScanner(_flag(f, "raw_json", False), source_name)
    if name == "csv":
        f = _fields(name, body, ("custom_delimiter", "parse_header_row", "lazy_quotes", "continue_on_error"))
        delimiter = str(f.get("custom_delimiter") or ",")
        if len(delimiter) != 1:
            raise ValueError("scanner.csv.custom_delimiter: must be exactly one character")
        return CsvScanner(
            delimiter,
            _flag(f, "parse_header_row", True),
            _flag(f, "lazy_quotes", False),
            _flag(f, "continue_on_error", False),
        )
    if name == "json_documents":
        f = _fields(name, body, ("max_buffer_size",))
        return JsonDocuments(int(f.get("max_buffer_size", READ_SIZE)))
    if name == "json_array":
        _fields(name, body, ())
        return JsonArray()
    if name == "re_match":
        f = _fields(name, body, ("pattern", "max_buffer_size"))
        if "pattern" not in f:
            raise ValueError("scanner.re_match.pattern: field pattern is required")
        try:
            pattern = compile_re2(str(f["pattern"]))
        except Exception as err:
            raise ValueError(f"scanner.re_match.pattern: {err}") from None
        return ReMatch(pattern, int(f.get("max_buffer_size", READ_SIZE)))
    if name == "tar":
        _fields(name, body, ())
        return TarScanner()
    if name == "skip_bom":
        f = _fields(name, body, ("into",))
        return SkipBom(scanner_from(f.get("into") or {"to_the_end": {}}, source_name))
    if name == "decompress":
        f = _fields(name, body, ("algorithm", "into"))
        algorithm = str(f.get("algorithm", ""))
        if algorithm not in DECOMPRESSORS:
            raise ValueError(f"scanner.decompress.algorithm: unknown algorithm {algorithm!r}")
        try:
            require_codec(algorithm)
        except EvalError as err:
            raise ValueError(f"scanner.decompress.algorithm: {err}") from None
        return Decompress(algorithm, scanner_from(f.get("into") or {"to_the_end": {}}, source_name))
    if name == "switch":
        if not isinstance(body, list):
            raise ValueError("scanner.switch: expected a list of cases")
        for i, case in enumerate(body):
            f = _fields(f"switch.{i}", case, ("re_match_name", "scanner"))
            name_pattern = str(f.get("re_match_name") or "")
            if not name_pattern or compile_re2(name_pattern).search(source_name):
                if "scanner" not in f:
                    raise ValueError(f"scanner.switch.{i}.scanner: field scanner is required")
                return scanner_from(f["scanner"], source_name)
        raise ValueError(f"scanner.switch: no case matched the source {source_name!r}")
    supported = ", ".join([*SCANNER_FIELDS, *NEW_SCANNERS])
    raise ValueError(f"scanner: {name} is not supported (supported: {supported})")


def check_scanner(conf: dict[str, Any]) -> list[str]:
    """Lint an input's ``scanner``/``codec``: every case of a ``switch`` is checked."""
    try:
        scanner = conf.get("scanner")
        if isinstance(scanner, dict) and scanner:
            _check(scanner)
        else:
            Scanner.from_config(conf)
    except (ValueError, TypeError) as err:
        return [str(err)]
    return []


def _check(conf: Any) -> None:
    name, body = _body(conf)
    if name == "switch" and isinstance(body, list):
        for i, case in enumerate(body):
            f = _fields(f"switch.{i}", case, ("re_match_name", "scanner"))
            if f.get("re_match_name"):
                compile_re2(str(f["re_match_name"]))
            _check(f.get("scanner"))
        return
    if name in ("skip_bom", "decompress"):
        into = (body or {}).get("into") if isinstance(body, dict) else None
        if into:
            _check(into)
    scanner_from(conf, "")


def _flag(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ValueError(f"scanner field {key}: cannot parse {value!r} as a bool")


def limit_of(scanner: Any) -> int:
    return int(getattr(scanner, "reader_limit", 2**26))


def to_messages(parts: list[Part], metadata: dict[str, Any]) -> list[Message]:
    """Scanned parts as messages carrying the input's metadata (a scanner's own keys win)."""
    out = []
    for part in parts:
        if isinstance(part, Message):
            part.metadata = {**metadata, **part.metadata}
            out.append(part)
        else:
            out.append(Message(part, dict(metadata)))
    return out


# -- scanners -------------------------------------------------------------------------------------


class CsvScanner:
    """One record per message; a record's quoted fields may span lines."""

    reader_limit = 2**26

    def __init__(self, delimiter: str, header: bool, lazy: bool, continue_on_error: bool) -> None:
        self.delimiter = delimiter
        self.parse_header = header
        self.lazy = lazy
        self.continue_on_error = continue_on_error
        self.header: list[str] | None = None
        self.row = 0
        self.width: int | None = None

    async def _record(self, reader: asyncio.StreamReader) -> list[str] | None:
        text = b""
        while True:
            line = await reader.readline()
            if not line:
                if not text:
                    return None
                break
            text += line
            if text.count(b'"') % 2 == 0:
                break
        rows = list(
            csv.reader(
                io.StringIO(text.decode("utf-8", "replace"), newline=""),
                delimiter=self.delimiter,
                strict=not self.lazy,
            )
        )
        return rows[0] if rows else []

    async def next(self, reader: asyncio.StreamReader) -> list[Part] | None:
        while True:
            try:
                record = await self._record(reader)
                if record is None:
                    return None
                if self.width is None:
                    self.width = len(record)
                elif len(record) != self.width:
                    raise csv.Error(
                        f"record on line {self.row + 2 if self.parse_header else self.row + 1}: wrong number of fields"
                    )
            except csv.Error as err:
                if not self.continue_on_error:
                    raise ValueError(str(err)) from None
                failed = Message(b"", {"csv_row": self.row}, error=str(err))
                self.row += 1
                return [failed]
            if self.parse_header and self.header is None:
                self.header = record
                continue
            meta = {"csv_row": self.row}
            self.row += 1
            if self.header is not None:
                return [Message.from_structured(dict(zip(self.header, record, strict=False)), meta)]
            return [Message.from_structured(list(record), meta)]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's decoder takes NaN and Infinity; Go's does not


def _decode_error(text: str) -> str | None:
    """What Go's ``json.Decoder.Decode`` says reading the value at the start of ``text``."""
    try:
        decode_first(text.encode("utf-8", "surrogatepass"))
    except JsonSyntaxError as err:
        return str(err)
    return None


class JsonDocuments:
    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.buffer = ""
        self.decoder = json.JSONDecoder(parse_constant=_reject_constant)
        self.eof = False

    reader_limit = 2**26

    async def next(self, reader: asyncio.StreamReader) -> list[Part] | None:
        while True:
            text = self.buffer.lstrip()
            if text:
                try:
                    value, end = self.decoder.raw_decode(text)
                except ValueError as err:
                    if self.eof:
                        self.buffer = ""
                        # upstream returns its json.Decoder's error as it is
                        raise ValueError(
                            _decode_error(text) or f"failed to parse JSON document: {err}"
                        ) from None
                else:
                    if end < len(text) or self.eof or text.endswith(("}", "]", '"')):
                        self.buffer = text[end:]
                        return [Message.from_structured(value)]
            elif self.eof:
                return None
            if len(text) > self.max_size:
                raise ValueError("bufio.Scanner: token too long")
            chunk = await reader.read(READ_SIZE)
            if not chunk:
                self.eof = True
            self.buffer = text + chunk.decode("utf-8", "replace")


class JsonArray:
    reader_limit = 2**26

    def __init__(self) -> None:
        self.items: list[Any] | None = None

    async def next(self, reader: asyncio.StreamReader) -> list[Part] | None:
        if self.items is None:
            data = await reader.read()
            if not data.strip():
                self.items = []
            else:
                try:
                    value = json.loads(data)
                except ValueError as err:
                    self.items = []
                    raise ValueError(f"failed to parse JSON array: {err}") from None
                if not isinstance(value, list):
                    self.items = []
                    raise ValueError("expected a JSON array")
                self.items = value
        if not self.items:
            return None
        return [Message.from_structured(self.items.pop(0))]


class ReMatch:
    """A message from one match of the pattern to the next (text before the first match is a
    message of its own)."""

    reader_limit = 2**26

    def __init__(self, pattern: Any, max_size: int) -> None:
        self.pattern = pattern
        self.max_size = max_size
        self.buffer = ""
        self.eof = False

    async def next(self, reader: asyncio.StreamReader) -> list[Part] | None:
        while True:
            if self.buffer:
                match = self.pattern.search(self.buffer, 1)
                if match is not None and match.start() > 0:
                    part, self.buffer = self.buffer[: match.start()], self.buffer[match.start() :]
                    return [part.encode()]
                if self.eof:
                    part, self.buffer = self.buffer, ""
                    return [part.encode()]
                if len(self.buffer) > self.max_size:
                    raise ValueError("bufio.Scanner: token too long")
            elif self.eof:
                return None
            chunk = await reader.read(READ_SIZE)
            if not chunk:
                self.eof = True
            self.buffer += chunk.decode("utf-8", "replace")


class TarScanner:
    reader_limit = 2**26

    def __init__(self) -> None:
        self.entries: list[Message] | None = None

    async def next(self, reader: asyncio.StreamReader) -> list[Part] | None:
        if self.entries is None:
            data = await reader.read()
            self.entries = []
            try:
                with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
                    for member in archive:
                        if not member.isfile():
                            continue
                        handle = archive.extractfile(member)
                        body = handle.read() if handle is not None else b""
                        self.entries.append(Message(body, {"tar_name": member.name}))
            except tarfile.TarError as err:
                raise ValueError(f"failed to read tar archive: {err}") from None
        if not self.entries:
            return None
        return [self.entries.pop(0)]


class _Piped:
    """A child scanner fed from a new reader that a pump task fills from the original one."""

    reader_limit = 2**26

    def __init__(self, into: Any) -> None:
        self.into = into
        self.inner: asyncio.StreamReader | None = None
        self.pump: asyncio.Task[None] | None = None

    def transform(self, chunk: bytes, first: bool) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""

    async def _pump(self, reader: asyncio.StreamReader, inner: asyncio.StreamReader) -> None:
        first = True
        try:
            while chunk := await reader.read(READ_SIZE):
                inner.feed_data(self.transform(chunk, first))
                first = False
            inner.feed_data(self.finish())
            inner.feed_eof()
        except Exception as err:
            inner.set_exception(ValueError(str(err)))

    async def next(self, reader: asyncio.StreamReader) -> list[Part] | None:
        if self.inner is None:
            self.inner = asyncio.StreamReader(limit=limit_of(self.into))
            self.pump = asyncio.ensure_future(self._pump(reader, self.inner))
        try:
            return await self.into.next(self.inner)  # type: ignore[no-any-return]
        except Exception:
            if self.pump is not None:
                self.pump.cancel()
                with contextlib.suppress(BaseException):
                    await self.pump
            raise


class SkipBom(_Piped):
    def __init__(self, into: Any) -> None:
        super().__init__(into)
        self.head = b""
        self.checked = False

    def transform(self, chunk: bytes, first: bool) -> bytes:
        if self.checked:
            return chunk
        self.head += chunk
        if len(self.head) < 3:
            return b""
        self.checked = True
        head, self.head = self.head, b""
        return head[3:] if head.startswith(b"\xef\xbb\xbf") else head

    def finish(self) -> bytes:
        head, self.head = self.head, b""
        return head if head != b"\xef\xbb\xbf" else b""


class Decompress(_Piped):
    def __init__(self, algorithm: str, into: Any) -> None:
        super().__init__(into)
        self.algorithm = algorithm
        if algorithm in ("gzip", "pgzip"):
            self.codec: Any = zlib.decompressobj(31)
        elif algorithm == "zlib":
            self.codec = zlib.decompressobj(15)
        elif algorithm == "flate":
            self.codec = zlib.decompressobj(-15)
        elif algorithm == "bzip2":
            self.codec = bz2.BZ2Decompressor()
        elif algorithm == "snappy":
            self.codec = SnappyFrames()
        elif algorithm == "zstd":
            self.codec = zstd_decoder()
        else:
            import lz4.frame  # optional dependency: the "full" extra (checked by require_codec)

            self.codec = lz4.frame.LZ4FrameDecompressor()

    def transform(self, chunk: bytes, first: bool) -> bytes:
        try:
            return bytes(self.codec.decompress(chunk))
        except EvalError as err:
            raise ValueError(str(err)) from None
        except (zlib.error, OSError, RuntimeError) as err:
            raise ValueError(f"{self.algorithm}: {err}") from None

    def finish(self) -> bytes:
        if self.algorithm in ("snappy", "zstd"):
            try:
                self.codec.finish()
            except EvalError as err:
                raise ValueError(str(err)) from None
        return b""


class SnappyFrames:
    """Snappy's framed stream format as Go's reader takes it: the stream must open with the
    identifier chunk, every chunk's CRC is checked (by python-snappy), and a stream cut inside a
    chunk is corrupt. Go's error text for all three is ``s2: corrupt input``."""

    IDENTIFIER = b"\xff\x06\x00\x00sNaPpY"
    CORRUPT = "s2: corrupt input"

    def __init__(self) -> None:
        import snappy  # optional dependency: the "full" extra (checked by require_codec)

        self.inner = snappy.StreamDecompressor()
        self.head = b""
        self.started = False

    def decompress(self, chunk: bytes) -> bytes:
        if not self.started:
            self.head += chunk
            if len(self.head) < len(self.IDENTIFIER):
                return b""
            if not self.head.startswith(self.IDENTIFIER):
                raise EvalError(self.CORRUPT)
            chunk, self.head, self.started = self.head, b"", True
        try:
            return bytes(self.inner.decompress(chunk))
        except Exception:  # the codec raises its own error types for a bad CRC or block
            raise EvalError(self.CORRUPT) from None

    def finish(self) -> None:
        if self.head or self.inner.remains:
            raise EvalError(self.CORRUPT)
