"""Syslog lines (RFC 5424 and RFC 3164) parsed the way influxdata/go-syslog v3 parses them.

Redpanda Connect's ``parse_log`` processor hands each payload to go-syslog's Ragel state machines.
What a user sees from them is three things, and this module reproduces each:

- which lines are accepted: go-syslog's grammar, including its quirks (an RFC 3164 tag is any
  printable run up to 32 characters, a structured-data value may hold any UTF-8, an RFC 3164
  timestamp takes the configured year and is then *converted* into the configured zone);
- the error text, with the 0-based byte column where the machine stopped (``expecting a version
  value in the range 1-999 [col 4]``), since tooling may match on it;
- the fields of the result, left out when absent or ``-`` (the nil value), and the partial result
  that best-effort mode returns when a line breaks after a valid priority (and, for RFC 5424,
  version).

The parsers are plain left-to-right scanners over bytes: every loop moves forward, every field has
go-syslog's length bound, so a hostile line costs time linear in its length. Timestamps are kept as
text in Go's RFC 3339 form (fraction without trailing zeros, ``Z`` for a zero offset) rather than
through ``datetime``, because go-syslog accepts year 0000, which ``datetime`` cannot hold.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["SyslogResult", "parse_rfc3164", "parse_rfc5424", "rfc3164_timestamp_zone"]

_COL = " [col {}]"

# go-syslog's error texts (facts users' tooling may match on).
ERR_PRIVAL = "expecting a priority value in the range 1-191 or equal to 0"
ERR_PRI = "expecting a priority value within angle brackets"
ERR_VERSION = "expecting a version value in the range 1-999"
ERR_TIMESTAMP = "expecting a RFC3339MICRO timestamp or a nil value"
ERR_HOSTNAME = "expecting an hostname (from 1 to max 255 US-ASCII characters) or a nil value"
ERR_APPNAME = "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value"
ERR_PROCID = "expecting a procid (from 1 to max 128 US-ASCII characters) or a nil value"
ERR_MSGID = "expecting a msgid (from 1 to max 32 US-ASCII characters) or a nil value"
ERR_STRUCTURED_DATA = 'expecting a structured data section containing one or more elements (`[id( key="value")*]+`) or a nil value'
ERR_SD_ID = 'expecting a structured data element id (from 1 to max 32 US-ASCII characters; except `=`, ` `, `]`, and `"`'
ERR_SD_ID_DUPLICATED = "duplicate structured data element id"
ERR_SD_PARAM = (
    'expecting a structured data parameter (`key="value"`, both part from 1 to max 32 US-ASCII characters; '
    'key cannot contain `=`, ` `, `]`, and `"`, while value cannot contain `]`, backslash, and `"` unless escaped)'
)
ERR_MSG = "expecting a free-form optional message in UTF-8 (starting with or without BOM)"
ERR_ESCAPE = 'expecting chars `]`, `"`, and `\\` to be escaped within param value'
ERR_PARSE = "parsing error"

ERR_3164_TIMESTAMP = "expecting a Stamp timestamp"
ERR_3164_RFC3339 = "expecting a Stamp or a RFC3339 timestamp"
ERR_3164_HOSTNAME = "expecting an hostname (from 1 to max 255 US-ASCII characters)"
ERR_3164_TAG = "expecting an alphanumeric tag (max 32 characters)"
# (go-syslog also declares errors for the "[content]" part, but no line can reach them)

SP, LT, GT, DASH, LSB, RSB, DQ, BS, EQ, COLON = b' <>-[]"\\=:'
_PLAIN_VALUE = re.compile(rb"[^\x22\x5c\x5d\x80-\xff]+")  # ASCII that needs no escape
_NOT_VISIBLE = re.compile(rb"[^\x20-\x7e\x80-\xff]")
_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")


class SyslogResult:
    """What a parse gave: ``fields`` (None when nothing usable) and ``error`` (None on success).

    With best effort a failed parse may still carry the fields read before the failure."""

    __slots__ = ("fields", "error")

    def __init__(self, fields: dict[str, Any] | None, error: str | None) -> None:
        self.fields = fields
        self.error = error


class _Stop(Exception):
    """The scan stopped: ``text`` already carries its column. ``priority`` is what go-syslog had
    recorded of a priority broken after its digits (it notes the value as it reads on)."""

    def __init__(self, text: str, priority: int | None = None) -> None:
        self.text = text
        self.priority = priority


class _Silent(Exception):
    """go-syslog's RFC 3164 machine stopped at ``col`` in a place that has no error of its own."""

    def __init__(self, col: int) -> None:
        self.col = col


