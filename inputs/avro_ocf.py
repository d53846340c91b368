"""The ``avro`` scanner: each datum of an Avro Object Container File becomes a JSON message.

Upstream reads the container with twmb/avro, decodes each datum into Go's native values and
writes them back out as Avro's JSON encoding: a union value is wrapped as ``{"branch": value}``
(the branch name carries the logical type, ``long.timestamp-millis``), logical types are written
in their physical form (a timestamp as its integer, a decimal as a number with ``scale``
digits), bytes and fixed as ISO-8859-1 strings, NaN as ``null`` and infinities as ``±1e999``.
With ``raw_json`` the union wrappers are left off. Every message carries the schema's Parsing
Canonical Form in ``avro_schema`` and its CRC-64-AVRO fingerprint in ``avro_schema_fingerprint``.

Upstream's decoder forgets which union branch a datum used, and its encoder picks the first
branch that accepts the decoded Go value; ``pipeline.avro_json.AvroJSONWriter`` (shared with
the ``avro`` processor) repeats that choice with the same acceptance rules, so a ``long`` whose
union lists ``int`` first is written under ``int`` as upstream writes it. fastavro (the
``formats`` extra) reads the container, its codecs and the datums. Where we differ: the stream is read whole before the first datum is emitted (on a
socket the connection must end first); a map's keys keep the file's order (Go's is random).
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

from pipeline.avro_json import AvroJSONWriter, AvroMismatch, rabin_fingerprint, schema_tree
from pipeline.avro_json import require_fastavro as _require
from pipeline.message import Message


def require_fastavro() -> Any:
    return _require("scanner.avro: the avro scanner")


class AvroScanner:
    """One message per datum; an unreadable header or datum is an error naming it."""

    reader_limit = 2**26

    def __init__(self, raw_json: bool, source_name: str = "") -> None:
        self.where = f" of {source_name}" if source_name else ""
        self.encoder = AvroJSONWriter(tagged=not raw_json)
        self.records: Any = None
        self.metadata: dict[str, Any] = {}
        self.tree: Any = None
        self.index = 0

    async def next(self, reader: asyncio.StreamReader) -> list[Message] | None:
        if self.records is None:
            data = await reader.read()
            self._open(data)
        try:
            record = next(self.records)
        except StopIteration:
            return None
        except Exception as err:  # fastavro raises its own and the codecs' errors for a bad block
            self.records = iter(())
            raise ValueError(f"reading OCF datum {self.index}{self.where}: {err}") from None
        self.index += 1
        try:
            text = self.encoder.encode(self.tree, record)
        except AvroMismatch as err:
            raise ValueError(f"encoding OCF datum {self.index - 1}{self.where} to JSON: {err}") from None
        return [Message(text.encode(), dict(self.metadata))]

    def _open(self, data: bytes) -> None:
        fastavro = require_fastavro()
        self.records = iter(())
        try:
            container = fastavro.reader(io.BytesIO(data), return_named_type=True)
            raw_schema = json.loads(container.metadata["avro.schema"])
            canonical = fastavro.schema.to_parsing_canonical_form(container.writer_schema)
        except Exception as err:  # a header that is not Avro's: fastavro's own error types
            raise ValueError(f"reading OCF header{self.where}: {err}") from None
        self.tree = schema_tree(raw_schema)
        self.metadata = {
            "avro_schema": canonical,
            "avro_schema_fingerprint": rabin_fingerprint(canonical.encode()),
        }
        self.records = iter(container)
