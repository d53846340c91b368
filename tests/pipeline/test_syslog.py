"""The syslog parsers against go-syslog v3's own cases.

``data/syslog_rfc5424_cases.jsonl`` holds the inputs of go-syslog's RFC 5424 machine tests (its
literal table, the cut-short timestamps, and the shortest and longest of its generated header
fields); ``data/syslog_rfc3164_cases.jsonl`` the inputs of its RFC 3164 tests and examples plus
corner cases of the grammar, each under three option sets. For every input the file records what
go-syslog v3.0.0 gave, shown the way Redpanda Connect's ``parse_log`` shows it: the error text, the
fields of a successful parse, and the fields best effort keeps when a line breaks. Inputs are
byte strings written as latin-1 text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.syslog import parse_rfc3164, parse_rfc5424, rfc3164_timestamp_zone

DATA = Path(__file__).parent / "data"


def _cases(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines()]


RFC5424 = _cases("syslog_rfc5424_cases.jsonl")
RFC3164 = _cases("syslog_rfc3164_cases.jsonl")


def _label(case: dict[str, Any]) -> str:
    return repr(case["input"][:60])


@pytest.mark.parametrize("case", RFC5424, ids=[_label(c) for c in RFC5424])
def test_rfc5424_matches_go_syslog(case: dict[str, Any]) -> None:
    data = case["input"].encode("latin-1")
    strict = parse_rfc5424(data)
    assert strict.error == case["error"]
    assert strict.fields == case["fields"]
    loose = parse_rfc5424(data, best_effort=True)
    assert loose.error == case["error"]
    assert loose.fields == (case["fields"] if case["error"] is None else case["best_effort"])


@pytest.mark.parametrize("case", RFC3164, ids=[_label(c) + " " + json.dumps(c["options"]) for c in RFC3164])
def test_rfc3164_matches_go_syslog(case: dict[str, Any]) -> None:
    options = case["options"]
    result = parse_rfc3164(
        case["input"].encode("latin-1"),
        best_effort=options["best_effort"],
        year=int(options["year"] or 0),
        zone=rfc3164_timestamp_zone(options["tz"]),
        rfc3339=options["rfc3339"],
    )
    if case["error"] is None and case["fields"] is None:
        # go-syslog stopped without naming an error and, without best effort, returned nothing
        # (upstream's processor then panics): we report a parsing error at the stop
        assert result.fields is None
        assert result.error is not None and result.error.startswith("parsing error [col ")
        return
    assert result.error == case["error"]
    if case["error"] is None:
        assert result.fields == case["fields"]
    elif options["best_effort"]:
        assert result.fields == case["best_effort"]
    else:
        assert result.fields is None


def test_the_tables_cover_successes_errors_and_partial_results() -> None:
    # a guard on the data files themselves: each kind of expectation is really exercised
    for cases in (RFC5424, RFC3164):
        assert any(c["error"] is None and c["fields"] for c in cases)
        assert any(c["error"] for c in cases)
        assert any(c.get("best_effort") for c in cases)


def test_rfc5424_structured_data_escapes_and_empty_values() -> None:
    line = b'<165>1 2003-10-11T22:14:15.000000+00:00 host app 42 ID [a x="q\\"b\\]c\\\\" e=""][b] m'
    fields = parse_rfc5424(line).fields
    assert fields == {
        "priority": 165,
        "facility": 20,
        "severity": 5,
        "version": 1,
        "timestamp": "2003-10-11T22:14:15Z",
        "hostname": "host",
        "appname": "app",
        "procid": "42",
        "msgid": "ID",
        "structureddata": {"a": {"x": 'q"b]c\\', "e": ""}, "b": {}},
        "message": "m",
    }


def test_rfc3164_stamp_is_converted_into_the_zone_after_the_year_is_added() -> None:
    new_york = rfc3164_timestamp_zone("America/New_York")
    # 29 February rolls over to 1 March in a common year before the conversion, as in go-syslog
    leap = parse_rfc3164(b"<0>Feb 29 00:30:00 h app: m", year=2021, zone=new_york).fields
    assert leap is not None and leap["timestamp"] == "2021-02-28T19:30:00-05:00"
    # no year at all is year 0, shown with the zone's first (local mean time) offset
    ancient = parse_rfc3164(b"<0>Jan  1 00:30:00 h app: m", year=0, zone=new_york).fields
    assert ancient is not None and ancient["timestamp"] == "-0001-12-31T19:33:58-04:56"


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone Mars/Olympus"):
        rfc3164_timestamp_zone("Mars/Olympus")


# Hostile lines: large, and built to hit the slow paths (one string per bracket, an escape per
# byte). The scanners are linear, so these finish in well under a second each.


def test_rfc5424_many_structured_data_elements() -> None:
    line = b"<1>1 - - - - - " + b"".join(b'[e%d a="1"]' % i for i in range(50_000))
    fields = parse_rfc5424(line).fields
    assert fields is not None and len(fields["structureddata"]) == 50_000


def test_rfc5424_long_escaped_value_and_long_message() -> None:
    line = b'<1>1 - - - - - [e a="' + b"\\]" * 200_000 + b'"] ' + b"\xc3\xa9" * 500_000
    fields = parse_rfc5424(line).fields
    assert fields is not None
    assert fields["structureddata"]["e"]["a"] == "]" * 200_000
    assert fields["message"] == "\u00e9" * 500_000


def test_rfc5424_long_garbage_stops_at_the_first_wrong_byte() -> None:
    assert (
        parse_rfc5424(b"<1>1" + b"9" * 1_000_000).error
        == "expecting a version value in the range 1-999 [col 6]"
    )


def test_rfc3164_many_brackets_and_an_open_content_part() -> None:
    brackets = parse_rfc3164(b"<1>Jan  1 00:00:00 h a[" + b"]" * 300_000, year=2020).fields
    assert brackets is not None and brackets["procid"] == "]" * 299_999
    assert brackets["message"] == "]" * 300_000
    open_part = parse_rfc3164(b"<1>Jan  1 00:00:00 h a[" + b"x" * 300_000, year=2020).fields
    assert open_part is not None and open_part["appname"] == "a" and len(open_part["message"]) == 300_000