def _fail(message: str, col: int) -> _Stop:
    return _Stop(message + _COL.format(col))


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _is_graph(c: int) -> bool:
    return 0x21 <= c <= 0x7E


def _utf8_char_len(data: bytes, p: int) -> int:
    """Length of the well-formed UTF-8 character at ``p`` (RFC 3629); 0 when that byte cannot
    start one, or minus the offset of the byte that breaks it (the column go-syslog reports)."""
    c = data[p]
    if c < 0x80:
        return 1
    n = len(data)
    if 0xC2 <= c <= 0xDF:
        need, low, high = 1, 0x80, 0xBF
    elif c == 0xE0:
        need, low, high = 2, 0xA0, 0xBF
    elif 0xE1 <= c <= 0xEC or 0xEE <= c <= 0xEF:
        need, low, high = 2, 0x80, 0xBF
    elif c == 0xED:
        need, low, high = 2, 0x80, 0x9F
    elif c == 0xF0:
        need, low, high = 3, 0x90, 0xBF
    elif 0xF1 <= c <= 0xF3:
        need, low, high = 3, 0x80, 0xBF
    elif c == 0xF4:
        need, low, high = 3, 0x80, 0x8F
    else:
        return 0
    for i in range(1, need + 1):
        if p + i >= n:
            return -i
        b = data[p + i]
        if i == 1:
            if not low <= b <= high:
                return -i
        elif not 0x80 <= b <= 0xBF:
            return -i
    return need + 1


def _go_text(raw: bytes) -> str:
    """Bytes as Go's JSON encoder shows a string holding them: one U+FFFD per bad byte."""
    return "".join(_go_chars(raw))


def _go_chars(raw: bytes) -> Iterator[str]:
    p, n = 0, len(raw)
    while p < n:
        size = _utf8_char_len(raw, p)
        if size > 0:
            yield raw[p : p + size].decode("utf-8")
            p += size
        else:
            yield "\ufffd"
            p += 1


# --------------------------------------------------------------------------- shared pieces


def _priority(data: bytes) -> tuple[int, int]:
    """``<PRIVAL>`` at the start: (value, position after ``>``). PRIVAL is 0 or 1-191 without
    leading zeros; go-syslog reports the column of the first byte that does not fit."""
    n = len(data)
    if n == 0 or data[0] != LT:
        raise _fail(ERR_PRI, 0)
    p = 1
    if p >= n or not _is_digit(data[p]):
        raise _fail(ERR_PRIVAL, p)
    first = data[p]
    p += 1
    if first == 0x31:  # 1, 1x, 1xx up to 191
        if p < n and data[p] == 0x39:
            p += 1
            if p < n and data[p] in (0x30, 0x31):
                p += 1
        elif p < n and 0x30 <= data[p] <= 0x38:
            p += 1
            if p < n and _is_digit(data[p]):
                p += 1
    elif first != 0x30 and p < n and _is_digit(data[p]):
        p += 1
    if p >= n:  # the value was noted up to the digit before the last one read
        raise _Stop(ERR_PRIVAL + _COL.format(p), int(data[1 : p - 1]) if p > 2 else None)
    if data[p] != GT:
        raise _Stop(ERR_PRIVAL + _COL.format(p), int(data[1:p]))
    return int(data[1:p]), p + 1


