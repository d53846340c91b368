"""The ``parse_log`` processor, run in pipelines through the real CLI: syslog lines read from a
file come out as the objects (or the errors) upstream's processor gives."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tests.component_runs import lint, run_reported

DATA = Path(__file__).parent.parent / "pipeline" / "data"

TOAST = '<42>4 2049-10-11T22:14:15.003Z toaster.smarthome myapp - 2 [home01 device_id="43"] failed to make a toast.'


def test_rfc5424_line_becomes_upstreams_exact_json_and_garbage_is_flagged_unchanged(tmp_path: Path):
    out = run_reported(
        tmp_path, [TOAST, "not a syslog at all."], "    - parse_log: {format: syslog_rfc5424}\n"
    )
    # byte for byte what upstream's own test expects
    assert out[0]["content"] == (
        '{"appname":"myapp","facility":5,"hostname":"toaster.smarthome","message":"failed to make a toast.",'
        '"msgid":"2","priority":42,"severity":2,"structureddata":{"home01":{"device_id":"43"}},'
        '"timestamp":"2049-10-11T22:14:15.003Z","version":4}'
    )
    assert out[0]["error"] is None
    assert out[1] == {
        "content": "not a syslog at all.",
        "error": "expecting a priority value within angle brackets [col 0]",
        "meta": {"path": out[1]["meta"]["path"]},
    }


def test_rfc3164_line_gets_the_current_year_by_default(tmp_path: Path):
    year = datetime.now().year
    out = run_reported(
        tmp_path, ["<28>Dec  2 16:49:23 host app[23410]: Test"], "    - parse_log: {format: syslog_rfc3164}\n"
    )
    assert json.loads(out[0]["content"]) == {
        "appname": "app",
        "facility": 3,
        "hostname": "host",
        "message": "Test",
        "priority": 28,
        "procid": "23410",
        "severity": 4,
        "timestamp": f"{year}-12-02T16:49:23Z",
    }


def test_rfc3164_year_and_zone_options_and_rfc3339_switch(tmp_path: Path):
    lines = ["<13>Jan  1 00:30:00 host app: stamped", "<13>2019-12-02T16:49:23+02:00 host app: rfc3339"]
    converted = run_reported(
        tmp_path,
        lines,
        "    - parse_log:\n"
        "        format: syslog_rfc3164\n"
        "        default_year: '2021'\n"
        "        default_timezone: America/New_York\n",
    )
    # the stamp is read as UTC in 2021 and shown in New York time, as go-syslog does
    assert json.loads(converted[0]["content"])["timestamp"] == "2020-12-31T19:30:00-05:00"
    assert json.loads(converted[1]["content"])["timestamp"] == "2019-12-02T16:49:23+02:00"
    strict = run_reported(
        tmp_path,
        lines,
        "    - parse_log: {format: syslog_rfc3164, allow_rfc3339: false, default_year: ''}\n",
    )
    assert json.loads(strict[0]["content"])["timestamp"] == "0000-01-01T00:30:00Z"
    assert strict[1]["content"] == lines[1]
    assert strict[1]["error"] == "expecting a Stamp timestamp [col 4]"


def test_every_rfc5424_case_of_go_syslog_through_a_stream(tmp_path: Path):
    cases = [json.loads(line) for line in (DATA / "syslog_rfc5424_cases.jsonl").read_text().splitlines()]
    # what a lines file can carry as text: one line each, valid UTF-8, not empty
    usable = []
    for case in cases:
        raw = case["input"].encode("latin-1")
        if raw and b"\n" not in raw and b"\r" not in raw:
            try:
                usable.append((raw.decode("utf-8"), case))
            except UnicodeDecodeError:
                continue
    assert len(usable) > 150
    out = run_reported(tmp_path, [text for text, _ in usable], "    - parse_log: {format: syslog_rfc5424}\n")
    assert len(out) == len(usable)
    for (text, case), got in zip(usable, out, strict=True):
        if case["error"] is None:
            assert got["error"] is None, text
            assert json.loads(got["content"]) == case["fields"], text
        else:
            assert got["error"] == case["error"], text
            assert got["content"] == text


def test_parsed_fields_feed_the_next_processor_and_metadata_stays(tmp_path: Path):
    out = run_reported(
        tmp_path,
        [TOAST],
        "    - mapping: 'meta source = \"toaster\"'\n"
        "    - parse_log: {format: syslog_rfc5424}\n"
        "    - mapping: |\n"
        '        root = this.structureddata.home01.device_id + "/" + this.appname\n',
    )
    assert out[0]["content"] == "43/myapp"
    assert out[0]["meta"]["source"] == "toaster"


def test_silent_stop_counts_as_parsed_with_best_effort_and_as_an_error_without(tmp_path: Path):
    line = "<13>Dec  2 16:31:03 -"  # go-syslog's own example: a host and nothing after it
    loose = run_reported(
        tmp_path, [line], "    - parse_log: {format: syslog_rfc3164, default_year: '2019'}\n"
    )
    assert loose[0]["error"] == "expecting an hostname (from 1 to max 255 US-ASCII characters) [col 21]"
    line = "<13>Dec  2 16:31:03 host app: tab\there"  # a control character stops the machine silently
    loose = run_reported(
        tmp_path, [line], "    - parse_log: {format: syslog_rfc3164, default_year: '2019'}\n"
    )
    assert loose[0]["error"] is None
    assert json.loads(loose[0]["content"]) == {
        "appname": "app",
        "facility": 1,
        "hostname": "host",
        "priority": 13,
        "severity": 5,
        "timestamp": "2019-12-02T16:31:03Z",
    }
    strict = run_reported(
        tmp_path,
        [line],
        "    - parse_log: {format: syslog_rfc3164, default_year: '2019', best_effort: false}\n",
    )
    assert strict[0]["content"] == line
    assert strict[0]["error"] == "parsing error [col 33]"


def test_bad_year_and_zone_fail_lint_with_upstreams_words(tmp_path: Path):
    result = lint(
        tmp_path,
        "pipeline:\n  processors:\n"
        "    - parse_log: {format: syslog_rfc3164, default_year: 'soon', default_timezone: Mars/Olympus}\n",
    )
    assert result.returncode != 0
    assert (
        'failed to convert year soon into integer:  strconv.Atoi: parsing "soon": invalid syntax'
        in result.stderr
    )
    assert "failed to lookup timezone Mars/Olympus - unknown time zone Mars/Olympus" in result.stderr


def test_format_is_required_and_checked_and_codec_is_accepted(tmp_path: Path):
    missing = lint(tmp_path, "pipeline:\n  processors:\n    - parse_log: {best_effort: true}\n")
    assert missing.returncode != 0 and "field format is required" in missing.stderr
    wrong = lint(tmp_path, "pipeline:\n  processors:\n    - parse_log: {format: apache}\n")
    assert wrong.returncode != 0 and "apache" in wrong.stderr
    fine = lint(
        tmp_path, "pipeline:\n  processors:\n    - parse_log: {format: syslog_rfc5424, codec: json}\n"
    )
    assert fine.returncode == 0, fine.stderr
