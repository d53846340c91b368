"""The ``parquet_encode`` processor: a batch of structured messages becomes one Parquet file.

As upstream: every message of the batch is a row (an object; keys the schema lacks are left out)
and the batch collapses into one message holding the file, with the first message's metadata.
The columns come from ``schema`` (``name``, ``type``, ``repeated``, ``optional``, ``fields`` for a
group) or, per batch, from the common schema held in the first message's ``schema_metadata``
field. TIMESTAMP values may be timestamps, RFC 3339 strings or numbers already in
``default_timestamp_unit``; UUID values are strings; a JSON column holds any value as JSON text.
A batch that does not fit the schema is left as it was, each message flagged with the error.

Files are written with Apache Arrow (the ``parquet`` extra). Where we differ: a ``repeated``
column is written as a Parquet LIST (three levels) rather than a bare repeated field, which
every reader, upstream's included, reads back as the same array; ENUM columns are written as
strings (UTF8) and BSON columns as plain BYTE_ARRAY, since Arrow has no writer for those two
annotations; a row without a value for a required column is an error rather than a zero value;
``lz4raw`` is Arrow's LZ4 codec (the raw LZ4 block format, LZ4_RAW in the file).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from mapping_lang.gofmt import go_type
from mapping_lang.value import format_json_marshal
from pipeline.message import Message
from pipeline.parquet_rows import require_pyarrow
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, any_field, boolean, enum, obj_list, string

TYPES = (
    "BOOLEAN",
    "INT32",
    "INT64",
    "FLOAT",
    "DOUBLE",
    "BYTE_ARRAY",
    "UTF8",
    "TIMESTAMP",
    "BSON",
    "ENUM",
    "JSON",
    "UUID",
)
COMPRESSION = {
    "uncompressed": "NONE",
    "snappy": "SNAPPY",
    "gzip": "GZIP",
    "brotli": "BROTLI",
    "zstd": "ZSTD",
    "lz4raw": "LZ4",
}
TIMESTAMP_UNITS = {"NANOSECOND": "ns", "MICROSECOND": "us", "MILLISECOND": "ms"}
_BYTE_ARRAYS = ("BYTE_ARRAY", "UTF8", "BSON", "ENUM", "JSON", "STRING")
_NEEDS_SCHEMA = "either a schema or schema_metadata must be specified"


def _lint(conf: Any) -> list[str]:
    if not conf.get("schema") and not conf.get("schema_metadata"):
        return [_NEEDS_SCHEMA]
    try:
        columns_from_config(conf.get("schema") or [])
    except ValueError as err:
        return [f"schema: {err}"]
    return []


SPEC = ComponentSpec(
    "parquet_encode",
    "processor",
    summary="Turns a batch of structured messages into one message holding a Parquet file.",
    description=(
        "Each message of the batch becomes a row; use it where a batch is formed, such as the "
        "`batching.processors` of an output. Needs the `parquet` extra: "
        "`pip install 'benthic[parquet]'`."
    ),
    categories=("Parsing",),
    status="experimental",
    requires=("pyarrow", "parquet"),
    lint=_lint,
    fields=[
        obj_list(
            "schema",
            [
                string("name", "Column name."),
                enum(
                    "type",
                    TYPES,
                    "The column's type, for a column without `fields`; logical types such as UTF8 "
                    "and TIMESTAMP may be named here.",
                    optional=True,
                ),
                boolean("repeated", "The column holds an array of values.", default=False),
                boolean("optional", "The column may be missing or null.", default=False),
                any_field(
                    "fields",
                    "The columns of a group, in the same form.",
                    optional=True,
                    examples=([{"name": "foo", "type": "INT64"}, {"name": "bar", "type": "BYTE_ARRAY"}],),
                ),
            ],
            "The columns of the file.",
            optional=True,
        ),
        string(
            "schema_metadata",
            "A metadata key whose value (on the first message of a batch) is a common schema object "
            "to encode with, in place of `schema`.",
            default="",
        ),
        enum(
            "default_compression",
            tuple(COMPRESSION),
            "Compression codec of every column.",
            default="uncompressed",
        ),
        enum(
            "default_encoding",
            ("DELTA_LENGTH_BYTE_ARRAY", "PLAIN"),
            "Encoding of byte array columns; PLAIN suits readers without DELTA_LENGTH_BYTE_ARRAY.",
            default="DELTA_LENGTH_BYTE_ARRAY",
            advanced=True,
        ),
        enum(
            "default_timestamp_unit",
            tuple(TIMESTAMP_UNITS),
            "Precision of TIMESTAMP columns. Spark, Athena and DuckDB cannot read NANOSECOND.",
            default="NANOSECOND",
            advanced=True,
        ),
    ],
)


@dataclass
class Column:
    """One column: a leaf with a ``kind`` or a group with ``children``."""

    name: str
    kind: str = ""
    repeated: bool = False
    optional: bool = False
    children: list[Column] = field(default_factory=list)
    scale: int = 0
    precision: int = 0
    unit: str = ""  # TIME_OF_DAY: ms, us or ns
    key: Column | None = None  # MAP: the value column (keys are strings)


def columns_from_config(confs: Any) -> list[Column]:
    """The columns of a ``schema`` list; ValueError with upstream's words for a bad one."""
    if not isinstance(confs, list):
        raise ValueError("expected a list of columns")
    columns = []
    for conf in confs:
        if not isinstance(conf, dict) or not isinstance(conf.get("name"), str):
            raise ValueError(f"column {conf!r} needs a name")
        name = conf["name"]
        unknown = set(conf) - {"name", "type", "repeated", "optional", "fields"}
        if unknown:
            raise ValueError(f"column {name}: field {sorted(unknown)[0]} not recognised")
        column = Column(name, repeated=conf.get("repeated") is True, optional=conf.get("optional") is True)
        if conf.get("fields"):
            column.children = columns_from_config(conf["fields"])
        else:
            kind = conf.get("type")
            if kind is None:
                raise ValueError(f"column {name}: field type is required for a column without fields")
            if kind not in TYPES:
                raise ValueError(f"field {name} type of '{kind}' not recognised")
            column.kind = str(kind)
        if column.optional and column.repeated:
            raise ValueError(f"column {name} cannot be both repeated and optional")
        columns.append(column)
    return columns


