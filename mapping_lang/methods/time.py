"""Timestamp manipulation methods: ``ts_*``, ISO 8601 periods and the deprecated aliases.

Timestamps are timezone-aware ``datetime`` values (``value.Timestamp`` when nanoseconds below the
microsecond matter). Targets may also be RFC 3339 strings or Unix-seconds numbers, as upstream's
``IGetTimestamp`` accepts.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.golayout import (
    RFC3339_NANO,
    LayoutError,
    compile_layout,
    format_layout,
    format_rfc3339_nano,
    parse_layout,
)
from mapping_lang.library import Param, method
from mapping_lang.libutil import (
    as_text,
    from_unix_nanos,
    load_location,
    nanos_of,
    to_timestamp,
    unix_nanos,
    with_nanos,
)
from mapping_lang.strftime import StrftimeError, compile_strftime, compile_strptime, strftime, strptime
from mapping_lang.value import INT64_MAX, INT64_MIN, format_timestamp

CATEGORY = "Timestamp Manipulation"
_ABS_EPOCH_NS = 62135596800 * 1_000_000_000  # Unix epoch measured from 0001-01-01 (Go's zero time)


def _in_zone(ts: datetime, tz: str | None) -> datetime:
    if tz is None:
        return ts
    nsec = nanos_of(ts)
    return with_nanos(ts.astimezone(load_location(tz)), nsec)


# ---------------------------------------------------------------------------------------------
# formatting


def _prepare_layout(fmt: str = RFC3339_NANO, tz: str | None = None) -> tuple[Any, ...]:
    if tz is not None:
        load_location(tz)  # fail at compile time for unknown zones
    return (fmt, tz)


def _ts_format(ctx: Any, target: Any, fmt: str = RFC3339_NANO, tz: str | None = None) -> Any:
    ts = _in_zone(to_timestamp(target), tz)
    if fmt == RFC3339_NANO:
        return format_rfc3339_nano(ts, nanos_of(ts))
    return format_layout(compile_layout(fmt), ts, nanos_of(ts))


_FORMAT_PARAMS = [
    Param(
        "format",
        "string",
        RFC3339_NANO,
        "Layout of the result, written as Go's reference time (Mon Jan 2 15:04:05 MST 2006).",
    ),
    Param("tz", "string", optional=True, description="An optional IANA time zone (e.g. UTC)."),
]

method("ts_format", category=CATEGORY, params=_FORMAT_PARAMS, prepare=_prepare_layout,
       description="Formats a timestamp as a string using a Go reference-time layout.")(_ts_format)  # fmt: skip
method("format_timestamp", category="Deprecated", params=_FORMAT_PARAMS, prepare=_prepare_layout,
       status="deprecated", description="Deprecated alias of ts_format.")(_ts_format)  # fmt: skip


def _ts_strftime(ctx: Any, target: Any, fmt: str, tz: str | None = None) -> Any:
    ts = _in_zone(to_timestamp(target), tz)
    return strftime(compile_strftime(fmt), ts, nanos_of(ts))


_STRFTIME_PARAMS = [
    Param("format", "string", description="Layout of the result, written with strftime % codes."),
    Param("tz", "string", optional=True, description="An optional IANA time zone."),
]
method("ts_strftime", category=CATEGORY, params=_STRFTIME_PARAMS,
       description="Formats a timestamp using strftime specifiers.")(_ts_strftime)  # fmt: skip
method("format_timestamp_strftime", category="Deprecated", params=_STRFTIME_PARAMS,
       status="deprecated", description="Deprecated alias of ts_strftime.")(_ts_strftime)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# parsing


def _ts_parse(ctx: Any, target: Any, fmt: str) -> Any:
    text = as_text(target)
    if fmt == RFC3339_NANO:
        return to_timestamp(text)
    try:
        dt, nsec = parse_layout(compile_layout(fmt), fmt, text)
    except LayoutError as e:
        raise EvalError(str(e)) from None
    return with_nanos(dt, nsec)


_PARSE_PARAMS = [Param("format", "string", description="The layout of the input, Go reference time.")]
method("ts_parse", category=CATEGORY, params=_PARSE_PARAMS,
       description="Parses a string as a timestamp following a Go reference-time layout.")(_ts_parse)  # fmt: skip


def _as_rfc3339(parse: Any) -> Any:
    """The deprecated parsers return the time as an RFC 3339 string, not a timestamp (v4)."""

    def impl(ctx: Any, target: Any, fmt: str) -> Any:
        return format_timestamp(parse(ctx, target, fmt))

    return impl


method("parse_timestamp", category="Deprecated", params=_PARSE_PARAMS, status="deprecated",
       description="Deprecated form of ts_parse that returns an RFC 3339 string.")(_as_rfc3339(_ts_parse))  # fmt: skip


def _ts_strptime(ctx: Any, target: Any, fmt: str) -> Any:
    text = as_text(target)
    try:
        dt, nsec = strptime(compile_strptime(fmt), fmt, text)
    except StrftimeError as e:
        raise EvalError(str(e)) from None
    return with_nanos(dt, nsec)


_STRPTIME_PARAMS = [Param("format", "string", description="The layout of the input, strptime specifiers.")]
method("ts_strptime", category=CATEGORY, params=_STRPTIME_PARAMS,
       description="Reads a timestamp from a string laid out with strptime-style % codes.")(_ts_strptime)  # fmt: skip
method("parse_timestamp_strptime", category="Deprecated", params=_STRPTIME_PARAMS, status="deprecated",
       description="Deprecated form of ts_strptime that returns an RFC 3339 string.")(_as_rfc3339(_ts_strptime))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# unix


def _unix_method(name: str, divisor: int, deprecated: str) -> None:
    def impl(ctx: Any, target: Any) -> Any:
        return unix_nanos(to_timestamp(target)) // divisor

    method(name, category=CATEGORY, description=f"Converts a timestamp to Unix time ({name}).")(impl)
    method(deprecated, category="Deprecated", status="deprecated",
           description=f"Deprecated alias of {name}.")(impl)  # fmt: skip


_unix_method("ts_unix", 1_000_000_000, "format_timestamp_unix")
_unix_method("ts_unix_milli", 1_000_000, "format_timestamp_unix_milli")
_unix_method("ts_unix_micro", 1_000, "format_timestamp_unix_micro")
_unix_method("ts_unix_nano", 1, "format_timestamp_unix_nano")


# ---------------------------------------------------------------------------------------------
# zones, rounding, differences


def _check_zone(tz: str) -> tuple[Any, ...]:
    """time.LoadLocation in upstream's constructor: a bad literal zone fails at parse time."""
    load_location(tz)
    return (tz,)


@method("ts_tz", category=CATEGORY, params=[Param("tz", "string", description="An IANA time zone name.")],
        prepare=_check_zone, description="Returns the timestamp expressed in another time zone.")  # fmt: skip
def ts_tz(ctx: Any, target: Any, tz: str) -> Any:
    return _in_zone(to_timestamp(target), tz)


@method("ts_round", category=CATEGORY, params=[Param("duration", "int", description="A duration in nanoseconds.")],
        description="Rounds a timestamp to the closest whole multiple of the duration, counted from Go's zero time.")  # fmt: skip
def ts_round(ctx: Any, target: Any, duration: int) -> Any:
    ts = to_timestamp(target)
    if duration <= 0:
        return ts
    ns = unix_nanos(ts)
    rem = (ns + _ABS_EPOCH_NS) % duration
    ns = ns - rem if rem + rem < duration else ns + duration - rem
    return from_unix_nanos(ns, ts.tzinfo)


@method("ts_sub", category=CATEGORY, params=[Param("t2", "any", description="The timestamp to subtract.")],
        description="Nanoseconds from the argument timestamp to this one (this minus the argument).")  # fmt: skip
def ts_sub(ctx: Any, target: Any, t2: Any) -> Any:
    diff = unix_nanos(to_timestamp(target)) - unix_nanos(to_timestamp(t2))
    return max(INT64_MIN, min(INT64_MAX, diff))


@method("timestamp", category="Type Coercion",
        params=[Param("default", "any", optional=True, description="A value to return if the coercion fails.")],
        description="Coerces a value into a timestamp (numbers are Unix seconds, strings RFC 3339).")  # fmt: skip
def timestamp(ctx: Any, target: Any, default: Any = None) -> Any:
    try:
        return to_timestamp(target)
    except EvalError:
        if default is not None:
            return default
        raise


# ---------------------------------------------------------------------------------------------
# ISO 8601 periods

_PERIOD_RE = re.compile(
    r"([-+]?)P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?\Z"
)
# Upstream's approximations for converting a period into a fixed duration.
_YEAR_S = 31_556_952  # 365.2425 days
_UNIT_NS = (
    _YEAR_S * 10**9, _YEAR_S * 10**9 // 12, 7 * 86400 * 10**9, 86400 * 10**9,
    3600 * 10**9, 60 * 10**9, 10**9,
)  # fmt: skip


@lru_cache(maxsize=256)
def parse_period(text: str) -> tuple[int, tuple[str | None, ...]]:
    """An ISO 8601 period as (sign, the seven component strings Y, M, W, D, H, M, S)."""
    m = _PERIOD_RE.match(text)
    if m is None or text.rstrip().endswith(("P", "T")) or all(g is None for g in m.groups()[1:]):
        raise EvalError(f"failed to parse ISO 8601 duration {text!r}: invalid format")
    sign = -1 if m.group(1) == "-" else 1
    return sign, tuple(m.groups()[1:])


def _num(part: str | None) -> float | int:
    if part is None:
        return 0
    part = part.replace(",", ".")
    return float(part) if "." in part else int(part)


def period_nanos(text: str) -> int:
    sign, parts = parse_period(text)
    total = 0
    for part, unit in zip(parts, _UNIT_NS, strict=True):
        n = _num(part)
        total += int(n * unit) if isinstance(n, float) else n * unit
    return sign * total


def _add_date(ts: datetime, years: int, months: int, days: int) -> datetime:
    """Go ``Time.AddDate``: calendar arithmetic with overflow normalisation (Jan 31 + 1M = Mar 3)."""
    total = ts.year * 12 + (ts.month - 1) + years * 12 + months
    year, month0 = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise EvalError("timestamp out of range")
    first = date(year, month0 + 1, 1)
    target = first + timedelta(days=ts.day - 1 + days)
    return ts.replace(year=target.year, month=target.month, day=target.day)


def _shift(target: Any, duration: str, direction: int) -> Any:
    ts = to_timestamp(target)
    nsec = nanos_of(ts)
    sign, parts = parse_period(duration)
    sign *= direction
    y, mo, w, d, h, mi, s = (_num(p) for p in parts)
    if isinstance(y, int) and isinstance(mo, int) and isinstance(w, int) and isinstance(d, int):
        shifted = with_nanos(_add_date(ts, sign * y, sign * mo, sign * (w * 7 + d)), nsec)
        if isinstance(h, int) and isinstance(mi, int) and isinstance(s, int):
            clock_ns = sign * (h * 3600 + mi * 60 + s) * 10**9
        else:
            clock_ns = sign * round(h * 3600e9 + mi * 60e9 + s * 1e9)
    else:  # fractional calendar units fall back to the fixed approximations
        shifted = ts
        clock_ns = direction * period_nanos(duration)
    return from_unix_nanos(unix_nanos(shifted) + clock_ns, ts.tzinfo)


_PERIOD_PARAM = [Param("duration", "string", description="An ISO 8601 duration, e.g. P1Y2M3DT4H.")]


def _check_period(duration: str) -> tuple[Any, ...]:
    """period.Parse runs in upstream's constructor: a bad literal fails at parse time."""
    parse_period(duration)
    return (duration,)


@method("ts_add_iso8601", category=CATEGORY, params=_PERIOD_PARAM, prepare=_check_period,
        description="Moves a timestamp forward by an ISO 8601 duration; years, months, weeks and days follow the calendar.")  # fmt: skip
def ts_add_iso8601(ctx: Any, target: Any, duration: str) -> Any:
    return _shift(target, duration, 1)


@method("ts_sub_iso8601", category=CATEGORY, params=_PERIOD_PARAM, prepare=_check_period,
        description="Moves a timestamp back by an ISO 8601 duration; years, months, weeks and days follow the calendar.")  # fmt: skip
def ts_sub_iso8601(ctx: Any, target: Any, duration: str) -> Any:
    return _shift(target, duration, -1)


@method("parse_duration_iso8601", category=CATEGORY,
        description="Parses an ISO 8601 duration into nanoseconds (a year is 365.2425 days).")  # fmt: skip
def parse_duration_iso8601(ctx: Any, target: Any) -> Any:
    if type(target) is not str:
        raise TypeMismatch("string", target)
    ns = period_nanos(target)
    if not INT64_MIN <= ns <= INT64_MAX:
        raise EvalError(f"duration {target!r} out of range")
    return ns
