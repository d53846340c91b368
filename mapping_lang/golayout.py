"""Go reference-time layouts (``2006-01-02T15:04:05Z07:00``) for formatting and parsing timestamps.

A layout is compiled once into a tuple of chunks (literal text or a layout element), cached by
layout string, so ``ts_format``/``ts_parse`` never re-scan a layout per message. The element rules
follow Go's ``time`` package (``nextStdChunk``): ``Jan``/``January``, ``Mon``/``Monday``, ``MST``,
``01``..``06``, ``002``, ``1``, ``15``, ``2``, ``_2``, ``__2``, ``2006``, ``3``, ``4``, ``5``,
``PM``/``pm``, the ``-07...``/``Z07...`` offsets and ``.000``/``.999`` (or ``,``) fractions.

Python's ``datetime`` stops at microseconds, so callers pass the nanosecond of the second
separately (``nsec``) and parsing returns it separately.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"

LONG_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
SHORT_MONTHS = tuple(m[:3] for m in LONG_MONTHS)
LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SHORT_DAYS = tuple(d[:3] for d in LONG_DAYS)

# element kinds
LONG_MONTH, MONTH, NUM_MONTH, ZERO_MONTH = "LongMonth", "Month", "NumMonth", "ZeroMonth"
LONG_WEEKDAY, WEEKDAY = "LongWeekDay", "WeekDay"
DAY, UNDER_DAY, ZERO_DAY = "Day", "UnderDay", "ZeroDay"
UNDER_YEARDAY, ZERO_YEARDAY = "UnderYearDay", "ZeroYearDay"
HOUR, HOUR12, ZERO_HOUR12 = "Hour", "Hour12", "ZeroHour12"
MINUTE, ZERO_MINUTE, SECOND, ZERO_SECOND = "Minute", "ZeroMinute", "Second", "ZeroSecond"
LONG_YEAR, YEAR = "LongYear", "Year"
PM_UPPER, PM_LOWER, TZ_NAME = "PM", "pm", "TZ"
ISO_TZ, ISO_SECONDS_TZ, ISO_SHORT_TZ, ISO_COLON_TZ, ISO_COLON_SECONDS_TZ = (
    "ISO8601TZ", "ISO8601SecondsTZ", "ISO8601ShortTZ", "ISO8601ColonTZ", "ISO8601ColonSecondsTZ",
)  # fmt: skip
NUM_TZ, NUM_SECONDS_TZ, NUM_SHORT_TZ, NUM_COLON_TZ, NUM_COLON_SECONDS_TZ = (
    "NumTZ", "NumSecondsTz", "NumShortTZ", "NumColonTZ", "NumColonSecondsTZ",
)  # fmt: skip
FRAC0, FRAC9 = "FracSecond0", "FracSecond9"

_ZERO_X = (ZERO_MONTH, ZERO_DAY, ZERO_HOUR12, ZERO_MINUTE, ZERO_SECOND, YEAR)
_OFFSET_SUFFIXES = (
    ("070000", NUM_SECONDS_TZ), ("07:00:00", NUM_COLON_SECONDS_TZ), ("0700", NUM_TZ),
    ("07:00", NUM_COLON_TZ), ("07", NUM_SHORT_TZ),
)  # fmt: skip
_ISO_OF_NUM = {
    NUM_SECONDS_TZ: ISO_SECONDS_TZ, NUM_COLON_SECONDS_TZ: ISO_COLON_SECONDS_TZ, NUM_TZ: ISO_TZ,
    NUM_COLON_TZ: ISO_COLON_TZ, NUM_SHORT_TZ: ISO_SHORT_TZ,
}  # fmt: skip

Chunk = tuple[str, str, int]  # (kind, layout text, fraction digits); kind "" = literal text


def _starts_lower(s: str) -> bool:
    return bool(s) and "a" <= s[0] <= "z"


def _next_element(layout: str, i: int) -> tuple[str, int, int] | None:
    """The layout element starting at ``i`` as (kind, length, fraction digits), or None."""
    rest = layout[i:]
    c = rest[0]
    if c == "J" and rest.startswith("Jan"):
        if rest.startswith("January"):
            return LONG_MONTH, 7, 0
        if not _starts_lower(rest[3:]):
            return MONTH, 3, 0
    elif c == "M":
        if rest.startswith("Mon"):
            if rest.startswith("Monday"):
                return LONG_WEEKDAY, 6, 0
            if not _starts_lower(rest[3:]):
                return WEEKDAY, 3, 0
        if rest.startswith("MST"):
            return TZ_NAME, 3, 0
    elif c == "0":
        if len(rest) >= 2 and "1" <= rest[1] <= "6":
            return _ZERO_X[ord(rest[1]) - ord("1")], 2, 0
        if rest.startswith("002"):
            return ZERO_YEARDAY, 3, 0
    elif c == "1":
        if rest.startswith("15"):
            return HOUR, 2, 0
        return NUM_MONTH, 1, 0
    elif c == "2":
        if rest.startswith("2006"):
            return LONG_YEAR, 4, 0
        return DAY, 1, 0
    elif c == "_":
        if len(rest) >= 2 and rest[1] == "2":
            if rest.startswith("_2006"):
                return None  # a literal "_" followed by 2006
            return UNDER_DAY, 2, 0
        if rest.startswith("__2"):
            return UNDER_YEARDAY, 3, 0
    elif c in "345":
        return (HOUR12, MINUTE, SECOND)["345".index(c)], 1, 0
    elif c == "P" and rest.startswith("PM"):
        return PM_UPPER, 2, 0
    elif c == "p" and rest.startswith("pm"):
        return PM_LOWER, 2, 0
    elif c == "-":
        for suffix, kind in _OFFSET_SUFFIXES:
            if rest.startswith(suffix, 1):
                return kind, 1 + len(suffix), 0
    elif c == "Z":
        for suffix, kind in _OFFSET_SUFFIXES:
            if rest.startswith(suffix, 1):
                return _ISO_OF_NUM[kind], 1 + len(suffix), 0
    elif c in ".," and len(rest) >= 2 and rest[1] in "09":
        digit = rest[1]
        j = 1
        while j < len(rest) and rest[j] == digit:
            j += 1
        if not (j < len(rest) and rest[j].isdigit()):
            return (FRAC0 if digit == "0" else FRAC9), j, j - 1
    return None


@lru_cache(maxsize=512)
def compile_layout(layout: str) -> tuple[Chunk, ...]:
    """Split a Go layout into literal and element chunks (cached)."""
    chunks: list[Chunk] = []
    literal: list[str] = []
    i = 0
    while i < len(layout):
        found = _next_element(layout, i)
        if found is None:
            literal.append(layout[i])
            i += 1
            continue
        kind, length, digits = found
        if literal:
            chunks.append(("", "".join(literal), 0))
            literal = []
        chunks.append((kind, layout[i : i + length], digits))
        i += length
    if literal:
        chunks.append(("", "".join(literal), 0))
    return tuple(chunks)


# ---------------------------------------------------------------------------------------------
# formatting


def zone_name(dt: datetime) -> str:
    """Go's zone abbreviation: "UTC" for UTC, "" for an unnamed fixed offset, else the tz name."""
    tz = dt.tzinfo
    if tz is None or tz is UTC:
        return "UTC"
    name = dt.tzname() or ""
    if isinstance(tz, timezone) and name.startswith("UTC") and len(name) > 3:
        return ""  # an anonymous fixed offset, as Go's FixedZone("", offset)
    return name


