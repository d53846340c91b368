"""Avro's binary encoding and Avro JSON text to and from the values upstream's twmb/avro makes of
them, for the ``avro`` processor.

Decoding (binary, or Avro JSON text) walks a ``pipeline.avro_json.schema_tree`` and yields the
value Go decodes into ``any`` with tagged unions and tagged logical types: a union value becomes
``{"branch": value}`` (``long.timestamp-millis`` for a logical type; null stays null), bytes and
fixed become bytes (so base64 in the message's JSON, as Go's encoder writes ``[]byte``), a
float keeps float32's shortest digits, timestamps and dates become UTC timestamps, times of day
their nanoseconds, decimals the text of a Go ``big.Rat`` (``"3/2"``, ``"7"``) and UUIDs on
``fixed`` their text. Avro JSON text may hold a union value tagged or bare (a bare one goes to
the first branch whose kind fits the JSON value and that decodes it), unknown fields are
skipped, and a missing field that has a default is left out of the result, as upstream leaves
it. Encoding to binary takes what a JSON document holds: a union value may be
tagged (``{"branch": value}``) or bare (the first branch that accepts it wins), a record's missing
field takes its default, and bytes may be given as a string.

Every length read from the input is checked against the bytes that remain before anything is
allocated, and nesting is bounded, so hostile input costs at most its own size.
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

from pipeline.avro_json import AvroMismatch, branch_name, tagged_branch

MAX_DEPTH = 200
MAX_EMPTY_ITEMS = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class AvroDecodeError(ValueError):
    """The input is not a valid encoding of a value of the schema."""


# --------------------------------------------------------------------------------------------
# logical types: from the physical value to Go's natural one


def _float32(value: float) -> float:
    """The float32 nearest ``value``, as the shortest decimal that reads back as it (Go prints a
    float32 with those digits)."""
    if not math.isfinite(value):
        return value
    single: float = struct.unpack("<f", struct.pack("<f", value))[0]
    for digits in range(1, 10):
        text = f"{single:.{digits - 1}e}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == single:
            return float(text)
    return single


def _rat_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _from_epoch(amount: int, per_second: int) -> dt.datetime:
    seconds, rest = divmod(amount, per_second)
    try:
        return _EPOCH + dt.timedelta(seconds=seconds, microseconds=rest * 10**6 // per_second)
    except OverflowError:
        raise AvroDecodeError(f"timestamp {amount} is out of range") from None


_PER_SECOND = {"millis": 1000, "micros": 10**6, "nanos": 10**9}


def logical_value(node: Any, value: Any) -> Any:
    logical = node.get("logicalType", "")
    kind = node["type"]
    if not logical:
        return value
    if kind == "int" and logical == "date":
        return _from_epoch(value * 86400, 1)
    if kind == "int" and logical == "time-millis":
        return value * 10**6
    if kind == "long" and logical == "time-micros":
        return value * 1000
    if kind == "long" and logical.startswith(("timestamp-", "local-timestamp-")):
        unit = logical.rsplit("-", 1)[1]
        if unit in _PER_SECOND:
            return _from_epoch(value, _PER_SECOND[unit])
    if kind in ("bytes", "fixed") and logical == "decimal":
        unscaled = int.from_bytes(value, "big", signed=True)
        return _rat_text(Fraction(unscaled, 10 ** int(node.get("scale", 0))))
    if kind == "fixed" and logical == "uuid" and len(value) == 16:
        return str(uuid.UUID(bytes=bytes(value)))
    return value


# --------------------------------------------------------------------------------------------
# binary decoding


class _Reader:
    __slots__ = ("data", "pos", "items_left")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        # items of zero width (null, an empty record) cost no input: their number is capped
        self.items_left = len(data) + MAX_EMPTY_ITEMS

    def take(self, n: int, what: str) -> bytes:
        if n > len(self.data) - self.pos:
            raise AvroDecodeError(
                f"avro: short buffer for {what}: need {n}, have {len(self.data) - self.pos}"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def long(self) -> int:
        result = shift = 0
        for _ in range(10):
            if self.pos >= len(self.data):
                raise AvroDecodeError("avro: short buffer for varint")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7
        raise AvroDecodeError("avro: varint overflows a 64-bit integer")


def decode_binary(tree: Any, data: bytes) -> Any:
    """The value at the start of ``data`` (bytes after it are ignored, as upstream ignores them)."""
    return _read(tree, _Reader(data), 0)


def _read(node: Any, r: _Reader, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise AvroDecodeError("avro: value nests too deeply")
    kind = node["type"]
    if kind == "null":
        return None
    if kind == "boolean":
        return r.take(1, "boolean")[0] != 0
    if kind == "int":
        value = r.long()
        if not -(2**31) <= value < 2**31:
            raise AvroDecodeError(f"avro: int value {value} overflows int32")
        return logical_value(node, value)
    if kind == "long":
        return logical_value(node, r.long())
    if kind == "float":
        return _float32(struct.unpack("<f", r.take(4, "float"))[0])
    if kind == "double":
        return struct.unpack("<d", r.take(8, "double"))[0]
    if kind in ("bytes", "string"):
        length = r.long()
        if length < 0:
            raise AvroDecodeError(f"invalid negative bytes length {length}")
        raw = r.take(length, kind)
        if kind == "string":
            text = raw.decode("utf-8", "replace")
            return str(uuid.UUID(text)) if node.get("logicalType") == "uuid" and _is_uuid(text) else text
        return logical_value(node, raw)
    if kind == "fixed":
        return logical_value(node, r.take(node["size"], "fixed"))
    if kind == "enum":
        index = r.long()
        symbols = node["symbols"]
        if not 0 <= index < len(symbols):
            raise AvroDecodeError(f"avro: enum index {index} out of range [0, {len(symbols)})")
        return symbols[index]
    if kind == "array":
        items: list[Any] = []
        for _ in _blocks(r):
            items.append(_read(node["items"], r, depth + 1))
        return items
    if kind == "map":
        entries: dict[str, Any] = {}
        for _ in _blocks(r):
            length = r.long()
            if length < 0:
                raise AvroDecodeError(f"invalid negative bytes length {length}")
            key = r.take(length, "map key").decode("utf-8", "replace")
            entries[key] = _read(node["values"], r, depth + 1)
        return entries
    if kind == "record":
        return {f["name"]: _read(f["type"], r, depth + 1) for f in node["fields"]}
    if kind == "union":
        index = r.long()
        branches = node["branches"]
        if not 0 <= index < len(branches):
            raise AvroDecodeError(f"union index {index} out of range [0, {len(branches)})")
        branch = branches[index]
        value = _read(branch, r, depth + 1)
        return None if value is None else {branch_name(branch, logical=True): value}
    raise AvroDecodeError(f"avro: unsupported Avro type {kind}")


def _blocks(r: _Reader) -> Any:
    """One step per item of an array or map, block by block (a negative count is followed by
    the block's size in bytes). An item takes at least one byte of input unless it has zero
    width, so the items of a whole datum are capped at its size plus ``MAX_EMPTY_ITEMS``: a
    forged count cannot spin."""
    while True:
        count = r.long()
        if count == 0:
            return
        if count < 0:
            count = -count
            r.long()
        r.items_left -= count
        if r.items_left < 0:
            raise AvroDecodeError(f"avro: block count {count} exceeds what the input can hold")
        for _ in range(count):
            yield None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


# --------------------------------------------------------------------------------------------
# Avro JSON text decoding


def decode_json(tree: Any, text: bytes) -> Any:
    try:
        document = json.loads(text, parse_float=decimal.Decimal, parse_int=int)
    except (ValueError, RecursionError) as err:
        raise AvroDecodeError(f"avro json: {err}") from None
    return _from_json(tree, document, 0)


def _from_json(node: Any, value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise AvroDecodeError("avro json: value nests too deeply")
    kind = node["type"]
    if kind == "null":
        if value is not None:
            raise AvroDecodeError("avro json: expected null")
        return None
    if kind == "boolean":
        if not isinstance(value, bool):
            raise AvroDecodeError("avro json: expected boolean")
        return value
    if kind in ("int", "long"):
        number = _json_integer(value, kind)
        if kind == "int" and not -(2**31) <= number < 2**31:
            raise AvroDecodeError(f"avro: value {number} overflows int32")
        if kind == "long" and not -(2**63) <= number < 2**63:
            raise AvroDecodeError(f"avro: value {number} overflows int64")
        return logical_value(node, number)
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal, str)):
            raise AvroDecodeError(f"avro json: invalid {kind}: expected a number")
        if isinstance(value, str):
            special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
            if value not in special:
                raise AvroDecodeError(f"avro json: invalid {kind}: {value!r}")
            return special[value]
        real = float(value)
        return _float32(real) if kind == "float" else real
    if kind == "string":
        if not isinstance(value, str):
            raise AvroDecodeError("avro json: expected string")
        return value
    if kind in ("bytes", "fixed"):
        if (
            node.get("logicalType") == "decimal"
            and isinstance(value, (int, decimal.Decimal))
            and not isinstance(value, bool)
        ):
            # Avro JSON writers (upstream's among them) may write a decimal as a plain number
            return _rat_text(Fraction(value))
        if not isinstance(value, str):
            raise AvroDecodeError(f"avro json: expected string for {kind}")
        if any(ord(c) > 0xFF for c in value):
            raise AvroDecodeError(f"avro json: {kind} string has a character above \\u00ff")
        raw = value.encode("latin-1")
        if kind == "fixed" and len(raw) != node["size"]:
            raise AvroDecodeError(
                f"avro json: fixed size mismatch: got {len(raw)} bytes, need {node['size']}"
            )
        return logical_value(node, raw)
    if kind == "enum":
        if not isinstance(value, str) or value not in node["symbols"]:
            raise AvroDecodeError(f"avro json: unknown enum symbol {json.dumps(value)}")
        return value
    if kind == "array":
        if not isinstance(value, list):
            raise AvroDecodeError("avro json: expected array")
        return [_from_json(node["items"], item, depth + 1) for item in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise AvroDecodeError("avro json: expected object for map")
        return {k: _from_json(node["values"], v, depth + 1) for k, v in value.items()}
    if kind == "record":
        if not isinstance(value, dict):
            raise AvroDecodeError(f"avro json: expected object for record {json.dumps(node['name'])}")
        out = {}
        for field in node["fields"]:
            name = field["name"]
            if name in value:
                try:
                    out[name] = _from_json(field["type"], value[name], depth + 1)
                except AvroDecodeError as err:
                    raise AvroDecodeError(f"field {json.dumps(name)}: {err}") from None
            elif "default" not in field:  # a field with a default is left out, as upstream does
                raise AvroDecodeError(
                    f"avro json: record {json.dumps(node['name'])} missing required field {json.dumps(name)}"
                )
        return out
    if kind == "union":
        if value is None:
            return None
        if isinstance(value, dict) and len(value) == 1:
            ((key, inner),) = value.items()
            branch = _json_branch(node, key)
            if branch is not None:
                try:
                    return _wrap(branch, _from_json(branch, inner, depth + 1))
                except AvroDecodeError:
                    pass  # not a tagged value after all: try it bare, as upstream does
        for branch in node["branches"]:
            if branch["type"] == "null" or not _token_fits(value, branch["type"]):
                continue
            try:
                return _wrap(branch, _from_json(branch, value, depth + 1))
            except AvroDecodeError:
                continue
        raise AvroDecodeError("avro json: no union branch matched")
    raise AvroDecodeError(f"avro json: unsupported schema kind {json.dumps(kind)}")


def _wrap(branch: Any, value: Any) -> Any:
    return None if value is None else {branch_name(branch, logical=True): value}


_PRIMITIVE_KINDS = ("null", "boolean", "int", "long", "float", "double", "string", "bytes")


def _json_branch(node: Any, key: str) -> Any:
    """The branch a tagged value names: by its name, or (goavro's ``long.time-millis``) a
    primitive branch by the type before the dot."""
    for branch in node["branches"]:
        if branch_name(branch, logical=False) == key:
            return branch
    base, dot, _ = key.partition(".")
    if dot:
        for branch in node["branches"]:
            if branch["type"] in _PRIMITIVE_KINDS and branch["type"] == base:
                return branch
    return None


def _token_fits(value: Any, kind: str) -> bool:
    """Whether a bare JSON value's kind can be tried against a union branch of ``kind``."""
    if isinstance(value, str):
        return kind in ("string", "enum", "bytes", "fixed", "float", "double")
    if isinstance(value, bool):
        return kind == "boolean"
    if isinstance(value, list):
        return kind == "array"
    if isinstance(value, dict):
        return kind in ("record", "map")
    return kind in ("int", "long", "float", "double")


def _default(node: Any, default: Any, depth: int) -> Any:
    """A field's default: Avro JSON of the type, or of a union's first branch (bare)."""
    if node["type"] == "union":
        first = node["branches"][0]
        decoded = _from_json(first, default, depth)
        return None if decoded is None else {branch_name(first, logical=True): decoded}
    return _from_json(node, default, depth)


def _json_integer(value: Any, kind: str) -> int:
    if isinstance(value, bool):
        raise AvroDecodeError(f"avro json: expected {kind}")
    if isinstance(value, int):
        return value
    if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
        return int(value)
    raise AvroDecodeError(f"avro json: expected {kind}, got {json.dumps(str(value))}")


# --------------------------------------------------------------------------------------------
# binary encoding


def encode_binary(tree: Any, value: Any) -> bytes:
    out = bytearray()
    _write(tree, value, out, 0)
    return bytes(out)


def _zigzag(number: int, out: bytearray) -> None:
    n = (number << 1) ^ (number >> 63)
    n &= 0xFFFFFFFFFFFFFFFF
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _integer(value: Any, kind: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise AvroMismatch(f"avro: cannot use bool with Avro type {kind}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, (float, decimal.Decimal)) and math.isfinite(value) and value == int(value):
        number = int(value)
    else:
        raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type {kind}")
    if not low <= number <= high:
        raise AvroMismatch(
            f"avro: cannot use {_go_type(value)} with Avro type {kind}: value {number} overflows"
        )
    return number


def _go_type(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, decimal.Decimal)):
        return "json.Number"  # upstream reads a message's numbers as json.Number
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "[]uint8"
    if isinstance(value, list):
        return "[]any"
    if isinstance(value, dict):
        return "map[string]any"
    if isinstance(value, dt.datetime):
        return "time.Time"
    return type(value).__name__


def _epoch(value: Any, per_second: int) -> int | None:
    when = value
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)  # RFC 3339, as upstream accepts
        except ValueError:
            return None
    if not isinstance(when, dt.datetime):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = when - _EPOCH
    return (delta.days * 86400 + delta.seconds) * per_second + delta.microseconds * per_second // 10**6


def _write(node: Any, value: Any, out: bytearray, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise AvroMismatch("avro: value nests too deeply")
    kind = node["type"]
    logical = node.get("logicalType", "")
    if kind == "null":
        if value is not None:
            raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type null")
        return
    if value is None and kind != "union":
        raise AvroMismatch(f"avro: cannot use nil with Avro type {kind}")
    if kind == "boolean":
        if not isinstance(value, bool):
            raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type boolean")
        out.append(1 if value else 0)
        return
    if kind in ("int", "long"):
        if logical == "date":
            seconds = _epoch(value, 1)
            if seconds is not None:
                _zigzag(seconds // 86400, out)
                return
        if logical.startswith(("timestamp-", "local-timestamp-")):
            amount = _epoch(value, _PER_SECOND.get(logical.rsplit("-", 1)[1], 1000))
            if amount is not None:
                _zigzag(amount, out)
                return
        bits = 31 if kind == "int" else 63
        _zigzag(_integer(value, kind, -(2**bits), 2**bits - 1), out)
        return
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
            raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type {kind}")
        out += struct.pack("<f" if kind == "float" else "<d", float(value))
        return
    if kind in ("string", "bytes", "fixed"):
        if logical == "decimal" and not isinstance(value, (bytes, bytearray)):
            raw = _decimal_bytes(value, node)
        elif isinstance(value, str):
            raw = value.encode("utf-8")
            if kind == "fixed" and logical == "uuid" and _is_uuid(value):
                raw = uuid.UUID(value).bytes
        elif isinstance(value, (bytes, bytearray)):
            raw = bytes(value)
        else:
            raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type {kind}")
        if kind == "fixed":
            if len(raw) != node["size"]:
                raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type fixed")
            out += raw
            return
        _zigzag(len(raw), out)
        out += raw
        return
    if kind == "enum":
        symbols = node["symbols"]
        if isinstance(value, str) and value in symbols:
            _zigzag(symbols.index(value), out)
            return
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(symbols):
            _zigzag(value, out)
            return
        raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type enum")
    if kind == "array":
        if not isinstance(value, list):
            raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type array")
        if value:
            _zigzag(len(value), out)
            for item in value:
                _write(node["items"], item, out, depth + 1)
        out.append(0)
        return
    if kind == "map":
        if not isinstance(value, dict):
            raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type map")
        if value:
            _zigzag(len(value), out)
            for key, item in value.items():
                raw_key = str(key).encode("utf-8")
                _zigzag(len(raw_key), out)
                out += raw_key
                _write(node["values"], item, out, depth + 1)
        out.append(0)
        return
    if kind == "record":
        if not isinstance(value, dict):
            raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type record")
        for field in node["fields"]:
            name = field["name"]
            if name in value:
                item = value[name]
            elif "default" in field:
                item = _default(field["type"], field["default"], depth + 1)
            else:
                raise AvroMismatch(
                    f"avro: field {name}: cannot use nil with Avro type {field['type']['type']}"
                )
            try:
                _write(field["type"], item, out, depth + 1)
            except AvroMismatch as err:
                raise _in_field(name, err) from None
        return
    if kind == "union":
        branches = node["branches"]
        wrapped = tagged_branch(node, value)
        if wrapped is not None:
            attempt = bytearray()
            try:
                _write(wrapped[0], wrapped[1], attempt, depth + 1)
            except AvroMismatch:
                pass
            else:
                _zigzag(branches.index(wrapped[0]), out)
                out += attempt
                return
        for index, branch in enumerate(branches):
            attempt = bytearray()
            try:
                _write(branch, value, attempt, depth + 1)
            except AvroMismatch:
                continue
            _zigzag(index, out)
            out += attempt
            return
        raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type union: no matching branch")
    raise AvroMismatch(f"avro: unsupported Avro type {kind}")


def _in_field(name: str, err: AvroMismatch) -> AvroMismatch:
    """The error of a record's field, naming its dotted path as upstream does."""
    text = str(err)
    if text.startswith("avro: field "):
        return AvroMismatch(f"avro: field {name}.{text[len('avro: field ') :]}")
    if text.startswith("avro: "):
        return AvroMismatch(f"avro: field {name}: {text[len('avro: ') :]}")
    return AvroMismatch(f"avro: field {name}: {text}")


def _decimal_bytes(value: Any, node: Any) -> bytes:
    scale = int(node.get("scale", 0))
    try:
        if isinstance(value, str):
            fraction = Fraction(value) if "/" in value else Fraction(decimal.Decimal(value))
        elif isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
            fraction = Fraction(value)
        else:
            raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type decimal")
    except (ValueError, ArithmeticError):
        raise AvroMismatch(f"avro: cannot use {_go_type(value)} with Avro type decimal") from None
    scaled = fraction * 10**scale
    unscaled = math.floor(scaled + Fraction(1, 2)) if scaled >= 0 else -math.floor(-scaled + Fraction(1, 2))
    size = node.get("size")
    if size is None:
        size = max(1, (unscaled.bit_length() + 8) // 8)
    try:
        return int(unscaled).to_bytes(int(size), "big", signed=True)
    except OverflowError:
        raise AvroMismatch(f"avro: decimal {value} does not fit fixed({size})") from None
