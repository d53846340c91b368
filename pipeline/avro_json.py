"""Avro values as Avro's JSON encoding, the way upstream's twmb/avro writes them: shared by the
``avro`` scanner and the ``avro`` processor.

``schema_tree`` turns a schema (parsed JSON) into nested dicts with named references resolved and
full names, which every walker here and in ``pipeline.avro_codec`` follows. ``AvroJSONWriter``
writes a value as Avro JSON text: with ``tagged`` a union value is wrapped as ``{"branch": value}``
(a logical type names the branch ``long.timestamp-millis``), logical types are written in their
physical form (a timestamp as its integer, a decimal as a number with ``scale`` digits), bytes
and fixed as ISO-8859-1 strings, NaN as ``null`` and infinities as ``±1e999`` (LinkedIn's
convention). A union value already wrapped as ``{"branch": value}`` is unwrapped first, as
upstream does; otherwise it goes under the first branch that accepts it, with upstream's rules of
acceptance (a ``long`` whose union lists ``int`` first is written under ``int``). ``rabin_fingerprint``
is the CRC-64-AVRO of a schema's canonical form.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import struct
import uuid
from fractions import Fraction
from typing import Any

from mapping_lang.value import format_float_g, format_timestamp


def require_fastavro(what: str) -> Any:
    """The fastavro module (the ``formats`` extra), or an error naming the extra."""
    try:
        import fastavro  # optional dependency: the "formats" extra
    except ImportError:
        raise ValueError(
            f"{what} needs the Python package 'fastavro': pip install 'benthic[formats]'"
        ) from None
    return fastavro


class AvroMismatch(Exception):
    """The value does not fit this schema node (upstream tries the next union branch)."""


class _Fixed(bytes):
    """A fixed value: Go decodes it into an array, which the ``bytes`` and ``string`` branches
    of a union do not accept."""


class _Duration(int):
    """A time-of-day in nanoseconds: Go decodes ``time-millis``/``time-micros`` as a
    ``time.Duration``, which is an integer to the numeric branches."""


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")


def _native(value: Any, node: Any) -> Any:
    """fastavro's value as the Go value upstream's decoder makes of it (for union choices)."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        name, inner = value
        return _Fixed(inner) if isinstance(inner, bytes) and _is_fixed(node, name) else inner
    if isinstance(value, dt.time):
        return _Duration(
            ((value.hour * 60 + value.minute) * 60 + value.second) * 10**9 + value.microsecond * 1000
        )
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _is_fixed(node: Any, name: str) -> bool:
    if isinstance(node, dict) and node.get("type") == "union":
        return any(
            isinstance(b, dict) and b.get("type") == "fixed" and b.get("name") == name
            for b in node["branches"]
        )
    return False