_COMMON = {"BOOLEAN", "INT32", "INT64", "FLOAT32", "FLOAT64", "STRING", "BYTE_ARRAY", "TIMESTAMP", "DECIMAL"}
_COMMON |= {"DATE", "TIME_OF_DAY", "UUID", "MAP", "ARRAY", "OBJECT"}


def columns_from_common(schema: Any) -> list[Column]:
    """The columns of a common schema (upstream's neutral schema form) held in metadata."""
    if not isinstance(schema, dict):
        raise ValueError(f"expected map, received: {go_type(schema)}")
    if schema.get("type") != "OBJECT":
        raise ValueError(f"source schema must be an object at the root, got {schema.get('type')}")
    children = schema.get("children") or []
    if not children:
        raise ValueError("source schema must have at least one field, got 0")
    return [_common_column(child) for child in children]


def _common_column(node: Any) -> Column:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise ValueError(f"expected field `type` of type string, got {go_type((node or {}).get('type'))}")
    kind, name = node["type"], str(node.get("name", ""))
    children = node.get("children") or []
    if kind in ("UNION",):
        raise ValueError(f"source schema contains union '{name}' that parquet cannot express")
    if kind in ("ANY", "NULL", "BIG_DECIMAL") or kind not in _COMMON:
        raise ValueError(
            f"source schema contains field '{name}' of type '{kind}' that is not supported by this processor"
        )
    column = Column(name, optional=node.get("optional") is True and kind != "ARRAY")
    if kind == "ARRAY":
        if len(children) != 1:
            raise ValueError(f"source schema contains array '{name}' that does not define a child type")
        inner = _common_column(children[0])
        inner.name, inner.repeated = name, True
        return inner
    if kind == "OBJECT":
        if not children:
            raise ValueError(f"source schema contains object '{name}' that contains zero children")
        column.children = [_common_column(c) for c in children]
        return column
    if kind == "MAP":
        if len(children) != 1:
            raise ValueError(
                f"source schema contains map '{name}' that does not define a single value type child"
            )
        column.kind, column.key = "MAP", _common_column(children[0])
        return column
    column.kind = {"FLOAT32": "FLOAT", "FLOAT64": "DOUBLE", "STRING": "UTF8"}.get(kind) or kind
    if kind == "DECIMAL":
        column.precision, column.scale = int(node.get("precision", 0)), int(node.get("scale", 0))
        if not 1 <= column.precision <= 38:
            raise ValueError(f"decimal field {name!r} missing precision/scale")
    if kind == "TIME_OF_DAY":
        unit = node.get("unit", "MILLIS")
        if unit == "SECONDS":
            raise ValueError(f"time-of-day field {name!r} has unit SECONDS which parquet cannot express")
        column.unit = {"MICROS": "us", "NANOS": "ns"}.get(str(unit), "ms")
    return column


# -- Arrow schema and values ---------------------------------------------------------------------


