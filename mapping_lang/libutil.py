"""Small shared helpers of the function/method library: argument coercion as upstream's
``IGetString``/``IGetTimestamp`` do it, and timestamp conversions."""

from __future__ import annotations

import re
import time as _time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.golayout import RFC3339_NANO, LayoutError, compile_layout, parse_layout
from mapping_lang.value import JsonNumber, Timestamp, is_number, to_text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_PER_S = 1_000_000_000


def string_or_bytes(target: Any) -> str | bytes:
    t = type(target)
    if t is str or t is bytes:
        return target
    if t is bytearray:
        return bytes(target)
    raise TypeMismatch("string", target)


def as_text(target: Any) -> str:
    """A string (bytes decoded as UTF-8), else a type error."""
    t = type(target)
    if t is str:
        return target
    if t is bytes or t is bytearray:
        return bytes(target).decode("utf-8", "replace")
    raise TypeMismatch("string", target)


def as_bytes(target: Any) -> bytes:
    """Bytes of a value as upstream's ``IGetBytes`` (strings as UTF-8, others by their text)."""
    t = type(target)
    if t is bytes:
        return target
    if t is str:
        return target.encode("utf-8", "surrogatepass")
    if t is bytearray:
        return bytes(target)
    if target is None:
        raise TypeMismatch("string", target)
    return to_text(target).encode()


def as_array(target: Any) -> list[Any]:
    if type(target) is list:
        return target
    raise TypeMismatch("array", target)


def as_object(target: Any) -> dict[str, Any]:
    if type(target) is dict:
        return target
    raise TypeMismatch("object", target)


# ---------------------------------------------------------------------------------------------
# time zones and timestamps


def _local_is_utc() -> bool:
    return _time.timezone == 0 and _time.altzone == 0 and not _time.daylight


_LOCAL_UTC = _local_is_utc()


def to_local(dt: datetime) -> datetime:
    """``dt`` in the process local zone (Go's ``time.Local``)."""
    if _LOCAL_UTC:
        return dt.astimezone(UTC) if dt.tzinfo is not UTC else dt
    return dt.astimezone()


@lru_cache(maxsize=128)
def load_location(name: str) -> tzinfo:
    """Go ``time.LoadLocation``: "" and "UTC" are UTC, "Local" the local zone, else IANA names."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return datetime.now().astimezone().tzinfo or UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise EvalError(f"unknown time zone {name}") from None


def nanos_of(dt: datetime) -> int:
    """Nanosecond of the second."""
    return dt.microsecond * 1000 + (getattr(dt, "nanos", 0) or 0)


def with_nanos(dt: datetime, nsec: int) -> datetime:
    """``dt`` carrying ``nsec`` (the full nanosecond of the second; its microseconds must match)."""
    extra = nsec % 1000
    if extra == 0:
        if type(dt) is datetime:
            return dt
        return datetime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond, dt.tzinfo)
    return Timestamp.from_datetime(dt, nanos=extra)


def unix_nanos(dt: datetime) -> int:
    delta = dt - EPOCH
    return ((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000 + (
        getattr(dt, "nanos", 0) or 0
    )


def from_unix_nanos(ns: int, tz: tzinfo | None = None) -> datetime:
    """A timestamp from Unix nanoseconds, in ``tz`` (default: the local zone)."""
    sec, nsec = divmod(ns, _NS_PER_S)
    try:
        dt = EPOCH + timedelta(seconds=sec, microseconds=nsec // 1000)
    except OverflowError:
        raise EvalError("timestamp out of range") from None
    dt = dt.astimezone(tz) if tz is not None else to_local(dt)
    return with_nanos(dt, nsec)


_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:\d{2})\Z"
)
_RFC3339_CHUNKS = compile_layout(RFC3339_NANO)


@lru_cache(maxsize=64)
def _fixed_zone(offset: str) -> tzinfo:
    sign = -1 if offset[0] == "-" else 1
    seconds = sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return UTC if seconds == 0 else timezone(timedelta(seconds=seconds))


def parse_rfc3339(text: str) -> datetime:
    """Go ``time.Parse(time.RFC3339Nano, text)``."""
    m = _RFC3339_RE.match(text)
    if m is not None:
        y, mo, d, h, mi, s, frac, off = m.groups()
        nsec = int(frac.ljust(9, "0")) if frac else 0
        zone = UTC if off == "Z" else _fixed_zone(off)
        try:
            dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), nsec // 1000, zone)
        except ValueError:
            pass  # fall through to the layout parser for Go's error text
        else:
            return with_nanos(dt, nsec)
    try:
        dt, nsec = parse_layout(_RFC3339_CHUNKS, RFC3339_NANO, text)
    except LayoutError as e:
        raise EvalError(str(e)) from None
    return with_nanos(dt, nsec)


def to_timestamp(value: Any) -> datetime:
    """Upstream ``IGetTimestamp``: timestamps as is, numbers as Unix seconds (local zone), strings
    as RFC 3339."""
    if isinstance(value, datetime):
        return value
    t = type(value)
    if t is str:
        return parse_rfc3339(value)
    if t is bytes:
        return parse_rfc3339(value.decode("utf-8", "replace"))
    if t is int:
        return from_unix_nanos(value * _NS_PER_S)
    if t is JsonNumber:
        try:
            return from_unix_nanos(int(value.lexeme) * _NS_PER_S)
        except ValueError:
            pass
    if is_number(value):
        f = float(value)
        whole = int(f)
        return from_unix_nanos(whole * _NS_PER_S + int((f - whole) * 1e9))
    raise TypeMismatch("timestamp", value)
