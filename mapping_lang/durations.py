"""Go duration strings (``time.ParseDuration`` / ``Duration.String``).

Bloblang's ``parse_duration`` and the runtime's config fields (re-exported by
``pipeline.durations``) both use them, so they live in the lowest layer."""

from __future__ import annotations

import re

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_MAX_NS = (1 << 63) - 1


def parse_duration_ns(text: str) -> int:
    """Parse a Go duration (``1h30m``, ``1.5s``, ``-2ms``, ``0``) into nanoseconds.

    Raises ``ValueError`` with Go's wording: ``time: invalid duration "x"``.
    """
    original = text
    if not isinstance(text, str):
        raise ValueError(f'time: invalid duration "{original}"')
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError(f'time: invalid duration "{original}"')
    total = 0
    pos = 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            if re.match(r"(\d+(?:\.\d*)?|\.\d+)", text[pos:]):
                unit = re.sub(r"^[\d.]+", "", text[pos:])
                if unit:
                    raise ValueError(
                        f'time: unknown unit "{unit.rstrip("0123456789.")}" in duration "{original}"'
                    )
                raise ValueError(f'time: missing unit in duration "{original}"')
            raise ValueError(f'time: invalid duration "{original}"')
        number, unit = match.groups()
        scale = _UNITS_NS[unit]
        if "." in number:
            whole, _, frac = number.partition(".")
            value = int(whole or "0") * scale
            if frac:
                value += int(frac) * scale // (10 ** len(frac))
        else:
            value = int(number) * scale
        total += value
        if total > _MAX_NS + (1 if sign < 0 else 0):
            raise ValueError(f'time: invalid duration "{original}"')
        pos = match.end()
    return sign * total


def parse_duration(text: str) -> float:
    """Parse a Go duration into seconds (float)."""
    return parse_duration_ns(text) / 1e9


def format_duration_ns(ns: int) -> str:
    """Format nanoseconds as Go's ``Duration.String()``: ``30s``, ``1m0s``, ``1h0m0s``, ``1.5s``, ``100ms``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        # sub-second: ns, µs or ms with a fraction
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return sign + _fraction(u, 1_000) + "µs"
        return sign + _fraction(u, 1_000_000) + "ms"
    hours, rest = divmod(u, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def format_duration(seconds: float) -> str:
    return format_duration_ns(round(seconds * 1e9))


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")