def _offset_seconds(dt: datetime) -> int:
    off = dt.utcoffset()
    return 0 if off is None else int(off.total_seconds())


def _format_offset(kind: str, offset: int) -> str:
    if offset == 0 and kind.startswith("ISO"):
        return "Z"
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    hh, mm, ss = offset // 3600, offset // 60 % 60, offset % 60
    colon = "Colon" in kind
    out = f"{sign}{hh:02d}"
    if kind in (NUM_SHORT_TZ, ISO_SHORT_TZ):
        return out
    out += f":{mm:02d}" if colon else f"{mm:02d}"
    if "Seconds" in kind:
        out += f":{ss:02d}" if colon else f"{ss:02d}"
    return out


def format_fraction(nsec: int, digits: int, trim: bool, sep: str = ".") -> str:
    text = f"{nsec:09d}"[:digits]
    if trim:
        text = text.rstrip("0")
        if not text:
            return ""
    return sep + text


def format_layout(chunks: tuple[Chunk, ...], dt: datetime, nsec: int) -> str:
    """Render ``dt`` (with ``nsec`` nanoseconds of the second) according to compiled ``chunks``."""
    out: list[str] = []
    for kind, text, digits in chunks:
        if not kind:
            out.append(text)
        elif kind == LONG_YEAR:
            y = dt.year
            out.append(f"{y:04d}")
        elif kind == YEAR:
            out.append(f"{dt.year % 100:02d}")
        elif kind == ZERO_MONTH:
            out.append(f"{dt.month:02d}")
        elif kind == NUM_MONTH:
            out.append(str(dt.month))
        elif kind == MONTH:
            out.append(SHORT_MONTHS[dt.month - 1])
        elif kind == LONG_MONTH:
            out.append(LONG_MONTHS[dt.month - 1])
        elif kind == ZERO_DAY:
            out.append(f"{dt.day:02d}")
        elif kind == DAY:
            out.append(str(dt.day))
        elif kind == UNDER_DAY:
            out.append(f"{dt.day:2d}")
        elif kind == WEEKDAY:
            out.append(SHORT_DAYS[dt.weekday()])
        elif kind == LONG_WEEKDAY:
            out.append(LONG_DAYS[dt.weekday()])
        elif kind == ZERO_YEARDAY:
            out.append(f"{dt.timetuple().tm_yday:03d}")
        elif kind == UNDER_YEARDAY:
            out.append(f"{dt.timetuple().tm_yday:3d}")
        elif kind == HOUR:
            out.append(f"{dt.hour:02d}")
        elif kind in (HOUR12, ZERO_HOUR12):
            h = dt.hour % 12 or 12
            out.append(str(h) if kind == HOUR12 else f"{h:02d}")
        elif kind == ZERO_MINUTE:
            out.append(f"{dt.minute:02d}")
        elif kind == MINUTE:
            out.append(str(dt.minute))
        elif kind == ZERO_SECOND:
            out.append(f"{dt.second:02d}")
        elif kind == SECOND:
            out.append(str(dt.second))
        elif kind == PM_UPPER:
            out.append("PM" if dt.hour >= 12 else "AM")
        elif kind == PM_LOWER:
            out.append("pm" if dt.hour >= 12 else "am")
        elif kind == FRAC0:
            out.append(format_fraction(nsec, digits, False, text[0]))
        elif kind == FRAC9:
            out.append(format_fraction(nsec, digits, True, text[0]))
        elif kind == TZ_NAME:
            name = zone_name(dt)
            if name:
                out.append(name)
            else:
                out.append(_format_offset(NUM_TZ, _offset_seconds(dt)))
        else:  # numeric / ISO offsets
            out.append(_format_offset(kind, _offset_seconds(dt)))
    return "".join(out)


