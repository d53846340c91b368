"""C-style ``strftime``/``strptime`` as upstream's ``ts_strftime``/``ts_strptime`` use them
(itchyny/timefmt-go semantics: English names regardless of locale, ``%f`` = microseconds).

Formats are compiled once (cached) into directive lists for formatting and a regex for parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from mapping_lang.golayout import LONG_DAYS, LONG_MONTHS, SHORT_DAYS, SHORT_MONTHS, zone_name

_ALIASES = {
    "c": "%a %b %e %H:%M:%S %Y",
    "D": "%m/%d/%y",
    "F": "%Y-%m-%d",
    "r": "%I:%M:%S %p",
    "R": "%H:%M",
    "T": "%H:%M:%S",
    "v": "%e-%b-%Y",
    "x": "%m/%d/%y",
    "X": "%H:%M:%S",
}


class StrftimeError(ValueError):
    pass


def _offset(dt: datetime, colons: int) -> str:
    off = dt.utcoffset()
    total = 0 if off is None else int(off.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    hh, mm, ss = total // 3600, total // 60 % 60, total % 60
    if colons == 0:
        return f"{sign}{hh:02d}{mm:02d}"
    if colons == 1:
        return f"{sign}{hh:02d}:{mm:02d}"
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"


def _iso(dt: datetime) -> tuple[int, int, int]:
    return dt.isocalendar()


def _week(dt: datetime, first: int) -> int:
    yday = dt.timetuple().tm_yday - 1
    wday = (dt.weekday() + 1) % 7  # Sunday = 0
    if first == 1:  # Monday-based
        wday = dt.weekday()
    return (yday + 7 - wday) // 7


_FORMATTERS: dict[str, Callable[[datetime, int], str]] = {
    "a": lambda d, n: SHORT_DAYS[d.weekday()],
    "A": lambda d, n: LONG_DAYS[d.weekday()],
    "b": lambda d, n: SHORT_MONTHS[d.month - 1],
    "h": lambda d, n: SHORT_MONTHS[d.month - 1],
    "B": lambda d, n: LONG_MONTHS[d.month - 1],
    "C": lambda d, n: f"{d.year // 100:02d}",
    "d": lambda d, n: f"{d.day:02d}",
    "e": lambda d, n: f"{d.day:2d}",
    "f": lambda d, n: f"{n // 1000:06d}",
    "g": lambda d, n: f"{_iso(d)[0] % 100:02d}",
    "G": lambda d, n: f"{_iso(d)[0]:04d}",
    "H": lambda d, n: f"{d.hour:02d}",
    "I": lambda d, n: f"{d.hour % 12 or 12:02d}",
    "j": lambda d, n: f"{d.timetuple().tm_yday:03d}",
    "k": lambda d, n: f"{d.hour:2d}",
    "l": lambda d, n: f"{d.hour % 12 or 12:2d}",
    "L": lambda d, n: f"{n // 1_000_000:03d}",
    "m": lambda d, n: f"{d.month:02d}",
    "M": lambda d, n: f"{d.minute:02d}",
    "n": lambda d, n: "\n",
    "N": lambda d, n: f"{n:09d}",
    "p": lambda d, n: "PM" if d.hour >= 12 else "AM",
    "P": lambda d, n: "pm" if d.hour >= 12 else "am",
    "s": lambda d, n: str(int((d - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() // 1)),
    "S": lambda d, n: f"{d.second:02d}",
    "t": lambda d, n: "\t",
    "u": lambda d, n: str(d.isoweekday()),
    "U": lambda d, n: f"{_week(d, 0):02d}",
    "V": lambda d, n: f"{_iso(d)[1]:02d}",
    "w": lambda d, n: str((d.weekday() + 1) % 7),
    "W": lambda d, n: f"{_week(d, 1):02d}",
    "y": lambda d, n: f"{d.year % 100:02d}",
    "Y": lambda d, n: f"{d.year:04d}",
    "z": lambda d, n: _offset(d, 0),
    "Z": lambda d, n: zone_name(d) or _offset(d, 0),
    "%": lambda d, n: "%",
}

Op = tuple[str, str]  # ("", literal) or (directive, "")


@lru_cache(maxsize=256)
def compile_strftime(fmt: str) -> tuple[Op, ...]:
    ops: list[Op] = []
    i = 0
    lit: list[str] = []
    while i < len(fmt):
        c = fmt[i]
        if c != "%" or i + 1 >= len(fmt):
            lit.append(c)
            i += 1
            continue
        d = fmt[i + 1]
        colons = 0
        j = i + 1
        while j < len(fmt) and fmt[j] == ":" and colons < 2:
            colons += 1
            j += 1
        if colons and j < len(fmt) and fmt[j] == "z":
            if lit:
                ops.append(("", "".join(lit)))
                lit = []
            ops.append((":" * colons + "z", ""))
            i = j + 1
            continue
        if d in _ALIASES:
            if lit:
                ops.append(("", "".join(lit)))
                lit = []
            ops.extend(compile_strftime(_ALIASES[d]))
        elif d in _FORMATTERS:
            if lit:
                ops.append(("", "".join(lit)))
                lit = []
            ops.append((d, ""))
        else:
            lit.append("%" + d)
        i += 2
    if lit:
        ops.append(("", "".join(lit)))
    return tuple(ops)


def strftime(ops: tuple[Op, ...], dt: datetime, nsec: int) -> str:
    out: list[str] = []
    for d, lit in ops:
        if not d:
            out.append(lit)
        elif d[0] == ":":
            out.append(_offset(dt, len(d) - 1))
        else:
            out.append(_FORMATTERS[d](dt, nsec))
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# parsing

_MONTHS_RE = "|".join(sorted(LONG_MONTHS + SHORT_MONTHS, key=len, reverse=True))
_DAYS_RE = "|".join(sorted(LONG_DAYS + SHORT_DAYS, key=len, reverse=True))
_PARSE_PATTERNS = {
    "Y": r"(?P<Y>[+-]?\d{4})",
    "C": r"(?P<C>\d{2})",
    "y": r"(?P<y>\d{2})",
    "m": r"(?P<m>\d{1,2})",
    "d": r"(?P<d>\d{1,2})",
    "e": r" ?(?P<d>\d{1,2})",
    "H": r"(?P<H>\d{1,2})",
    "k": r" ?(?P<H>\d{1,2})",
    "I": r"(?P<I>\d{1,2})",
    "l": r" ?(?P<I>\d{1,2})",
    "M": r"(?P<M>\d{1,2})",
    "S": r"(?P<S>\d{1,2})",
    "f": r"(?P<f>\d{1,9})",
    "L": r"(?P<f>\d{1,3})",
    "N": r"(?P<f>\d{1,9})",
    "j": r"(?P<j>\d{1,3})",
    "b": rf"(?P<b>{_MONTHS_RE})",
    "h": rf"(?P<b>{_MONTHS_RE})",
    "B": rf"(?P<b>{_MONTHS_RE})",
    "a": rf"(?:{_DAYS_RE})",
    "A": rf"(?:{_DAYS_RE})",
    "u": r"\d",
    "w": r"\d",
    "U": r"\d{1,2}",
    "W": r"\d{1,2}",
    "V": r"\d{1,2}",
    "g": r"\d{2}",
    "G": r"\d{4}",
    "p": r"(?P<p>AM|PM|am|pm)",
    "P": r"(?P<p>AM|PM|am|pm)",
    "z": r"(?P<z>Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)",
    "Z": r"(?P<Z>[A-Za-z][A-Za-z0-9+-]*)",
    "s": r"(?P<s>-?\d+)",
    "n": r"\s+",
    "t": r"\s+",
    "%": "%",
}


@lru_cache(maxsize=256)
def compile_strptime(fmt: str) -> re.Pattern[str]:
    parts: list[str] = []
    used: set[str] = set()
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            j = i + 1
            while j < len(fmt) and fmt[j] == ":":
                j += 1
            if j > i + 1 and j < len(fmt) and fmt[j] == "z":
                d = "z"
                i = j - 1
            if d in _ALIASES or d in _PARSE_PATTERNS:
                if d in _ALIASES:
                    pat = compile_strptime(_ALIASES[d]).pattern.removesuffix(r"\Z")
                else:
                    pat = _PARSE_PATTERNS[d]
                names = re.findall(r"\?P<(\w+)>", pat)
                for name in names:
                    if name in used:  # a repeated field: match it without capturing again
                        pat = pat.replace(f"?P<{name}>", "?:")
                    used.add(name)
                parts.append(pat)
            else:
                raise StrftimeError(f"unexpected format: %{d}")
            i += 2
        else:
            parts.append(re.escape(c))
            i += 1
    return re.compile("".join(parts) + r"\Z", re.I)


def _zone_from_offset(text: str) -> tzinfo:
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hh = int(digits[:2])
    mm = int(digits[2:4] or 0)
    ss = int(digits[4:6] or 0)
    seconds = sign * (hh * 3600 + mm * 60 + ss)
    return UTC if seconds == 0 else timezone(timedelta(seconds=seconds))


def strptime(pattern: re.Pattern[str], fmt: str, value: str) -> tuple[datetime, int]:
    """Parse ``value``; returns the datetime and the nanosecond of the second. Without a zone
    the result is UTC."""
    m = pattern.match(value)
    if m is None:
        raise StrftimeError(f"failed to parse {value!r} with {fmt!r}")
    g = m.groupdict()
    if g.get("s") is not None:
        dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(g["s"]))
        return dt, 0
    year = 1900
    if g.get("Y"):
        year = int(g["Y"])
    elif g.get("y"):
        y = int(g["y"])
        century = int(g["C"]) * 100 if g.get("C") else (1900 if y >= 69 else 2000)
        year = century + y
    elif g.get("C"):
        year = int(g["C"]) * 100
    month = 1
    if g.get("m"):
        month = int(g["m"])
    elif g.get("b"):
        name = g["b"].lower()[:3]
        month = [s.lower() for s in SHORT_MONTHS].index(name) + 1
    day = int(g["d"]) if g.get("d") else 1
    hour = int(g["H"]) if g.get("H") else 0
    if g.get("I"):
        hour = int(g["I"]) % 12
        if (g.get("p") or "").upper() == "PM":
            hour += 12
    elif g.get("p") and g["p"].upper() == "PM" and hour < 12:
        hour += 12
    minute = int(g["M"]) if g.get("M") else 0
    second = int(g["S"]) if g.get("S") else 0
    nsec = int(g["f"].ljust(9, "0")) if g.get("f") else 0
    zone: tzinfo = UTC
    if g.get("z"):
        zone = _zone_from_offset(g["z"])
    elif g.get("Z") and g["Z"].upper() not in ("UTC", "GMT", "Z"):
        try:
            zone = ZoneInfo(g["Z"])
        except Exception:
            zone = UTC
    try:
        if g.get("j") and not g.get("m") and not g.get("b"):
            dt = datetime(year, 1, 1, hour, minute, second, nsec // 1000, zone) + timedelta(
                days=int(g["j"]) - 1
            )
        else:
            dt = datetime(year, month, day, hour, minute, second, nsec // 1000, zone)
    except ValueError as e:
        raise StrftimeError(f"failed to parse {value!r} with {fmt!r}: {e}") from None
    return dt, nsec
