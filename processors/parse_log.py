"""The ``parse_log`` processor: turn syslog lines (RFC 5424 or RFC 3164) into JSON objects.

Upstream parses each payload with influxdata/go-syslog v3 and, on success, replaces the payload
with an object of the fields found (``priority``, ``facility``, ``severity``, ``version``,
``timestamp`` in RFC 3339 with nanosecond precision, ``hostname``, ``appname``, ``procid``,
``msgid``, ``structureddata``, ``message``; a field that is absent or ``-`` is left out). On failure
the message goes on unchanged, flagged with go-syslog's error (``expecting a version value in the
range 1-999 [col 4]``). ``best_effort`` is passed to go-syslog, but upstream discards the partial
result that comes with an error, so it changes nothing a user sees except in one corner, below.
The RFC 3164 stamp (``Dec  2 16:49:23``) gets ``default_year`` (``current``: the year when the
processor starts; empty: year 0) and is then *converted* from UTC into ``default_timezone``, as
go-syslog does. The deprecated ``codec`` is accepted and, as upstream, not read.

We parse with ``pipeline.syslog``, written to accept, reject and report exactly as go-syslog's
machines do. Where we differ:

- go-syslog's RFC 3164 machine can stop without naming an error (a line that ends right after
  the timestamp, a control character in the message). With ``best_effort`` upstream then outputs
  what was read, as if it had parsed, and so do we; without it upstream's processor panics on the
  missing result, where we flag the message with ``parsing error [col N]``.
- An unknown ``default_timezone`` names the zone in the error (upstream names ``UTC`` there).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, boolean, enum, string
from pipeline.syslog import SyslogResult, parse_rfc3164, parse_rfc5424, rfc3164_timestamp_zone
from pipeline.workers import run_off_loop

SPEC = ComponentSpec(
    "parse_log",
    "processor",
    summary=(
        "Parses syslog lines (RFC 5424 or RFC 3164) into JSON objects of their parts; a simpler and "
        "faster route than `grok` for these formats."
    ),
    description=(
        "A line that parses becomes an object with the fields it has: `priority`, `facility` and "
        "`severity` (numbers), `version` (RFC 5424 only), `timestamp` (RFC 3339 text), `hostname`, "
        "`appname`, `procid`, `msgid` and `message` (text) and, for RFC 5424, `structureddata` (an "
        "object of elements, each an object of parameters). A line that does not parse is passed on "
        "as it was, flagged with the parser's error, which gives the column where it went wrong."
    ),
    categories=("Parsing",),
    fields=[
        enum("format", ("syslog_rfc5424", "syslog_rfc3164"), "Which syslog format the lines are in."),
        boolean(
            "best_effort",
            "Have the parser keep what it read when a line breaks part-way. A line with an error is "
            "still flagged and left as it was, so this only changes RFC 3164 lines on which the parser "
            "stops without naming an error: kept as parsed, or flagged with `parsing error`.",
            default=True,
            advanced=True,
        ),
        boolean(
            "allow_rfc3339",
            "For `syslog_rfc3164`: accept an RFC 3339 timestamp as well as the classic `Mmm dd hh:mm:ss`.",
            default=True,
            advanced=True,
        ),
        string(
            "default_year",
            "For `syslog_rfc3164`: the year given to classic timestamps, which carry none. `current` "
            "takes the year when the processor starts, a number is used as it is, and an empty value "
            "adds no year (year 0).",
            default="current",
            advanced=True,
        ),
        string(
            "default_timezone",
            "For `syslog_rfc3164`: the time zone classic timestamps are shown in, by IANA name (as Go's "
            "`time.LoadLocation` takes it, `Local` included). The stamp is read as UTC and converted.",
            default="UTC",
            advanced=True,
        ),
        string("codec", "Unused; only `json` output was ever offered.", optional=True, deprecated=True),
    ],
)

# strconv.Atoi's syntax: an optional sign and decimal digits
_GO_INT = re.compile(r"[+-]?[0-9]+")


def _year(text: str) -> int | None:
    if text == "current":
        return datetime.now().year
    if text == "":
        return None
    if not _GO_INT.fullmatch(text):
        raise ValueError(
            f'failed to convert year {text} into integer:  strconv.Atoi: parsing "{text}": invalid syntax'
        )
    value = int(text)
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError(
            f'failed to convert year {text} into integer:  strconv.Atoi: parsing "{text}": value out of range'
        )
    return value


def _zone(name: str) -> Any:
    try:
        return rfc3164_timestamp_zone(name)
    except ValueError as err:
        raise ValueError(f"failed to lookup timezone {name} - {err}") from None


def _lint(conf: Any) -> list[str]:
    problems = []
    for check, field in ((_year, "default_year"), (_zone, "default_timezone")):
        try:
            check(conf[field])
        except ValueError as err:
            problems.append(str(err))
    return problems


SPEC.lint = _lint


class ParseLog:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.format = conf["format"]
        self.best_effort = conf["best_effort"]
        self.logger = res.logger
        if self.format == "syslog_rfc5424":
            self.parse = self._rfc5424
        elif self.format == "syslog_rfc3164":
            self.year = _year(conf["default_year"]) or 0
            self.zone = _zone(conf["default_timezone"])
            self.rfc3339 = conf["allow_rfc3339"]
            self.parse = self._rfc3164
        else:
            raise ValueError(f"format not recognised: {self.format}")

    def _rfc5424(self, data: bytes) -> SyslogResult:
        return parse_rfc5424(data, self.best_effort)

    def _rfc3164(self, data: bytes) -> SyslogResult:
        return parse_rfc3164(data, self.best_effort, self.year, self.zone, self.rfc3339)

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        # a long line parses in time linear in its length (about a second per MiB at worst): off
        # the loop, so it does not stall other clients
        return await run_off_loop(self._parse_batch, batch)

    def _parse_batch(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            result = self.parse(msg.content)
            if result.error is not None or result.fields is None:
                error = result.error or "parsing error"
                self.logger.debug(f"Failed to parse message as {self.format}: {error}")
                msg.error = error
                continue
            msg.set_structured(result.fields)
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, ParseLog)