def _rfc3339(text: str) -> Any:
    """The timestamp an RFC 3339 string names (naive ones as UTC), or the text when it is none."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _unix(value: dt.datetime, per_second: int) -> int:
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * per_second + delta.microseconds * per_second // 10**6


def _go_int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise AvroMismatch("expected integer, got bool")
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, float):
        if not value.is_integer():
            raise AvroMismatch(f"{value} is not a whole number")
        number = int(value)
    else:
        raise AvroMismatch(f"expected integer, got {type(value).__name__}")
    if not low <= number <= high:
        raise AvroMismatch(f"value {number} overflows")
    return number


def _go_float(value: Any, bits: int) -> float:
    limit = 1 << (24 if bits == 32 else 53)
    if isinstance(value, bool):
        raise AvroMismatch("expected numeric, got bool")
    if isinstance(value, int):
        if not -limit <= value <= limit:
            raise AvroMismatch(f"integer {value} overflows float{bits} exact precision")
        return float(value)
    if isinstance(value, float):
        if bits == 32 and math.isfinite(value) and abs(value) > 3.4028234663852886e38:
            raise AvroMismatch(f"value {value} overflows float32")
        return value
    raise AvroMismatch(f"expected numeric, got {type(value).__name__}")


def _float_text(value: float, bits: int) -> str:
    if math.isnan(value):
        return "null"
    if math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    if bits == 32:
        # Go prints the shortest decimal that reads back as the same float32
        single = struct.unpack("f", struct.pack("f", value))[0]
        for digits in range(1, 10):
            text = f"{single:.{digits - 1}e}"
            if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
                value = float(text)
                break
    return format_float_g(value)


def _string_text(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    return out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _bytes_text(data: bytes) -> str:
    parts = ['"']
    for c in data:
        ch = chr(c)
        if ch in '"\\':
            parts.append("\\" + ch)
        elif ch in "\b\t\n\f\r":
            parts.append(json.dumps(ch)[1:-1])
        elif 0x20 <= c <= 0x7E:
            parts.append(ch)
        else:
            parts.append(f"\\u00{c:02X}")
    parts.append('"')
    return "".join(parts)


def _decimal_text(value: Any, scale: int) -> str:
    if isinstance(value, decimal.Decimal):
        fraction = Fraction(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        fraction = Fraction(value)
    else:
        raise AvroMismatch("not a decimal")
    scaled = fraction * 10**scale
    rounded = math.floor(scaled + Fraction(1, 2)) if scaled >= 0 else -math.floor(-scaled + Fraction(1, 2))
    sign = "-" if rounded < 0 else ""
    digits = str(abs(rounded)).rjust(scale + 1, "0")
    return (
        f"{sign}{digits[: len(digits) - scale]}.{digits[len(digits) - scale :]}" if scale else sign + digits
    )


class AvroJSONWriter:
    """Avro JSON text for a datum, walking the schema (a tree of dicts, names resolved)."""

    def __init__(self, tagged: bool) -> None:
        self.tagged = tagged

    def encode(self, node: Any, value: Any) -> str:
        value = _native(value, node)
        kind = node["type"]
        logical = node.get("logicalType", "")
        if kind == "null":
            if value is not None:
                raise AvroMismatch("expected null")
            return "null"
        if value is None and kind != "union":
            raise AvroMismatch(f"nil value for non-nullable type {kind!r}")
        if kind == "boolean":
            if not isinstance(value, bool):
                raise AvroMismatch("expected bool")
            return "true" if value else "false"
        if isinstance(value, str) and (logical == "date" or "timestamp-" in logical):
            value = _rfc3339(value)  # upstream takes RFC 3339 text for dates and timestamps
        if kind == "int":
            if isinstance(value, dt.datetime) and logical == "date":
                return str(_unix(value, 1) // 86400)
            if isinstance(value, dt.datetime) and logical == "time-millis":
                return str(
                    ((value.hour * 60 + value.minute) * 60 + value.second) * 1000 + value.microsecond // 1000
                )
            if isinstance(value, _Duration) and logical == "time-millis":
                return str(int(value) // 10**6)
            return str(_go_int(value, -(2**31), 2**31 - 1))
        if kind == "long":
            if isinstance(value, dt.datetime) and "timestamp-" in logical:
                unit = logical.rsplit("-", 1)[1]
                return str(_unix(value, {"millis": 1000, "micros": 10**6, "nanos": 10**9}.get(unit, 1000)))
            if isinstance(value, _Duration) and logical == "time-micros":
                return str(int(value) // 1000)
            return str(_go_int(value, -(2**63), 2**63 - 1))
        if kind in ("float", "double"):
            bits = 32 if kind == "float" else 64
            return _float_text(_go_float(value, bits), bits)
        if kind == "string":
            if isinstance(value, str):
                return _string_text(value)
            if isinstance(value, bytes) and not isinstance(value, _Fixed):
                return _string_text(value.decode("utf-8", "replace"))
            if isinstance(value, dt.datetime):
                return _string_text(format_timestamp(value))
            raise AvroMismatch("expected string")
        if kind in ("bytes", "fixed"):
            if logical == "decimal" and not isinstance(value, (str, bytes)):
                return _decimal_text(value, int(node.get("scale", 0)))
            if isinstance(value, str):
                data = value.encode()
            elif isinstance(value, bytes) and (kind == "fixed" or not isinstance(value, _Fixed)):
                data = bytes(value)
            else:
                raise AvroMismatch(f"expected bytes for {kind}")
            if kind == "fixed" and len(data) != node["size"]:
                raise AvroMismatch(f"fixed size mismatch: got {len(data)} bytes, need {node['size']}")
            return _bytes_text(data)
        if kind == "enum":
            symbols = node["symbols"]
            if isinstance(value, str) and value in symbols:
                return _string_text(value)
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(symbols):
                return _string_text(symbols[value])
            raise AvroMismatch("not a symbol of the enum")
        if kind == "array":
            if not isinstance(value, (list, bytes)):
                raise AvroMismatch("expected array")
            return "[" + ",".join(self.encode(node["items"], item) for item in value) + "]"
        if kind == "map":
            if not isinstance(value, dict):
                raise AvroMismatch("expected map")
            return (
                "{"
                + ",".join(
                    f"{_string_text(str(k))}:{self.encode(node['values'], v)}" for k, v in value.items()
                )
                + "}"
            )
        if kind == "record":
            if not isinstance(value, dict):
                raise AvroMismatch("expected record")
            fields = []
            for field in node["fields"]:
                if field["name"] in value:
                    text = self.encode(field["type"], value[field["name"]])
                elif "default" in field:
                    text = json.dumps(field["default"], ensure_ascii=False)
                else:
                    raise AvroMismatch(f"record {node['name']!r} missing required field {field['name']!r}")
                fields.append(f"{_string_text(field['name'])}:{text}")
            return "{" + ",".join(fields) + "}"
        if kind == "union":
            if value is None:
                return "null"
            wrapped = tagged_branch(node, value)
            if wrapped is not None:
                try:
                    return self._branch_text(wrapped[0], self.encode(wrapped[0], wrapped[1]))
                except AvroMismatch:
                    pass
            for branch in node["branches"]:
                if branch["type"] == "null":
                    continue
                try:
                    text = self.encode(branch, value)
                except AvroMismatch:
                    continue
                return self._branch_text(branch, text)
            raise AvroMismatch(f"no union branch matched value of type {type(value).__name__}")
        raise AvroMismatch(f"unsupported schema kind {kind!r}")

    def _branch_text(self, branch: Any, text: str) -> str:
        if not self.tagged:
            return text
        return "{" + _string_text(branch_name(branch, logical=True)) + ":" + text + "}"


def branch_name(branch: Any, *, logical: bool) -> str:
    """A union branch's name in Avro JSON: the full name of a named type, else the type; with
    ``logical`` a logical type is added (``long.timestamp-millis``)."""
    if logical and branch.get("logicalType"):
        return f"{branch['type']}.{branch['logicalType']}"
    return branch["name"] if branch["type"] in ("record", "enum", "fixed") else str(branch["type"])


def tagged_branch(node: Any, value: Any) -> tuple[Any, Any] | None:
    """``(branch, inner)`` when ``value`` is a one-key object naming a branch of the union ``node``
    (by its plain or its logical-type name), as a tagged union value is written."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((key, inner),) = value.items()
    for branch in node["branches"]:
        if key in (branch_name(branch, logical=False), branch_name(branch, logical=True)):
            return branch, inner
    return None


