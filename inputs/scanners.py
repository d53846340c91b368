"""Scanners: how upstream's ``scanner`` blocks cut a byte stream into messages.

Each scanner is declared here with its spec and registered (kind ``scanner``) through the plugin
API's ``register_scanner``, as a plugin's scanner would be: lint checks a ``scanner`` block
against its spec (nested ones included), ``benthic list scanners`` shows them, and
``scanner_from`` builds one through the registry.

``csv`` (rows as objects or arrays, ``csv_row`` metadata), ``json_documents`` (a stream of JSON
values), ``json_array`` (the elements of one array), ``re_match`` (a new message where a
pattern matches), ``tar`` (each file of an archive, ``tar_name`` metadata), ``skip_bom`` and
``decompress`` (which hand the rest of the stream to an ``into`` scanner), ``switch`` (a
scanner chosen by the name of the source, such as the file path) and ``avro`` (the datums of an
Avro container file, in ``inputs/avro_ocf.py``). The reader of ``lines``, ``to_the_end`` and
``chunker``, and the legacy ``codec`` strings, live in ``inputs/codecs.py``; ``build_scanner``
serves both.

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

import jsonschema

from inputs.avro_ocf import AvroScanner, require_fastavro
from inputs.codecs import Scanner
from mapping_lang.errors import EvalError
from mapping_lang.gojson import JsonSyntaxError, decode_first
from mapping_lang.methods.encoding import require_codec, zstd_decoder
from mapping_lang.re2 import compile_re2
from pipeline import spec as s
from pipeline.message import Message
from pipeline.plugin import register_scanner
from pipeline.registry import REGISTRY

DECOMPRESSORS = ("gzip", "pgzip", "zlib", "bzip2", "flate", "lz4", "snappy", "zstd")
READ_SIZE = 65536

Part = bytes | Message


def build_scanner(conf: dict[str, Any], source_name: str = "") -> Any:
    """The scanner for an input's config (its ``scanner`` block or legacy ``codec``)."""
    scanner = conf.get("scanner")
    if isinstance(scanner, dict) and scanner:
        return scanner_from(scanner, source_name)
    return Scanner.from_codec_fields(conf)


def scanner_from(conf: Any, source_name: str = "") -> Any:
    """Build a scanner config (``{name: body}``, or ``type``/``plugin``) through the registry. Lint
    has checked it against the spec already; the same problems still stop a run that skipped lint."""
    name, body = _body(conf)
    registration = REGISTRY.get("scanner", name)
    if registration is None:
        raise ValueError(
            f"scanner: {name} is not supported (supported: {', '.join(REGISTRY.names('scanner'))})"
        )
    spec = registration.spec
    for error in jsonschema.Draft202012Validator(s.component_schema(spec)).iter_errors(body):
        at = ".".join(["scanner", name, *map(str, error.absolute_path)])
        if error.validator == "additionalProperties":
            unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            raise ValueError(f"{at}.{unknown[0]}: field {unknown[0]} not recognised")
        raise ValueError(f"{at}: {error.message}")
    try:
        resolved = s.resolve(spec, body)
    except s.ConfigValueError as err:
        raise ValueError(".".join(["scanner", name, *map(str, err.path)]) + f": {err.message}") from None
    for problem in [*(spec.lint(resolved) if spec.lint else []), *_field_problems(spec, resolved)]:
        raise ValueError(f"scanner.{name}.{problem}")
    return registration.ctor(resolved, source_name)


def _body(conf: Any) -> tuple[str, Any]:
    if isinstance(conf, dict) and "type" in conf:
        return str(conf["type"]), conf.get("plugin", conf.get(str(conf["type"])))
    if not isinstance(conf, dict) or len(conf) != 1:
        names = ", ".join(map(str, conf)) if isinstance(conf, dict) else type(conf).__name__
        raise ValueError(f"scanner: expected exactly one scanner, got {names}")
    ((name, body),) = conf.items()
    return str(name), body


def _field_problems(spec: s.ComponentSpec, resolved: Any) -> list[str]:
    """The ``check`` of each top-level field (lint runs them at their positions)."""
    if spec.root is not None or not isinstance(resolved, dict):
        return []
    problems = []
    for f in spec.fields:
        value = resolved.get(f.name)
        if f.check is not None and value is not None:
            message = f.check(value)
            if message:
                problems.append(f"{f.name}: {message}")
    return problems


def check_scanner(conf: dict[str, Any]) -> list[str]:
    """Lint of an input's legacy ``codec`` (a ``scanner`` block is linted from its spec, as a
    component of its own)."""
    scanner = conf.get("scanner")
    if isinstance(scanner, dict) and scanner:
        return []
    try:
        Scanner.from_codec_fields(conf)
    except (ValueError, TypeError) as err:
        return [str(err)]
    return []


# -- the scanners' specs ----------------------------------------------------------------------------


def _at_least_one(value: int) -> str | None:
    return None if value >= 1 else "must be at least 1"


def _one_character(value: str) -> str | None:
    return None if len(value) == 1 else "must be exactly one character"


def _regexp(value: str) -> str | None:
    try:
        compile_re2(value)
    except Exception as err:  # the RE2 binding raises its own error type
        return str(err)
    return None


def _max_buffer_size(what: str) -> s.Field:
    return s.integer(
        "max_buffer_size",
        f"The longest {what} (in bytes) the scanner holds; a longer one is an error.",
        default=READ_SIZE,
        check=_at_least_one,
    )


def _into(description: str) -> s.Field:
    return s.component("into", "scanner", description, default={"to_the_end": {}})


def _needs_fastavro(conf: Any) -> list[str]:
    try:
        require_fastavro()
    except ValueError as err:
        return [str(err)]
    return []