def _priority_fields(out: dict[str, Any], priority: int) -> None:
    out["facility"] = priority // 8
    out["severity"] = priority % 8
    out["priority"] = priority


def _two(data: bytes, p: int) -> int:
    return (data[p] - 0x30) * 10 + data[p + 1] - 0x30


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return _MONTH_DAYS[month] + (1 if month == 2 and leap else 0)


def _date_time_error(text: bytes, year: int, month: int, day: int) -> str | None:
    """Go's time.Parse rejects a day past the month's end after the grammar has passed it."""
    if day > _days_in(year, month):
        return f'parsing time "{text.decode("ascii")}": day out of range'
    return None


def _rfc3339_text(text: bytes) -> str:
    """A grammar-checked RFC 3339 timestamp written as Go's RFC3339Nano writes the parsed time:
    the same wall clock and offset, the fraction without trailing zeros, ``Z`` for offset zero."""
    s = text.decode("ascii")
    main, rest, fraction = s[:19], s[19:], ""
    if rest.startswith("."):
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        fraction = rest[1:end].rstrip("0")
        rest = rest[end:]
    offset = "Z" if rest in ("Z", "+00:00", "-00:00") else rest
    return main + ("." + fraction if fraction else "") + offset


# Timestamp pieces, shared by both formats: ``fail(col)`` makes the exception for a byte that
# does not fit (an error text in most places, a silent stop in RFC 3164's RFC 3339 dates).
_Fail = Callable[[int], Exception]


def _full_date(data: bytes, p: int, fail: _Fail) -> int:
    """``YYYY-MM-DD`` (month 01-12, day 01-31): the position after it; ``fail(col)`` otherwise."""
    n = len(data)

    def want(ok: bool, at: int) -> None:
        if not ok:
            raise fail(at)

    for i in range(4):
        want(p + i < n and _is_digit(data[p + i]), p + i)
    p += 4
    want(p < n and data[p] == DASH, p)
    p += 1
    want(p < n and data[p] in (0x30, 0x31), p)
    if data[p] == 0x30:
        want(p + 1 < n and 0x31 <= data[p + 1] <= 0x39, p + 1)
    else:
        want(p + 1 < n and 0x30 <= data[p + 1] <= 0x32, p + 1)
    p += 2
    want(p < n and data[p] == DASH, p)
    p += 1
    want(p < n and 0x30 <= data[p] <= 0x33, p)
    if data[p] == 0x30:
        want(p + 1 < n and 0x31 <= data[p + 1] <= 0x39, p + 1)
    elif data[p] == 0x33:
        want(p + 1 < n and data[p + 1] in (0x30, 0x31), p + 1)
    else:
        want(p + 1 < n and _is_digit(data[p + 1]), p + 1)
    return p + 2


def _hhmmss(data: bytes, p: int, fail: _Fail) -> int:
    """``HH:MM:SS`` (hour 00-23, minutes and seconds 00-59)."""
    n = len(data)

    def want(ok: bool, at: int) -> None:
        if not ok:
            raise fail(at)

    want(p < n and data[p] in (0x30, 0x31, 0x32), p)
    if data[p] == 0x32:
        want(p + 1 < n and 0x30 <= data[p + 1] <= 0x33, p + 1)
    else:
        want(p + 1 < n and _is_digit(data[p + 1]), p + 1)
    p += 2
    for _ in range(2):
        want(p < n and data[p] == COLON, p)
        want(p + 1 < n and 0x30 <= data[p + 1] <= 0x35, p + 1)
        want(p + 2 < n and _is_digit(data[p + 2]), p + 2)
        p += 3
    return p


