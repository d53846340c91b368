"""Time methods: the deprecated parsers return RFC 3339 strings as v4 does, and an ISO 8601
duration literal is checked when the mapping is parsed (period.Parse in the constructor)."""

from __future__ import annotations

import pytest

import mapping_lang
from mapping_lang import MappingError


def run(mapping: str, content: bytes = b"{}") -> bytes | None:
    return mapping_lang.compile(mapping).apply(content).content


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        ('"2020-01-01".parse_timestamp("2006-01-02").type()', b"string"),
        ('"2020-01-01".parse_timestamp_strptime("%Y-%m-%d").type()', b"string"),
        ('"2020-01-01".ts_parse("2006-01-02").type()', b"timestamp"),
        (
            '"2020-01-01T10:00:00.5+01:00".parse_timestamp("2006-01-02T15:04:05Z07:00")',
            b"2020-01-01T10:00:00.5+01:00",
        ),
        (
            '"2020-01-01T10:00:00.123456789Z".parse_timestamp("2006-01-02T15:04:05Z07:00")',
            b"2020-01-01T10:00:00.123456789Z",
        ),
        ('"2020-03-04 05:06".parse_timestamp_strptime("%Y-%m-%d %H:%M")', b"2020-03-04T05:06:00Z"),
        ('"2020-01-01T10:00:00Z".ts_add_iso8601("P1Y2M3DT4H5M6S")', b'"2021-03-04T14:05:06Z"'),
        ('"2020-01-01T10:00:00Z".ts_sub_iso8601("P1D")', b'"2019-12-31T10:00:00Z"'),
    ],
)
def test_time_values(mapping: str, want: bytes) -> None:
    out = run(f"root = {mapping}")
    assert out == want


@pytest.mark.parametrize("period", ["P1X", "P", "1D", ""])
def test_iso8601_literal_is_checked_when_parsed(period: str) -> None:
    with pytest.raises(MappingError) as info:
        mapping_lang.compile(f'root = "2020-01-01T10:00:00Z".ts_add_iso8601("{period}")')
    assert (info.value.line, info.value.column) == (1, 31)


def test_iso8601_from_the_message_is_checked_when_it_runs() -> None:
    m = mapping_lang.compile('root = "2020-01-01T10:00:00Z".ts_add_iso8601(this.p)')
    assert m.apply(b'{"p":"P1D"}').content == b'"2020-01-02T10:00:00Z"'
    with pytest.raises(MappingError):
        m.apply(b'{"p":"P1X"}')