def _needs_codec(conf: dict[str, Any]) -> list[str]:
    try:
        require_codec(conf["algorithm"])
    except EvalError as err:
        return [f"algorithm: {err}"]
    return []


def _lines(conf: dict[str, Any], source_name: str) -> Scanner:
    delimiter = conf["custom_delimiter"] or "\n"
    return Scanner("delim", delimiter.encode(), conf["max_buffer_size"], conf["omit_empty"])


def _switch(cases: list[dict[str, Any]], source_name: str) -> Any:
    for case in cases:
        pattern = case["re_match_name"]
        if not pattern or compile_re2(pattern).search(source_name):
            return scanner_from(case["scanner"], source_name)
    raise ValueError(f"scanner.switch: no case matched the source {source_name!r}")


_EMPTY: list[s.Field] = []
SCANNERS: list[tuple[s.ComponentSpec, Any]] = [
    (
        s.ComponentSpec(
            "avro",
            "scanner",
            [
                s.boolean(
                    "raw_json", "Write unions bare instead of wrapped in their branch's name.", default=False
                )
            ],
            summary="Reads an Avro object container file, a message per datum, as Avro's JSON.",
            status="beta",
            lint=_needs_fastavro,
        ),
        lambda conf, source: AvroScanner(conf["raw_json"], source),
    ),
    (
        s.ComponentSpec(
            "chunker",
            "scanner",
            [
                s.integer(
                    "size",
                    "The size of each message in bytes (the last may be shorter).",
                    check=_at_least_one,
                )
            ],
            summary="Cuts the stream into messages of a fixed number of bytes.",
        ),
        lambda conf, source: Scanner("chunk", conf["size"]),
    ),
    (
        s.ComponentSpec(
            "csv",
            "scanner",
            [
                s.string(
                    "custom_delimiter",
                    "The field separator, if not a comma.",
                    optional=True,
                    check=_one_character,
                ),
                s.boolean(
                    "parse_header_row", "Read the first row as the names of the columns.", default=True
                ),
                s.boolean("lazy_quotes", "Accept quotes inside unquoted and quoted fields.", default=False),
                s.boolean(
                    "continue_on_error",
                    "Emit an empty message flagged with the error for a bad row, and go on.",
                    default=False,
                ),
            ],
            summary="Reads comma-separated values, a message per row (`csv_row` metadata).",
        ),
        lambda conf, source: CsvScanner(
            conf["custom_delimiter"] or ",",
            conf["parse_header_row"],
            conf["lazy_quotes"],
            conf["continue_on_error"],
        ),
    ),
    (
        s.ComponentSpec(
            "decompress",
            "scanner",
            [
                s.enum("algorithm", DECOMPRESSORS, "The compression the stream was written with."),
                _into("The scanner that cuts the decompressed stream into messages."),
            ],
            summary="Decompresses the stream and hands it to another scanner.",
            lint=_needs_codec,
        ),
        lambda conf, source: Decompress(conf["algorithm"], scanner_from(conf["into"], source)),
    ),
    (
        s.ComponentSpec(
            "json_array",
            "scanner",
            _EMPTY,
            summary="Reads one JSON array, a message per element.",
        ),
        lambda conf, source: JsonArray(),
    ),
    (
        s.ComponentSpec(
            "json_documents",
            "scanner",
            [_max_buffer_size("document")],
            summary="Reads a stream of JSON documents, a message per document.",
        ),
        lambda conf, source: JsonDocuments(conf["max_buffer_size"]),
    ),
    (
        s.ComponentSpec(
            "lines",
            "scanner",
            [
                s.string("custom_delimiter", "What ends a line, if not a line break.", optional=True),
                _max_buffer_size("line"),
                s.boolean("omit_empty", "Skip empty lines.", default=False),
            ],
            summary="Cuts the stream into a message per line.",
        ),
        _lines,
    ),
    (
        s.ComponentSpec(
            "re_match",
            "scanner",
            [
                s.string("pattern", "Each match starts a new message (RE2 syntax).", check=_regexp),
                _max_buffer_size("message"),
            ],
            summary="Cuts the stream where a regular expression matches.",
        ),
        lambda conf, source: ReMatch(compile_re2(conf["pattern"]), conf["max_buffer_size"]),
    ),
    (
        s.ComponentSpec(
            "skip_bom",
            "scanner",
            [_into("The scanner that reads the stream once its byte order mark is dropped.")],
            summary="Drops a UTF-8 byte order mark at the start of the stream.",
        ),
        lambda conf, source: SkipBom(scanner_from(conf["into"], source)),
    ),
    (
        s.ComponentSpec(
            "switch",
            "scanner",
            root=s.obj_list(
                "switch",
                [
                    s.string(
                        "re_match_name",
                        "A regular expression the source's name (such as the file path) must match; "
                        "a case without one always matches.",
                        default="",
                        check=_regexp,
                    ),
                    s.component("scanner", "scanner", "The scanner used when this case matches."),
                ],
                "The cases, tried in order.",
            ),
            summary="Chooses the scanner for each source (such as a file) by its name.",
        ),
        _switch,
    ),
    (
        s.ComponentSpec(
            "tar", "scanner", _EMPTY, summary="Reads a tar archive, a message per file (`tar_name`)."
        ),
        lambda conf, source: TarScanner(),
    ),
    (
        s.ComponentSpec("to_the_end", "scanner", _EMPTY, summary="Reads the whole stream as one message."),
        lambda conf, source: Scanner("all"),
    ),
]
for _spec, _ctor in SCANNERS:
    register_scanner(_spec, _ctor)


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