def _arrow_type(pa: Any, column: Column, unit: str, storage: bool) -> Any:
    """The Arrow type of a column; ``storage`` gives extension types as their storage type (the
    rows are built with those, then cast)."""
    if column.children:
        inner = pa.struct([_arrow_field(pa, c, unit, storage) for c in column.children])
    elif column.kind == "MAP":
        assert column.key is not None
        inner = pa.map_(pa.string(), _arrow_field(pa, column.key, unit, storage).with_name("value"))
    else:
        inner = {
            "BOOLEAN": pa.bool_(),
            "INT32": pa.int32(),
            "INT64": pa.int64(),
            "FLOAT": pa.float32(),
            "DOUBLE": pa.float64(),
            "BYTE_ARRAY": pa.binary(),
            "BSON": pa.binary(),
            "UTF8": pa.string(),
            "ENUM": pa.string(),
            "TIMESTAMP": pa.timestamp(unit, tz="UTC"),
            "DATE": pa.date32(),
            "JSON": pa.string() if storage else pa.json_(),
            "UUID": pa.binary(16) if storage else pa.uuid(),
        }.get(column.kind)
        if column.kind == "DECIMAL":
            inner = pa.decimal128(column.precision, column.scale)
        elif column.kind == "TIME_OF_DAY":
            inner = pa.time32("ms") if column.unit == "ms" else pa.time64(column.unit)
    if column.repeated:
        return pa.list_(pa.field("element", inner, nullable=False))
    return inner


def _arrow_field(pa: Any, column: Column, unit: str, storage: bool) -> Any:
    return pa.field(column.name, _arrow_type(pa, column, unit, storage), nullable=column.optional)


class EncodeError(ValueError):
    """A row that does not fit the schema."""


def _row(columns: list[Column], value: Any, unit: str, path: str = "") -> dict[str, Any]:
    return {c.name: _value(c, value.get(c.name), unit, f"{path}{c.name}") for c in columns}


def _value(column: Column, value: Any, unit: str, path: str) -> Any:
    if column.repeated:
        if value is None:
            return []
        if not isinstance(value, list):
            raise EncodeError(f"column {path}: expected an array, got {go_type(value)}")
        single = Column(
            column.name, column.kind, children=column.children, scale=column.scale, unit=column.unit
        )
        single.key, single.precision = column.key, column.precision
        return [_value(single, item, unit, f"{path}[{i}]") for i, item in enumerate(value)]
    if value is None:
        if column.optional:
            return None
        raise EncodeError(f"column {path}: a value is required")
    if column.children:
        if not isinstance(value, dict):
            raise EncodeError(f"column {path}: expected an object, got {go_type(value)}")
        return _row(column.children, value, unit, path + ".")
    try:
        return _leaf(column, value, unit, path)
    except (ValueError, TypeError, ArithmeticError) as err:
        raise EncodeError(f"column {path}: {err}") from None


def _leaf(column: Column, value: Any, unit: str, path: str) -> Any:
    kind = column.kind
    if kind == "MAP":
        if not isinstance(value, dict):
            raise ValueError(f"expected an object, got {go_type(value)}")
        assert column.key is not None
        return [(str(k), _value(column.key, v, unit, f"{path}.{k}")) for k, v in value.items()]
    if kind == "BOOLEAN":
        if not isinstance(value, bool):
            raise ValueError(f"cannot write {go_type(value)} as BOOLEAN")
        return value
    if kind in ("INT32", "INT64"):
        number = _whole(value, kind)
        if kind == "INT32" and not -(2**31) <= number < 2**31:
            raise ValueError(f"value {number} overflows INT32")
        return number
    if kind in ("FLOAT", "DOUBLE"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"cannot write {go_type(value)} as {kind}")
        return float(value)
    if kind in ("BYTE_ARRAY", "BSON"):
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, bytes):
            return value
        raise ValueError(f"cannot write {go_type(value)} as {kind}")
    if kind in ("UTF8", "ENUM"):
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, str):
            return value
        raise ValueError(f"cannot write {go_type(value)} as {kind}")
    if kind == "JSON":
        return format_json_marshal(value)
    if kind == "UUID":
        if isinstance(value, str):
            try:
                return uuid.UUID(value).bytes
            except ValueError:
                raise ValueError(f"parsing string as UUID: invalid UUID {value!r}") from None
        if isinstance(value, bytes) and len(value) == 16:
            return value
        raise ValueError(f"cannot write {go_type(value)} as UUID")
    if kind == "TIMESTAMP":
        return _timestamp(value, unit)
    if kind == "DATE":
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).date()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value[:10]) if len(value) > 10 else dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"parsing DATE string {value!r}") from None
        return dt.date(1970, 1, 1) + dt.timedelta(days=_whole(value, "DATE"))
    if kind == "TIME_OF_DAY":
        return _whole(value, "TIME")
    if kind == "DECIMAL":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"cannot write {go_type(value)} as DECIMAL")
        try:
            exact = decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            raise ValueError(f"parsing decimal {value!r} at scale {column.scale}") from None
        return exact.quantize(decimal.Decimal(1).scaleb(-column.scale))
    raise ValueError(f"type {kind} is not supported")