def _offset(data: bytes, p: int, fail: _Fail) -> int:
    """``Z`` or ``+HH:MM`` / ``-HH:MM`` (the same ranges as a clock's hours and minutes)."""
    n = len(data)
    if p < n and data[p] == 0x5A:  # Z
        return p + 1
    if not (p < n and data[p] in (0x2B, 0x2D)):
        raise fail(p)
    p += 1
    if not (p < n and data[p] in (0x30, 0x31, 0x32)):
        raise fail(p)
    if data[p] == 0x32:
        if not (p + 1 < n and 0x30 <= data[p + 1] <= 0x33):
            raise fail(p + 1)
    elif not (p + 1 < n and _is_digit(data[p + 1])):
        raise fail(p + 1)
    p += 2
    if not (p < n and data[p] == COLON):
        raise fail(p)
    if not (p + 1 < n and 0x30 <= data[p + 1] <= 0x35):
        raise fail(p + 1)
    if not (p + 2 < n and _is_digit(data[p + 2])):
        raise fail(p + 2)
    return p + 3


# --------------------------------------------------------------------------- RFC 5424


class _Rfc5424:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.n = len(data)
        self.priority: int | None = None
        self.version = 0
        self.timestamp: str | None = None
        self.header: dict[str, str] = {}
        self.elements: dict[str, dict[str, str]] | None = None
        self.message = ""
        self.current_element = ""
        self.current_param = ""

    def run(self) -> None:
        data, n = self.data, self.n
        self.priority, p = _priority(data)
        p = self.version_at(p)
        p = self.timestamp_at(p)
        for name, limit, err in (
            ("hostname", 255, ERR_HOSTNAME),
            ("appname", 48, ERR_APPNAME),
            ("procid", 128, ERR_PROCID),
            ("msgid", 32, ERR_MSGID),
        ):
            start = p
            while p < n and _is_graph(data[p]) and p - start < limit:
                p += 1
            if p == start or p >= n or data[p] != SP:
                raise _fail(err, p)
            self.header[name] = data[start:p].decode("ascii")
            p += 1
        p = self.structured_data_at(p)
        if p >= n:
            return
        if data[p] != SP:
            raise _fail(ERR_PARSE if self.elements is None else ERR_STRUCTURED_DATA, p)
        self.message_at(p + 1)

    def version_at(self, p: int) -> int:
        data, n = self.data, self.n
        if p >= n or not 0x31 <= data[p] <= 0x39:
            raise _fail(ERR_VERSION, p)
        start = p
        p += 1
        while p < n and _is_digit(data[p]) and p - start < 3:
            p += 1
        # go-syslog records the version as it leaves each digit, so a line that ends inside the
        # version keeps all but its last digit; after one digit it blames the line, not the version
        if p >= n and p - start > 1:
            self.version = int(data[start : p - 1])
        else:
            self.version = int(data[start:p])
        if p >= n or data[p] != SP:
            raise _fail(ERR_PARSE if p - start == 1 else ERR_VERSION, p)
        return p + 1

    def timestamp_at(self, p: int) -> int:
        data, n = self.data, self.n
        if p < n and data[p] == DASH:
            p += 1
        else:

            def fail(col: int) -> _Stop:
                return _fail(ERR_TIMESTAMP, col)

            start = p
            p = _full_date(data, p, fail)
            if not (p < n and data[p] == 0x54):  # T
                raise fail(p)
            p = _hhmmss(data, p + 1, fail)
            if p < n and data[p] == 0x2E:  # .
                p += 1
                digits = 0
                while p < n and _is_digit(data[p]) and digits < 6:
                    p += 1
                    digits += 1
                if digits == 0:
                    raise fail(p)
            p = _offset(data, p, fail)
            text = data[start:p]
            problem = _date_time_error(text, int(text[:4]), _two(text, 5), _two(text, 8))
            if problem:
                raise _Stop(problem + _COL.format(p))
            self.timestamp = _rfc3339_text(text)
        if p >= n or data[p] != SP:
            raise _fail(ERR_PARSE, p)
        return p + 1

    def structured_data_at(self, p: int) -> int:
        data, n = self.data, self.n
        if p < n and data[p] == DASH:
            return p + 1
        if p >= n or data[p] != LSB:
            raise _fail(ERR_STRUCTURED_DATA, p)
        self.elements = {}
        while p < n and data[p] == LSB:
            p = self.element_at(p + 1)
        return p

    def sd_name_at(self, p: int) -> int:
        data, n = self.data, self.n
        start = p
        while p < n and p - start < 32 and _is_graph(data[p]) and data[p] not in (EQ, SP, RSB, DQ):
            p += 1
        return p

    def element_at(self, p: int) -> int:
        data, n = self.data, self.n
        elements = self.elements
        assert elements is not None
        start = p
        p = self.sd_name_at(p)
        name = data[start:p].decode("ascii")
        if name in elements and p > start:
            raise _fail(ERR_SD_ID_DUPLICATED, p)
        if p == start or p >= n or data[p] not in (SP, RSB):
            # go-syslog drops the element it was on when an id breaks: the new one if its name
            # was read, else the previous one
            if p > start:
                self.current_element = name
            elements.pop(self.current_element, None)
            raise _fail(ERR_SD_ID, p)
        elements[name] = {}
        self.current_element = name
        while data[p] == SP:
            p = self.param_at(p + 1, elements[name])
        return p + 1

    def param_at(self, p: int, params: dict[str, str]) -> int:
        """One ``key="value"`` and the position after it (at the following space or ``]``)."""
        try:
            return self.param_value_at(p, params)
        except _Stop as stop:
            if stop.text.startswith(ERR_SD_PARAM):
                # as go-syslog, forget the parameter last named, wherever it was
                params.pop(self.current_param, None)
            raise

    def param_value_at(self, p: int, params: dict[str, str]) -> int:
        data, n = self.data, self.n
        start = p
        p = self.sd_name_at(p)
        if p == start or p >= n or data[p] != EQ:
            raise _fail(ERR_SD_PARAM, p)
        self.current_param = data[start:p].decode("ascii")
        p += 1
        if p >= n or data[p] != DQ:
            raise _fail(ERR_SD_PARAM, p)
        p += 1
        value = bytearray()
        while True:
            plain = _PLAIN_VALUE.match(data, p)
            if plain is not None:
                value += plain.group()
                p = plain.end()
            if p >= n:
                raise _fail(ERR_ESCAPE, p)
            c = data[p]
            if c == DQ:
                break
            if c == BS:
                if p + 1 < n and data[p + 1] in (DQ, RSB, BS):
                    value.append(data[p + 1])
                    p += 2
                    continue
                raise _fail(ERR_ESCAPE, p + 1)
            if c == RSB:
                raise _fail(ERR_ESCAPE, p)
            size = _utf8_char_len(data, p)
            if size == 0:
                raise _fail(ERR_ESCAPE, p)
            if size < 0:  # broken inside a multi-byte character
                raise _fail(ERR_SD_PARAM, p - size)
            value += data[p : p + size]
            p += size
        params[self.current_param] = value.decode("utf-8")
        p += 1
        if p >= n or data[p] not in (SP, RSB):
            raise _fail(ERR_SD_PARAM, p)
        return p

    def message_at(self, p: int) -> None:
        data = self.data
        try:  # Python's strict UTF-8 is RFC 3629's, as the grammar's
            self.message = data[p:].decode("utf-8")
        except UnicodeDecodeError as err:
            bad = p + err.start
            size = _utf8_char_len(data, bad)
            self.message = _go_text(data[p : bad - size])
            raise _fail(ERR_MSG, bad - size) from None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.message:
            out["message"] = self.message
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp
        _priority_fields(out, self.priority or 0)
        if self.version:
            out["version"] = self.version
        for name in ("hostname", "procid", "appname", "msgid"):
            value = self.header.get(name, "")
            if value not in ("", "-"):
                out[name] = value
        if self.elements:
            out["structureddata"] = self.elements
        return out