def schema_tree(schema: Any, named: dict[str, Any] | None = None, namespace: str = "") -> Any:
    """The writer's schema as nested dicts with named references resolved and full names."""
    named = {} if named is None else named
    if isinstance(schema, list):
        return {"type": "union", "branches": [schema_tree(s, named, namespace) for s in schema]}
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return {"type": schema}
        full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
        return named.get(full) or named[schema]
    kind = schema["type"]
    if isinstance(kind, (list, dict)) or kind not in ("record", "error", "enum", "fixed", "array", "map"):
        node = schema_tree(kind, named, namespace)
        return (
            {**node, "logicalType": schema["logicalType"], **_decimal(schema)}
            if "logicalType" in schema
            else node
        )
    if kind == "array":
        return {"type": "array", "items": schema_tree(schema["items"], named, namespace)}
    if kind == "map":
        return {"type": "map", "values": schema_tree(schema["values"], named, namespace)}
    name = schema["name"]
    space = schema.get("namespace", namespace) if "." not in name else name.rsplit(".", 1)[0]
    full = name if "." in name or not space else f"{space}.{name}"
    node = {"type": "record" if kind == "error" else kind, "name": full}
    if "logicalType" in schema:
        node.update(logicalType=schema["logicalType"], **_decimal(schema))
    for key in ("symbols", "size"):
        if key in schema:
            node[key] = schema[key]
    named[full] = node
    if kind in ("record", "error"):
        node["fields"] = [
            {
                **{k: v for k, v in f.items() if k in ("name", "default")},
                "type": schema_tree(f["type"], named, space),
            }
            for f in schema["fields"]
        ]
    return node


def _decimal(schema: dict[str, Any]) -> dict[str, Any]:
    return {"scale": schema.get("scale", 0)} if schema.get("logicalType") == "decimal" else {}


def rabin_fingerprint(text: bytes) -> int:
    """CRC-64-AVRO of the canonical form, as the Avro specification defines it."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in text:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp
