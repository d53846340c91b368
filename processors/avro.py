"""The ``avro`` processor: turn Avro documents into JSON (``to_json``) or JSON into Avro
(``from_json``), with one schema given inline (``schema``) or by URL (``schema_path``).

As upstream (twmb/avro with tagged unions and tagged logical types): ``encoding`` says how the
Avro side is written, ``textual`` (Avro JSON), ``binary`` (the bare binary datum) or ``single``
(single-object encoding: ``C3 01``, the schema's CRC-64-AVRO fingerprint, then the datum).
``to_json`` makes a structured message of the value Go decodes (``pipeline.avro_codec`` says what
each Avro type becomes; a union value is ``{"branch": value}``); bytes after the datum are
ignored. ``from_json`` with ``textual`` writes Avro JSON with tagged unions, NaN as ``null`` and
infinities as ``±1e999`` (``pipeline.avro_json``); with ``binary`` or ``single`` it accepts bare
or tagged union values and fills a record's missing fields from their defaults. A message that
fails is passed on unchanged and flagged with ``converting Avro document to JSON: ...`` or
``converting JSON to Avro schema: ...`` (``parsing message as JSON: ...`` / ``parsing message
as structured: ...`` when it is not JSON), as upstream's are; the text after the prefix is ours.

``schema_path`` must start with ``file://`` or ``http://``, as upstream requires; a ``file://``
URL is read from the local disk, an ``http://`` one fetched once at start (its body taken
whatever the status, as upstream takes it; at most 16 MiB and 30 seconds). The schema is
checked with fastavro (the ``formats`` extra), which also gives the canonical form whose
fingerprint ``single`` uses; the conversions themselves are ours.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx

from pipeline.avro_codec import AvroDecodeError, decode_binary, decode_json, encode_binary
from pipeline.avro_json import AvroJSONWriter, AvroMismatch, rabin_fingerprint, require_fastavro, schema_tree
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, enum, string

MAX_SCHEMA_BYTES = 16 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 30.0
SINGLE_MAGIC = b"\xc3\x01"


def _lint(conf: Any) -> list[str]:
    path = conf.get("schema_path") or ""
    if path and not path.startswith(("file://", "http://")):
        return ["invalid schema_path provided, must start with file:// or http://"]
    if not path and not conf.get("schema"):
        return ["a schema must be specified with either the `schema` or `schema_path` fields"]
    return []


SPEC = ComponentSpec(
    "avro",
    "processor",
    summary="Converts messages between Avro (textual, binary or single-object encoded) and JSON, following one schema.",
    description=(
        "`to_json` reads each message as an Avro datum and makes it a JSON document; `from_json` "
        "does the reverse. Union values appear as objects naming their branch "
        '(`{"string": "foo"}`). Messages framed for a schema registry (with a schema id prefix) '
        "are not plain Avro: use `schema_registry_decode` and `schema_registry_encode` for those. "
        "Needs the `formats` extra: `pip install 'benthic[formats]'`."
    ),
    categories=("Parsing",),
    requires=("fastavro", "formats"),
    lint=_lint,
    fields=[
        enum("operator", ("to_json", "from_json"), "Which way to convert: Avro to JSON, or JSON to Avro."),
        enum(
            "encoding",
            ("textual", "binary", "single"),
            "How the Avro side is written: Avro's JSON form, the bare binary datum, or the "
            "single-object encoding (a header with the schema's fingerprint before the datum).",
            default="textual",
        ),
        string("schema", "The Avro schema, as JSON text.", default=""),
        string(
            "schema_path",
            "Where to read the schema from instead of `schema`: a `file://` URL with an absolute path, "
            "or an `http://` URL fetched once at start.",
            default="",
            examples=("file:///path/to/spec.avsc", "http://localhost:8081/path/to/spec/versions/1"),
        ),
    ],
)


def load_schema(url: str) -> str:
    """The schema document at a ``file://`` or ``http://`` URL. As upstream, an HTTP answer is
    taken whatever its status (a wrong body then fails as a schema)."""
    if url.startswith("http://"):
        return _fetch(url)
    if not url.startswith("file://"):
        raise ValueError("invalid schema_path provided, must start with file:// or http://")
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path) or "/"
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_SCHEMA_BYTES + 1)
    except OSError as err:
        raise ValueError(f"loading Avro schema definition: {path}: {err.strerror or err}") from None
    if len(data) > MAX_SCHEMA_BYTES:
        raise ValueError(f"loading Avro schema definition: {path} is larger than {MAX_SCHEMA_BYTES} bytes")
    return data.decode("utf-8", "replace")


def _fetch(url: str) -> str:
    data = bytearray()
    try:
        with httpx.stream("GET", url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_SCHEMA_BYTES:
                    raise ValueError(f"{url} answered more than {MAX_SCHEMA_BYTES} bytes")
    except (httpx.HTTPError, ValueError) as err:
        raise ValueError(f"loading Avro schema definition: {err}") from None
    return data.decode("utf-8", "replace")


class Avro:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        fastavro = require_fastavro("processor avro")
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        text = load_schema(conf["schema_path"]) if conf["schema_path"] else conf["schema"]
        try:
            raw = json.loads(text)
            parsed = fastavro.parse_schema(raw)
            self.tree = schema_tree(raw)
            canonical = fastavro.schema.to_parsing_canonical_form(parsed)
        except Exception as err:  # json's and fastavro's own error types for a bad schema
            raise ValueError(f"parsing schema: {err}") from None
        self.fingerprint = rabin_fingerprint(canonical.encode()).to_bytes(8, "little")
        self.operator: str = conf["operator"]
        self.encoding: str = conf["encoding"]
        self.writer = AvroJSONWriter(tagged=True)
        self.logger = res.logger

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            try:
                if self.operator == "to_json":
                    self._to_json(msg)
                else:
                    self._from_json(msg)
            except ValueError as err:
                msg.error = str(err)
                self.logger.debug(f"Operator failed: {err}")
        return [batch]

    def _to_json(self, msg: Message) -> None:
        data = msg.content
        try:
            if self.encoding == "textual":
                value = decode_json(self.tree, data)
            elif self.encoding == "binary":
                value = decode_binary(self.tree, data)
            else:
                value = decode_binary(self.tree, self._single_payload(data))
        except (AvroDecodeError, RecursionError) as err:
            raise ValueError(f"converting Avro document to JSON: {err}") from None
        msg.set_structured(value)

    def _single_payload(self, data: bytes) -> bytes:
        if len(data) < 10:
            raise AvroDecodeError(
                f"avro: single-object encoding too short: need at least 10 bytes, have {len(data)}"
            )
        if data[:2] != SINGLE_MAGIC:
            raise AvroDecodeError(
                f"avro: invalid single-object encoding magic: got [{data[0]:#x}, {data[1]:#x}], want [0xc3, 0x01]"
            )
        if data[2:10] != self.fingerprint:
            raise AvroDecodeError("avro: single-object encoding fingerprint mismatch")
        return data[10:]

    def _from_json(self, msg: Message) -> None:
        try:
            value = msg.structured()
        except Exception as err:  # the payload is not JSON
            what = "JSON" if self.encoding == "textual" else "structured"
            raise ValueError(f"parsing message as {what}: {err}") from None
        try:
            if self.encoding == "textual":
                out = self.writer.encode(self.tree, value).encode()
            elif self.encoding == "binary":
                out = encode_binary(self.tree, value)
            else:
                out = SINGLE_MAGIC + self.fingerprint + encode_binary(self.tree, value)
        except (AvroMismatch, RecursionError) as err:
            raise ValueError(f"converting JSON to Avro schema: {err}") from None
        msg.content = out

    async def close(self) -> None:
        return None


register_processor(SPEC, Avro)