def parse_rfc5424(data: bytes, best_effort: bool = False) -> SyslogResult:
    """Parse one RFC 5424 line. Best effort returns the fields read before an error when the
    priority and version were valid."""
    machine = _Rfc5424(data)
    try:
        machine.run()
    except _Stop as stop:
        if best_effort and machine.priority is not None and machine.version:
            return SyslogResult(machine.fields(), stop.text)
        return SyslogResult(None, stop.text)
    return SyslogResult(machine.fields(), None)


# --------------------------------------------------------------------------- RFC 3164


def rfc3164_timestamp_zone(name: str) -> tzinfo | None:
    """The zone an RFC 3164 ``Mmm dd hh:mm:ss`` stamp is shown in, by Go's location name: ``""``
    leaves it in UTC (None), ``Local`` is the machine's zone as Go finds it (``TZ``, else
    /etc/localtime). Raises ``ValueError`` for an unknown name."""
    if name == "":
        return None
    if name == "UTC":
        return UTC
    if name == "Local":  # as Go: TZ names the zone (empty: UTC), else /etc/localtime; UTC if neither loads
        tz = os.environ.get("TZ")
        try:
            if tz is not None:
                return ZoneInfo(tz.lstrip(":")) if tz.lstrip(":") not in ("", "UTC") else UTC
            with open("/etc/localtime", "rb") as fh:
                return ZoneInfo.from_file(fh, key="Local")
        except (KeyError, ValueError, OSError):
            return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {name}") from err


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar, for any year (0 included)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def _utc_offset(zone: tzinfo, seconds: int) -> int:
    """The zone's offset (seconds) at an instant given as seconds since the epoch. Outside
    ``datetime``'s years, before them the zone's earliest offset applies (as Go does before the
    first transition) and after them its rules are read from a year with the same calendar."""
    year = _civil_from_days(seconds // 86400)[0]
    if year < 2:
        probe = datetime(1, 1, 2, tzinfo=UTC)
    else:
        if year > 9998:
            seconds -= (_days_from_civil(year, 1, 1) - _days_from_civil(2000 + year % 400, 1, 1)) * 86400
        probe = datetime.fromtimestamp(seconds, UTC)
    offset = probe.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _go_time_text(seconds: int, offset: int) -> str:
    """An instant shown in a fixed offset as Go's RFC3339Nano writes it (whole seconds)."""
    local = seconds + offset
    year, month, day = _civil_from_days(local // 86400)
    clock = local % 86400
    sign = "-" if year < 0 else ""
    text = f"{sign}{abs(year):04d}-{month:02d}-{day:02d}T{clock // 3600:02d}:{clock % 3600 // 60:02d}:{clock % 60:02d}"
    if offset == 0:
        return text + "Z"
    minutes = abs(offset) // 60  # Go drops the seconds of an offset such as LMT's
    return f"{text}{'-' if offset < 0 else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


def _is_print(c: int) -> bool:
    return 0x20 <= c <= 0x7E


def _is_visible(c: int) -> bool:
    return 0x20 <= c <= 0x7E or c >= 0x80


def _is_alnum(c: int) -> bool:
    return 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _is_tag_char(c: int) -> bool:
    return 0x21 <= c <= 0x7E and c != COLON and c != LSB


class _Rfc3164:
    def __init__(self, data: bytes, year: int, zone: tzinfo | None, rfc3339: bool) -> None:
        self.data = data
        self.n = len(data)
        self.year = year
        self.zone = zone
        self.rfc3339 = rfc3339
        self.priority: int | None = None
        self.timestamp: str | None = None
        self.hostname = ""
        self.tag = ""
        self.content_span = (0, 0)
        self.message = ""

    def run(self) -> int | None:
        """Scan the line: None when it parsed, else the column where it stopped without an error
        of its own (go-syslog then reports nothing). Raises ``_Stop`` for a reported error."""
        data, n = self.data, self.n
        self.priority, p = _priority(data)
        p = self.timestamp_at(p)
        if p >= n or data[p] != SP:
            return p
        p += 1
        start = p
        while p < n and _is_graph(data[p]) and p - start < 255:
            p += 1
        if p == start or p >= n or data[p] != SP:
            raise _fail(ERR_3164_HOSTNAME, p)
        self.hostname = data[start:p].decode("ascii")
        return self.msg_at(p + 1)

    def timestamp_at(self, p: int) -> int:
        """The timestamp, or the position where it went wrong when go-syslog reports nothing."""
        data, n = self.data, self.n
        start = p
        if self.rfc3339 and p < n and _is_digit(data[p]):
            # only the offset has an error text in go-syslog: a date or clock that breaks stops
            # the machine silently
            p = _full_date(data, p, _Silent)
            if not (p < n and data[p] == 0x54):  # T
                raise _Silent(p)
            p = _hhmmss(data, p + 1, _Silent)
            p = _offset(data, p, lambda col: _fail(ERR_3164_RFC3339, col))
            if p >= n or data[p] != SP:
                return p
            text = data[start:p]
            problem = _date_time_error(text, int(text[:4]), _two(text, 5), _two(text, 8))
            if problem:
                raise _Stop(problem + _COL.format(p))
            self.timestamp = _rfc3339_text(text)
            return p

        def fail_stamp(col: int) -> _Stop:
            return _fail(ERR_3164_TIMESTAMP, col)

        month = data[p : p + 3]
        for i in range(3):
            if p + i >= n or all(m[i] != data[p + i] or m[:i] != month[:i] for m in _MONTHS):
                raise fail_stamp(p + i)
        p += 3
        if not (p < n and data[p] == SP):
            raise fail_stamp(p)
        p += 1
        if p < n and data[p] == SP:
            if not (p + 1 < n and 0x31 <= data[p + 1] <= 0x39):
                raise fail_stamp(p + 1)
        elif p < n and data[p] in (0x31, 0x32):
            if not (p + 1 < n and _is_digit(data[p + 1])):
                raise fail_stamp(p + 1)
        elif p < n and data[p] == 0x33:
            if not (p + 1 < n and data[p + 1] in (0x30, 0x31)):
                raise fail_stamp(p + 1)
        else:
            raise fail_stamp(p)
        day = int(data[p : p + 2].strip())
        p += 2
        if not (p < n and data[p] == SP):
            raise fail_stamp(p)
        p = _hhmmss(data, p + 1, fail_stamp)
        if p >= n or data[p] != SP:
            return p
        text = data[start:p]
        month_number = _MONTHS.index(month) + 1
        if day > _days_in(0, month_number):  # Go reads the stamp in year 0, a leap year
            raise _Stop(f'parsing time "{text.decode("ascii")}": day out of range' + _COL.format(p))
        # go-syslog adds the configured years to the stamp read in year 0 (29 February rolls
        # over to 1 March in a common year), then shows that UTC instant in the zone
        year = self.year
        if month_number == 2 and day == 29 and _days_in(year, 2) == 28:
            month_number, day = 3, 1
        clock = _two(text, 7) * 3600 + _two(text, 10) * 60 + _two(text, 13)
        seconds = _days_from_civil(year, month_number, day) * 86400 + clock
        offset = 0 if self.zone is None else _utc_offset(self.zone, seconds)
        self.timestamp = _go_time_text(seconds, offset)
        return p

    def msg_at(self, p: int) -> int | None:
        """The tag, content and message part.

        go-syslog's machine reads it as ``(tag ("[" content "]")? ": ")? message`` with every
        alternative followed at once, each setting what it recognises as it goes, and one shared
        mark for where the current piece began. We follow the same alternatives in step, so the
        odd results come out the same (``app[12] msg`` gives appname ``app``, procid ``12`` and
        the message ``12] msg``)."""
        data, n = self.data, self.n
        if p >= n or not _is_visible(data[p]):
            raise _fail(ERR_3164_TAG, p)
        mark = p
        # the alternatives alive, as named states; a tag carries how many characters it has
        states: set[str] = {"message-start", "tag"}
        tag_length = 0
        while p < n:
            if states == {"message"}:  # only the free text is left: jump to its end
                stop = _NOT_VISIBLE.search(data, p)
                if stop is not None:
                    return stop.start()
                p = n
                break
            c = data[p]
            following: set[str] = set()
            set_content = False
            mark_here = False
            if "tag" in states:
                if _is_tag_char(c) and tag_length < 32:
                    following.add("tag")
                    if tag_length == 0:
                        mark_here = True
                if tag_length > 0 and c in (LSB, COLON):
                    self.tag = data[mark:p].decode("ascii")
                    following.add("content-start" if c == LSB else "colon")
                tag_length += 1
            if "content-start" in states:
                mark_here = True
                if c == RSB:
                    following.add("content-end")
                    set_content = True
                following.add("content-alnum" if _is_alnum(c) else "content-any")
                if _is_print(c):
                    following.add("content-print")
            if "content-alnum" in states:
                following.add("content-any")
            if "content-any" in states:
                following.add("content-any")
                if _is_print(c):
                    following.add("content-print")
                if c == RSB:
                    following.add("content-end")
                    set_content = True
            if "content-print" in states:
                if _is_print(c):
                    following.add("content-print")
                if c == RSB:
                    following.add("content-end")
                    set_content = True
            if "content-end" in states and c == COLON:
                following.add("colon")
            if "colon" in states and c == SP:
                following.add("after-colon")
            if _is_visible(c) and states & {"after-colon", "message-start", "message"}:
                following.add("message")
                # a message begins here (after "tag: " or at the very start): mark it
                mark_here = mark_here or bool(states & {"after-colon", "message-start"})
            if set_content:  # read once at the end: a line of many "]" stays linear
                self.content_span = (p if "content-start" in states else mark, p)
            if mark_here:
                mark = p
            states = following
            if not states:
                return p
            p += 1
        if "message" not in states:
            return p
        self.message = _go_text(data[mark:p])
        return None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.message:
            out["message"] = self.message
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp
        _priority_fields(out, self.priority or 0)
        if self.hostname not in ("", "-"):
            out["hostname"] = self.hostname
        content = _go_text(self.data[slice(*self.content_span)])
        if content not in ("", "-"):
            out["procid"] = content
        if self.tag not in ("", "-"):
            out["appname"] = self.tag
        return out


def parse_rfc3164(
    data: bytes, best_effort: bool = False, year: int = 0, zone: tzinfo | None = None, rfc3339: bool = False
) -> SyslogResult:
    """Parse one RFC 3164 line. ``year`` is added to a ``Mmm dd hh:mm:ss`` stamp (go-syslog reads
    it in year 0), ``zone`` is where it is shown, ``rfc3339`` also accepts RFC 3339 stamps.

    When go-syslog's machine stops without naming an error, best effort counts what it read as a
    success; otherwise the result is ``parsing error`` at the column where it stopped."""
    machine = _Rfc3164(data, year, zone, rfc3339)
    try:
        stopped = machine.run()
    except _Silent as silent:
        stopped = silent.col
    except _Stop as stop:
        if stop.priority is not None:
            machine.priority = stop.priority
        if best_effort and machine.priority is not None:
            return SyslogResult(machine.fields(), stop.text)
        return SyslogResult(None, stop.text)
    if stopped is not None and not best_effort:
        return SyslogResult(None, ERR_PARSE + _COL.format(stopped))
    return SyslogResult(machine.fields(), None)