def format_rfc3339_nano(dt: datetime, nsec: int) -> str:
    """The common case, without the chunk loop: ``2006-01-02T15:04:05.999999999Z07:00``."""
    offset = _offset_seconds(dt)
    base = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    frac = format_fraction(nsec, 9, True) if nsec else ""
    return base + frac + _format_offset(ISO_COLON_TZ, offset)


# ---------------------------------------------------------------------------------------------
# parsing


class LayoutError(ValueError):
    """A value does not match a layout; the message uses Go's wording."""


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _getnum(value: str, fixed: bool) -> tuple[int, str] | None:
    if not value or not value[0].isdigit() or not value[0].isascii():
        return None
    if len(value) < 2 or not value[1].isdigit() or not value[1].isascii():
        if fixed:
            return None
        return int(value[0]), value[1:]
    return int(value[:2]), value[2:]


def _getnum3(value: str, fixed: bool) -> tuple[int, str] | None:
    n = 0
    i = 0
    while i < 3 and i < len(value) and "0" <= value[i] <= "9":
        n = n * 10 + ord(value[i]) - 48
        i += 1
    if i == 0 or (fixed and i != 3):
        return None
    return n, value[i:]


def _lookup(names: tuple[str, ...], value: str) -> tuple[int, str] | None:
    for i, name in enumerate(names):
        if len(value) >= len(name) and value[: len(name)].lower() == name.lower():
            return i, value[len(name) :]
    return None


def _skip(value: str, prefix: str) -> str | None:
    while prefix:
        if prefix[0] == " ":
            if value and value[0] != " ":
                return None
            prefix = prefix.lstrip(" ")
            value = value.lstrip(" ")
            continue
        if not value or value[0] != prefix[0]:
            return None
        value = value[1:]
        prefix = prefix[1:]
    return value


def _parse_tz_name(value: str) -> int:
    """Length of a time zone abbreviation at the start of value (Go's parseTimeZone), 0 if none."""
    if len(value) < 3:
        return 0
    if len(value) >= 4 and (value[:4] == "ChST" or value[:4] == "MeST"):
        return 4
    if value[:3] == "GMT":
        rest = value[3:]
        if not rest or rest[0] not in "+-":
            return 3
        j = 1
        while j < len(rest) and rest[j].isdigit():
            j += 1
        num = rest[1:j]
        if not num or int(num) > 23 or (num.startswith("0") and len(num) > 1):
            return 3
        return 3 + j
    if value[0] in "+-":
        j = 1
        while j < len(value) and value[j].isdigit():
            j += 1
        return j if j > 1 else 0
    n = 0
    while n < len(value) and "A" <= value[n] <= "Z":
        n += 1
    if n in (3, 4, 5):
        if n == 4 and value[3] != "T" and value[:4] not in ("WITA",):
            return 0 if value[2] != "S" else 4
        if n == 5 and value[4] != "T":
            return 0
        return n
    return 0