def _whole(value: Any, kind: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"cannot write {go_type(value)} as {kind}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"cannot write {value} as {kind}")
    return int(value)


def _timestamp(value: Any, unit: str) -> int:
    per_second = {"ns": 10**9, "us": 10**6, "ms": 10**3}[unit]
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f'parsing string RFC3339 timestamp: cannot parse "{value}"') from None
        if value.tzinfo is None:
            raise ValueError("parsing string RFC3339 timestamp: missing time zone")
    if isinstance(value, dt.datetime):
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        nanos = (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
        nanos += getattr(value, "nanos", 0) or 0
        return nanos // (10**9 // per_second)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"cannot convert {value} to TIMESTAMP")
        return int(value)
    raise ValueError(
        f"TIMESTAMP values must be a timestamp, RFC3339 string, or numeric; got {go_type(value)}"
    )


def _leaf_paths(columns: list[Column], prefix: str = "") -> list[tuple[str, str]]:
    """Each leaf column's path as Arrow names it in the file, with its type."""
    paths: list[tuple[str, str]] = []
    for column in columns:
        path = prefix + column.name + (".list.element" if column.repeated else "")
        if column.children:
            paths.extend(_leaf_paths(column.children, path + "."))
        elif column.kind == "MAP":
            assert column.key is not None
            paths.append((path + ".key_value.key", "STRING"))
            paths.extend(_leaf_paths([column.key], path + ".key_value."))
        else:
            paths.append((path, column.kind))
    return paths


class ParquetEncode:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.pq = require_pyarrow("processor parquet_encode")
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        self.columns = columns_from_config(conf.get("schema") or []) if conf.get("schema") else None
        self.schema_metadata = conf["schema_metadata"]
        self.compression = COMPRESSION[conf["default_compression"]]
        self.plain = conf["default_encoding"] == "PLAIN"
        self.unit = TIMESTAMP_UNITS[conf["default_timestamp_unit"]]
        self.logger = res.logger

    def _columns(self, first: Message) -> list[Column]:
        if not self.schema_metadata:
            assert self.columns is not None
            return self.columns
        if self.schema_metadata not in first.metadata:
            raise EncodeError(
                f"schema_metadata '{self.schema_metadata}' specified but field was missing from input data"
            )
        return columns_from_common(first.metadata[self.schema_metadata])

    def encode(self, batch: list[Message]) -> bytes:
        import pyarrow as pa  # optional dependency: the "parquet" extra (checked in __init__)

        columns = self._columns(batch[0])
        rows = []
        for i, msg in enumerate(batch):
            try:
                value = msg.structured()
            except ValueError as err:
                raise EncodeError(f"message {i}: {err}") from None
            if not isinstance(value, dict):
                raise EncodeError(f"unable to encode message type {go_type(value)} as parquet row")
            try:
                rows.append(_row(columns, value, self.unit))
            except EncodeError as err:
                raise EncodeError(f"message {i}: {err}") from None
        storage = pa.schema([_arrow_field(pa, c, self.unit, True) for c in columns])
        target = pa.schema([_arrow_field(pa, c, self.unit, False) for c in columns])
        table = pa.Table.from_pylist(rows, schema=storage).cast(target)
        encodings = {
            path: "DELTA_LENGTH_BYTE_ARRAY" if kind in _BYTE_ARRAYS and not self.plain else "PLAIN"
            for path, kind in _leaf_paths(columns)
        }
        out = io.BytesIO()
        self.pq.write_table(
            table,
            out,
            compression=self.compression,
            use_dictionary=False,
            column_encoding=encodings,
            store_decimal_as_integer=True,
        )
        return out.getvalue()

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if not batch:
            return []
        try:
            data = self.encode(batch)
        except Exception as err:  # EncodeError, or Arrow's own error types for a value it refuses
            self.logger.error(f"Failed to encode Parquet file: {err}")
            for msg in batch:
                msg.error = str(err)
            return [batch]
        first = batch[0]
        out = first.copy()
        out.content = data
        out.collapsed = sum(m.collapsed for m in batch)
        return [[out]]

    async def close(self) -> None:
        return None


register_processor(SPEC, ParquetEncode)
