"""Rows of a Parquet file as the values upstream's readers give, shared by the ``parquet`` input
and the ``parquet_decode`` processor.

Upstream reads with parquet-go into Go's ``any``: a row is an object of its columns; booleans,
integers and floats stay numbers (a FLOAT column is a float32, printed with float32's shortest
digits); BYTE_ARRAY columns (UTF8, ENUM, BSON or none) are strings; FIXED_LEN_BYTE_ARRAY columns
are bytes (base64 in JSON); a JSON column is its parsed value; LIST and repeated columns are
arrays, MAP columns objects, groups objects and a missing optional value null; DATE and TIME stay
the integers they are stored as; a DECIMAL stored as INT32 or INT64 becomes its float value.
``parquet_decode`` also turns TIMESTAMP columns into timestamps (UTC when the column is adjusted
to UTC, local time otherwise) and UUID columns into their text form, as upstream does for both
settings of ``handle_logical_types``; the ``parquet`` input leaves them as stored (the integer,
the 16 bytes). An INT96 value is upstream's three 32-bit words: the nanoseconds of the day (low,
high) and the Julian day.

Apache Arrow (``pyarrow``, the ``parquet`` extra) reads the file; this module turns its columns
into those values.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import struct
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from mapping_lang.value import Timestamp

EXTRA = "parquet"

_NANOS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_JULIAN_EPOCH_DAY = 2440588


def require_pyarrow(component: str) -> Any:
    """``pyarrow.parquet``, or a ValueError naming the extra that installs it."""
    try:
        import pyarrow.parquet as pq  # optional dependency: the "parquet" extra
    except ImportError:
        raise ValueError(
            f"{component} needs the Python package 'pyarrow': pip install 'benthic[{EXTRA}]'"
        ) from None
    return pq


def float32_value(value: float) -> float:
    """The float64 that prints as Go prints the float32 ``value`` (its shortest digits)."""
    single: float = struct.unpack("f", struct.pack("f", value))[0]
    if single != single or single in (float("inf"), float("-inf")):
        return single
    for digits in range(1, 10):
        text = f"{single:.{digits - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            return float(text)
    return single


def timestamp_from_nanos(nanos: int, utc: bool) -> Timestamp:
    seconds, rest = divmod(nanos, 10**9)
    moment = _dt.datetime.fromtimestamp(seconds, _dt.UTC) + _dt.timedelta(microseconds=rest // 1000)
    if not utc:
        moment = moment.astimezone()
    return Timestamp.from_datetime(moment, nanos=rest % 1000)


class RowReader:
    """The rows of one Parquet file, ``batch_size`` at a time."""

    def __init__(self, source: Any, batch_size: int, logical_types: bool) -> None:
        pq = require_pyarrow("parquet")
        self.file = pq.ParquetFile(source)
        self.logical_types = logical_types
        self.batch_size = batch_size
        columns = self.file.schema
        self.physical: dict[str, str] = {
            columns.column(i).path: columns.column(i).physical_type for i in range(len(columns))
        }

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        for batch in self.file.iter_batches(batch_size=self.batch_size):
            converted = [self._convert(batch.column(i), name) for i, name in enumerate(batch.schema.names)]
            names = batch.schema.names
            yield (
                [dict(zip(names, values, strict=True)) for values in zip(*converted, strict=True)]
                if names
                else [{} for _ in range(batch.num_rows)]
            )

    def _physical(self, path: str) -> str:
        if path in self.physical:
            return self.physical[path]
        leaf = path.rsplit(".", 1)[-1]
        top = path.split(".", 1)[0]
        found = [
            kind for p, kind in self.physical.items() if p.split(".", 1)[0] == top and p.endswith("." + leaf)
        ]
        return found[0] if len(found) == 1 else ""

    def _convert(self, array: Any, path: str) -> list[Any]:
        import pyarrow as pa  # optional dependency: the "parquet" extra (checked by require_pyarrow)

        kind = array.type
        if isinstance(kind, pa.DictionaryType):
            array = array.dictionary_decode()
            kind = array.type
        if pa.types.is_struct(kind):
            names = [kind.field(i).name for i in range(kind.num_fields)]
            children = [self._convert(array.field(i), f"{path}.{n}") for i, n in enumerate(names)]
            valid = array.is_valid().to_pylist()
            return [
                dict(zip(names, values, strict=True)) if ok else None
                for ok, values in zip(
                    valid, zip(*children, strict=True) if names else [()] * len(array), strict=True
                )
            ]
        if pa.types.is_map(kind):
            keys = self._convert(array.keys, f"{path}.key")
            items = self._convert(array.items, f"{path}.value")
            return self._sliced(
                array, list(zip(keys, items, strict=True)), lambda pairs: {str(k): v for k, v in pairs}
            )
        if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
            values = self._convert(array.flatten(), f"{path}.{kind.value_field.name}")
            return self._sliced(array, values, list)
        return self._leaf(array, kind, path)

    @staticmethod
    def _sliced(array: Any, values: list[Any], build: Callable[[list[Any]], Any]) -> list[Any]:
        offsets = array.offsets.to_pylist()
        base = offsets[0] if offsets else 0
        valid = array.is_valid().to_pylist()
        return [
            build(values[offsets[i] - base : offsets[i + 1] - base]) if valid[i] else None
            for i in range(len(array))
        ]

    def _leaf(self, array: Any, kind: Any, path: str) -> list[Any]:
        import pyarrow as pa  # optional dependency: the "parquet" extra (checked by require_pyarrow)

        if isinstance(kind, pa.BaseExtensionType):
            name = kind.extension_name
            storage = array.storage if hasattr(array, "storage") else array.cast(kind.storage_type)
            if name == "arrow.uuid":
                raw = storage.to_pylist()
                if self.logical_types:
                    return [None if b is None else str(uuid.UUID(bytes=b)) for b in raw]
                return raw  # type: ignore[no-any-return]
            if name == "arrow.json":
                return [None if s is None else _parse_json(s, path) for s in storage.to_pylist()]
            return self._leaf(storage, storage.type, path)
        if pa.types.is_timestamp(kind):
            ints = array.cast(pa.int64()).to_pylist()
            if self._physical(path) == "INT96":
                return [None if n is None else _int96(n) for n in ints]
            if not self.logical_types:
                return ints  # type: ignore[no-any-return]
            per_unit = _NANOS_PER_UNIT[kind.unit]
            utc = kind.tz is not None
            return [None if n is None else timestamp_from_nanos(n * per_unit, utc) for n in ints]
        if pa.types.is_date32(kind):
            return array.cast(pa.int32()).to_pylist()  # type: ignore[no-any-return]
        if pa.types.is_date64(kind):
            return [None if n is None else n // 86_400_000 for n in array.cast(pa.int64()).to_pylist()]
        if pa.types.is_time32(kind):
            return array.cast(pa.int32()).to_pylist()  # type: ignore[no-any-return]
        if pa.types.is_time64(kind):
            return array.cast(pa.int64()).to_pylist()  # type: ignore[no-any-return]
        if pa.types.is_float32(kind) or pa.types.is_float16(kind):
            return [None if v is None else float32_value(float(v)) for v in array.to_pylist()]
        if pa.types.is_decimal(kind):
            physical = self._physical(path)
            values = array.to_pylist()
            if physical == "INT32":
                return [None if v is None else float32_value(float(v)) for v in values]
            if physical == "INT64":
                return [None if v is None else float(v) for v in values]
            return [None if v is None else decimal_text(v) for v in values]
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
            return [None if b is None else b.decode("utf-8", "replace") for b in array.to_pylist()]
        return array.to_pylist()  # type: ignore[no-any-return]


def decimal_text(value: Any) -> str:
    """A decimal as Go's big.Float writes it as text: shortest digits, an exponent from 1e6 up or
    below 1e-4 (upstream's decimals stored as bytes come out as such strings)."""
    sign, digits, exponent = value.normalize().as_tuple()
    if not any(digits):
        return "0"
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)
    minus = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        power = point - 1
        return f"{minus}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    if point >= len(text):
        return minus + text + "0" * (point - len(text))
    return f"{minus}{text[:point]}.{text[point:]}"


def _parse_json(text: Any, path: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise ValueError(f"column {path}: value is not JSON: {err}") from None


def _int96(nanos: int) -> list[int]:
    days, of_day = divmod(nanos, 86_400 * 10**9)
    return [of_day & 0xFFFFFFFF, of_day >> 32, days + _JULIAN_EPOCH_DAY]


def read_rows(data: bytes, logical_types: bool) -> list[dict[str, Any]]:
    """Every row of a Parquet file held in memory."""
    reader = RowReader(io.BytesIO(data), 1024, logical_types)
    return [row for batch in reader.batches() for row in batch]