def _parse_nanos(value: str, nbytes: int) -> int:
    digits = value[1:nbytes][:9]
    return int(digits.ljust(9, "0")) if digits else 0


def parse_layout(
    chunks: tuple[Chunk, ...], layout: str, value: str, default_tz: tzinfo = UTC
) -> tuple[datetime, int]:
    """Parse ``value`` with a compiled layout: the datetime (microsecond precision) and the
    nanosecond of the second. A value without zone information is in ``default_tz``."""
    original = value
    year, month, day, yday = 0, -1, -1, -1
    hour = minute = second = nsec = 0
    pm_set = am_set = False
    tz: tzinfo | None = None
    zone_offset: int | None = None
    zone_label = ""

    def bad(rest: str, elem: str) -> LayoutError:
        return LayoutError(
            f"parsing time {_quote(original)} as {_quote(layout)}: cannot parse {_quote(rest)} as {_quote(elem)}"
        )

    def out_of_range(what: str) -> LayoutError:
        return LayoutError(f"parsing time {_quote(original)}: {what} out of range")

    for idx, (kind, text, digits) in enumerate(chunks):
        if not kind:
            rest = _skip(value, text)
            if rest is None:
                raise bad(value, text)
            value = rest
            continue
        hold = value
        got: tuple[int, str] | None = None
        if kind == YEAR:
            if len(value) < 2 or not value[:2].isdigit():
                raise bad(hold, text)
            y = int(value[:2])
            year = y + (1900 if y >= 69 else 2000)
            value = value[2:]
        elif kind == LONG_YEAR:
            if len(value) < 4 or not value[:4].isascii() or not value[:4].isdigit():
                raise bad(hold, text)
            year = int(value[:4])
            value = value[4:]
        elif kind in (MONTH, LONG_MONTH):
            got = _lookup(SHORT_MONTHS if kind == MONTH else LONG_MONTHS, value)
            if got is None:
                raise bad(hold, text)
            month, value = got[0] + 1, got[1]
        elif kind in (NUM_MONTH, ZERO_MONTH):
            got = _getnum(value, kind == ZERO_MONTH)
            if got is None:
                raise bad(hold, text)
            month, value = got
            if not 1 <= month <= 12:
                raise out_of_range("month")
        elif kind in (WEEKDAY, LONG_WEEKDAY):
            got = _lookup(SHORT_DAYS if kind == WEEKDAY else LONG_DAYS, value)
            if got is None:
                raise bad(hold, text)
            value = got[1]
        elif kind in (DAY, UNDER_DAY, ZERO_DAY):
            if kind == UNDER_DAY and value[:1] == " ":
                value = value[1:]
            got = _getnum(value, kind == ZERO_DAY)
            if got is None:
                raise bad(hold, text)
            day, value = got
        elif kind in (UNDER_YEARDAY, ZERO_YEARDAY):
            for _ in range(2):
                if kind == UNDER_YEARDAY and value[:1] == " ":
                    value = value[1:]
            got = _getnum3(value, kind == ZERO_YEARDAY)
            if got is None:
                raise bad(hold, text)
            yday, value = got
            if not 1 <= yday <= 366:
                raise out_of_range("day-of-year")
        elif kind == HOUR:
            got = _getnum(value, False)
            if got is None:
                raise bad(hold, text)
            hour, value = got
            if hour > 23:
                raise out_of_range("hour")
        elif kind in (HOUR12, ZERO_HOUR12):
            got = _getnum(value, kind == ZERO_HOUR12)
            if got is None:
                raise bad(hold, text)
            hour, value = got
            if hour > 12:
                raise out_of_range("hour")
        elif kind in (MINUTE, ZERO_MINUTE):
            got = _getnum(value, kind == ZERO_MINUTE)
            if got is None:
                raise bad(hold, text)
            minute, value = got
            if minute > 59:
                raise out_of_range("minute")
        elif kind in (SECOND, ZERO_SECOND):
            got = _getnum(value, kind == ZERO_SECOND)
            if got is None:
                raise bad(hold, text)
            second, value = got
            if second > 59:
                raise out_of_range("second")
            # A fraction after the seconds is accepted even when the layout has none.
            if len(value) >= 2 and value[0] in ".," and value[1].isdigit():
                nxt = chunks[idx + 1][0] if idx + 1 < len(chunks) else ""
                if nxt not in (FRAC0, FRAC9):
                    n = 2
                    while n < len(value) and value[n].isdigit():
                        n += 1
                    nsec = _parse_nanos(value, n)
                    value = value[n:]
        elif kind in (PM_UPPER, PM_LOWER):
            p = value[:2]
            if kind == PM_UPPER and p in ("PM", "AM") or kind == PM_LOWER and p in ("pm", "am"):
                pm_set, am_set = p.upper() == "PM", p.upper() == "AM"
            else:
                raise bad(hold, text)
            value = value[2:]
        elif kind == FRAC0:
            ndigit = 1 + digits
            if len(value) < ndigit or value[0] not in ".," or not value[1:ndigit].isdigit():
                raise bad(hold, text)
            nsec = _parse_nanos(value, ndigit)
            value = value[ndigit:]
        elif kind == FRAC9:
            if len(value) < 2 or value[0] not in ".," or not ("0" <= value[1] <= "9"):
                continue  # fraction omitted
            i = 0
            while i + 1 < len(value) and "0" <= value[i + 1] <= "9":
                i += 1
            nsec = _parse_nanos(value, 1 + i)
            value = value[1 + i :]
        elif kind == TZ_NAME:
            if value.startswith("UTC"):
                tz = UTC
                value = value[3:]
                continue
            n = _parse_tz_name(value)
            if n == 0:
                raise bad(hold, text)
            zone_label, value = value[:n], value[n:]
        else:  # numeric and ISO offsets
            if kind.startswith("ISO") and value[:1] == "Z":
                value = value[1:]
                tz = UTC
                continue
            colon = "Colon" in kind
            if len(value) < 3 or value[0] not in "+-":
                raise bad(hold, text)
            sign = value[0]
            try:
                hh = value[1:3]
                mm = ss = "00"
                rest = value[3:]
                if kind in (NUM_SHORT_TZ, ISO_SHORT_TZ):
                    pass
                elif colon:
                    if rest[:1] != ":":
                        raise bad(hold, text)
                    mm, rest = rest[1:3], rest[3:]
                    if "Seconds" in kind:
                        if rest[:1] != ":":
                            raise bad(hold, text)
                        ss, rest = rest[1:3], rest[3:]
                else:
                    mm, rest = rest[:2], rest[2:]
                    if "Seconds" in kind:
                        ss, rest = rest[:2], rest[2:]
                if not (hh.isdigit() and len(hh) == 2 and mm.isdigit() and len(mm) == 2 and ss.isdigit()):
                    raise bad(hold, text)
                h, m, s = int(hh), int(mm), int(ss)
            except IndexError:
                raise bad(hold, text) from None
            if h > 24 or m > 60 or s > 60:
                raise out_of_range("time zone offset")
            zone_offset = (h * 3600 + m * 60 + s) * (-1 if sign == "-" else 1)
            value = rest
    if value:
        raise LayoutError(f"parsing time {_quote(original)}: extra text: {_quote(value)}")
    if pm_set and hour < 12:
        hour += 12
    elif am_set and hour == 12:
        hour = 0
    if yday >= 0:
        leap = calendar.isleap(year) if year > 0 else True
        if yday > (366 if leap else 365):
            raise out_of_range("day-of-year")
        base = datetime(max(year, 1), 1, 1) + timedelta(days=yday - 1)
        if month >= 0 and base.month != month or day >= 0 and base.day != day:
            raise out_of_range("day-of-year")
        month, day = base.month, base.day
    else:
        if month < 0:
            month = 1
        if day < 0:
            day = 1
    if year < 1:
        raise LayoutError(f"parsing time {_quote(original)}: year {year} is not supported")
    if day < 1 or day > calendar.monthrange(year, month)[1]:
        raise out_of_range("day")
    if zone_offset is not None:
        zone: tzinfo = UTC if zone_offset == 0 else timezone(timedelta(seconds=zone_offset))
    elif tz is not None:
        zone = tz
    elif zone_label:
        offset = 0
        if zone_label.startswith("GMT") and len(zone_label) > 3:
            offset = int(zone_label[3:]) * 3600
        zone = UTC if zone_label == "UTC" else timezone(timedelta(seconds=offset), zone_label)
    else:
        zone = default_tz
    dt = datetime(year, month, day, hour, minute, second, nsec // 1000, tzinfo=zone)
    return dt, nsec
