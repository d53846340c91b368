"""The ``grok`` processor: parse unstructured text into a JSON object with grok patterns.

Upstream compiles each expression with its grok library on Go's RE2 and tries the expressions in
order: the first that yields at least one value wins, and its captures (typed with ``:int`` or
``:float`` hints, dotted names making nested objects) become the payload. No match flags the
message with ``no pattern matches found`` and leaves it as it was. We follow that: the default
pattern set is upstream's (the same names and expressions), ``pattern_definitions`` and
``pattern_paths`` files (``NAME expression`` lines, ``#`` comments) add more, and as upstream a
definition that reuses a default pattern's name does not replace it. Matching runs on RE2 through
``google-re2``, so hostile input cannot make it run away. Capture groups get private names inside
the regex (RE2 in Python rejects the duplicate names grok produces), mapped back on output.
"""

from __future__ import annotations

import glob
import os
import re
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, boolean, string_list, string_map

SPEC = ComponentSpec(
    "grok",
    "processor",
    summary="Parses text payloads into structured objects with grok expressions.",
    description=(
        "Expressions are tried in order and the first one that captures anything wins. A capture written "
        "`%{PATTERN:name:type}` is converted to `int` or `float` when a type is given."
    ),
    categories=("Parsing",),
    fields=[
        string_list("expressions", "Grok expressions to try against each payload, in order."),
        string_map(
            "pattern_definitions",
            "Extra patterns by name, usable as `%{NAME}` in the expressions.",
            default={},
        ),
        string_list(
            "pattern_paths",
            "Files or directories of pattern definitions, one `NAME expression` per line.",
            default=[],
        ),
        boolean("named_captures_only", "Keep only the captures that were given a name.", default=True),
        boolean("use_default_patterns", "Make the built-in pattern set available.", default=True),
        boolean("remove_empty_values", "Leave out captures that matched nothing.", default=True),
    ],
)

# The built-in pattern set, by name (upstream's defaults).
DEFAULT_PATTERNS: dict[str, str] = {
    "USERNAME": r"[a-zA-Z0-9._-]+",
    "USER": r"%{USERNAME}",
    "EMAILLOCALPART": r"[a-zA-Z][a-zA-Z0-9_.+-=:]+",
    "EMAILADDRESS": r"%{EMAILLOCALPART}@%{HOSTNAME}",
    "HTTPDUSER": r"%{EMAILADDRESS}|%{USER}",
    "INT": r"(?:[+-]?(?:[0-9]+))",
    "BASE10NUM": r"([+-]?(?:[0-9]+(?:\.[0-9]+)?)|\.[0-9]+)",
    "NUMBER": r"(?:%{BASE10NUM})",
    "BASE16NUM": r"(0[xX]?[0-9a-fA-F]+)",
    "POSINT": r"\b(?:[1-9][0-9]*)\b",
    "NONNEGINT": r"\b(?:[0-9]+)\b",
    "WORD": r"\b\w+\b",
    "NOTSPACE": r"\S+",
    "SPACE": r"\s*",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "QUOTEDSTRING": r""""([^"\\]*(\\.[^"\\]*)*)"|'([^'\\]*(\\.[^'\\]*)*)'""",
    "UUID": r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}",
    "MAC": r"(?:%{CISCOMAC}|%{WINDOWSMAC}|%{COMMONMAC})",
    "CISCOMAC": r"(?:(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4})",
    "WINDOWSMAC": r"(?:(?:[A-Fa-f0-9]{2}-){5}[A-Fa-f0-9]{2})",
    "COMMONMAC": r"(?:(?:[A-Fa-f0-9]{2}:){5}[A-Fa-f0-9]{2})",
    "IPV6": (
        r"((([0-9A-Fa-f]{1,4}:){7}([0-9A-Fa-f]{1,4}|:))|(([0-9A-Fa-f]{1,4}:){6}(:[0-9A-Fa-f]{1,4}|"
        r"((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|"
        r"(([0-9A-Fa-f]{1,4}:){5}(((:[0-9A-Fa-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
        r"(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){4}(((:[0-9A-Fa-f]{1,4}){1,3})|"
        r"((:[0-9A-Fa-f]{1,4})?:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|"
        r"(([0-9A-Fa-f]{1,4}:){3}(((:[0-9A-Fa-f]{1,4}){1,4})|((:[0-9A-Fa-f]{1,4}){0,2}:((25[0-5]|2[0-4]\d|"
        r"1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){2}"
        r"(((:[0-9A-Fa-f]{1,4}){1,5})|((:[0-9A-Fa-f]{1,4}){0,3}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
        r"(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){1}(((:[0-9A-Fa-f]{1,4}){1,6})|"
        r"((:[0-9A-Fa-f]{1,4}){0,4}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|"
        r"(:(((:[0-9A-Fa-f]{1,4}){1,7})|((:[0-9A-Fa-f]{1,4}){0,5}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
        r"(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:)))(%.+)?"
    ),
    "IPV4": r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)",
    "IP": r"(?:%{IPV6}|%{IPV4})",
    "HOSTNAME": r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(\.?|\b)",
    "HOST": r"%{HOSTNAME}",
    "IPORHOST": r"(?:%{IP}|%{HOSTNAME})",
    "HOSTPORT": r"%{IPORHOST}:%{POSINT}",
    "PATH": r"(?:%{UNIXPATH}|%{WINPATH})",
    "UNIXPATH": r"(/[\w_%!$@:.,-]?/?)(\S+)?",
    "TTY": r"(?:/dev/(pts|tty([pq])?)(\w+)?/?(?:[0-9]+))",
    "WINPATH": r"([A-Za-z]:|\\)(?:\\[^\\?*]*)+",
    "URIPROTO": r"[A-Za-z]+(\+[A-Za-z+]+)?",
    "URIHOST": r"%{IPORHOST}(?::%{POSINT:port})?",
    "URIPATH": r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%_\-]*)+",
    "URIPARAM": r"\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*",
    "URIPATHPARAM": r"%{URIPATH}(?:%{URIPARAM})?",
    "URI": r"%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?",
    "MONTH": (
        r"\b(?:Jan(?:uary|uar)?|Feb(?:ruary|ruar)?|M(?:a|ä)?r(?:ch|z)?|Apr(?:il)?|Ma(?:y|i)?|Jun(?:e|i)?|"
        r"Jul(?:y)?|Aug(?:ust)?|Sep(?:tember)?|O(?:c|k)?t(?:ober)?|Nov(?:ember)?|De(?:c|z)(?:ember)?)\b"
    ),
    "MONTHNUM": r"(?:0?[1-9]|1[0-2])",
    "MONTHNUM2": r"(?:0[1-9]|1[0-2])",
    "MONTHDAY": r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])",
    "DAY": r"(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)",
    "YEAR": r"(\d\d){1,2}",
    "HOUR": r"(?:2[0123]|[01]?[0-9])",
    "MINUTE": r"(?:[0-5][0-9])",
    "SECOND": r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)",
    "TIME": r"([^0-9]?)%{HOUR}:%{MINUTE}(?::%{SECOND})([^0-9]?)",
    "DATE_US": r"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}",
    "DATE_EU": r"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}",
    "ISO8601_TIMEZONE": r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))",
    "ISO8601_SECOND": r"(?:%{SECOND}|60)",
    "TIMESTAMP_ISO8601": r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    "DATE": r"%{DATE_US}|%{DATE_EU}",
    "DATESTAMP": r"%{DATE}[- ]%{TIME}",
    "TZ": r"(?:[PMCE][SD]T|UTC)",
    "DATESTAMP_RFC822": r"%{DAY} %{MONTH} %{MONTHDAY} %{YEAR} %{TIME} %{TZ}",
    "DATESTAMP_RFC2822": r"%{DAY}, %{MONTHDAY} %{MONTH} %{YEAR} %{TIME} %{ISO8601_TIMEZONE}",
    "DATESTAMP_OTHER": r"%{DAY} %{MONTH} %{MONTHDAY} %{TIME} %{TZ} %{YEAR}",
    "DATESTAMP_EVENTLOG": r"%{YEAR}%{MONTHNUM2}%{MONTHDAY}%{HOUR}%{MINUTE}%{SECOND}",
    "HTTPDERROR_DATE": r"%{DAY} %{MONTH} %{MONTHDAY} %{TIME} %{YEAR}",
    "SYSLOGTIMESTAMP": r"%{MONTH} +%{MONTHDAY} %{TIME}",
    "PROG": r"[\x21-\x5a\x5c\x5e-\x7e]+",
    "SYSLOGPROG": r"%{PROG:program}(?:\[%{POSINT:pid}\])?",
    "SYSLOGHOST": r"%{IPORHOST}",
    "SYSLOGFACILITY": r"<%{NONNEGINT:facility}.%{NONNEGINT:priority}>",
    "HTTPDATE": r"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}",
    "QS": r"%{QUOTEDSTRING}",
    "SYSLOGBASE": r"%{SYSLOGTIMESTAMP:timestamp} (?:%{SYSLOGFACILITY} )?%{SYSLOGHOST:logsource} %{SYSLOGPROG}:",
    "COMMONAPACHELOG": (
        r"%{IPORHOST:clientip} %{HTTPDUSER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] "
        r'"(?:%{WORD:verb} %{NOTSPACE:request}(?: HTTP/%{NUMBER:httpversion})?|%{DATA:rawrequest})" '
        r"%{NUMBER:response} (?:%{NUMBER:bytes}|-)"
    ),
    "COMBINEDAPACHELOG": r"%{COMMONAPACHELOG} %{QS:referrer} %{QS:agent}",
    "HTTPD20_ERRORLOG": (
        r"\[%{HTTPDERROR_DATE:timestamp}\] \[%{LOGLEVEL:loglevel}\] (?:\[client %{IPORHOST:clientip}\] ){0,1}"
        r"%{GREEDYDATA:errormsg}"
    ),
    "HTTPD24_ERRORLOG": (
        r"\[%{HTTPDERROR_DATE:timestamp}\] \[%{WORD:module}:%{LOGLEVEL:loglevel}\] \[pid %{POSINT:pid}:tid "
        r"%{NUMBER:tid}\]( \(%{POSINT:proxy_errorcode}\)%{DATA:proxy_errormessage}:)?( \[client "
        r"%{IPORHOST:client}:%{POSINT:clientport}\])? %{DATA:errorcode}: %{GREEDYDATA:message}"
    ),
    "HTTPD_ERRORLOG": r"%{HTTPD20_ERRORLOG}|%{HTTPD24_ERRORLOG}",
    "LOGLEVEL": (
        r"([Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn?(?:ing)?|"
        r"WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|"
        r"SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)"
    ),
}

# A grok reference: %{NAME}, %{NAME:alias} or %{NAME:alias:type} (plain re: patterns are config).
_REFERENCE = r"%\{([\w.-]+)(?::([\w.-]+))?(?::([\w.-]+))?\}"
MAX_EXPANDED = 1 << 20  # bytes of regex after expansion: bounds a self-multiplying definition


def _re2() -> Any:
    try:
        import re2  # optional dependency (google-re2): the "formats" extra
    except ImportError:
        raise ValueError("the grok processor needs google-re2: pip install 'benthic[formats]'") from None
    return re2


class _Capture:
    __slots__ = ("name", "type")

    def __init__(self, name: str, type_: str) -> None:
        self.name = name
        self.type = type_


class GrokExpression:
    """One expression expanded to a regex, with its captures by private group name."""

    def __init__(
        self, expression: str, patterns: dict[str, str], named_only: bool, remove_empty: bool
    ) -> None:
        self.captures: dict[str, _Capture] = {}
        self.remove_empty = remove_empty
        reference = re.compile(_REFERENCE)

        def expand(text: str, stack: tuple[str, ...]) -> str:
            def substitute(match: re.Match[str]) -> str:
                name, alias, type_ = match.group(1), match.group(2), match.group(3)
                if name not in patterns:
                    raise ValueError(f"no pattern found for %{{{name}}}")
                if name in stack:
                    raise ValueError(f"pattern %{{{name}}} refers to itself")
                body = expand(patterns[name], (*stack, name))
                if named_only and alias is None:
                    return f"({body})"
                group = f"g{len(self.captures)}"
                type_name = (type_ or "string").lower()
                if type_name not in ("int", "float", "string"):
                    raise ValueError(
                        f"type {type_} of %{{{match.group(0)[2:-1]}}} must be int, float or string"
                    )
                self.captures[group] = _Capture(alias or name, type_name)
                return f"(?P<{group}>{body})"

            out = reference.sub(substitute, text)
            if len(out) > MAX_EXPANDED:
                raise ValueError("expression grows too large when its patterns are expanded")
            return out

        self.regex = _re2().compile(expand(expression, ()))

    def parse(self, text: str) -> dict[str, Any] | None:
        """The typed captures of the first match, or None (no match, or a value that does not cast)."""
        match = self.regex.search(text)
        if match is None:
            return None
        values: dict[str, Any] = {}
        for group, capture in self.captures.items():
            value = match.group(group)
            if value is None:
                value = ""
            if self.remove_empty and value == "":
                continue
            try:
                values[capture.name] = _cast(value, capture.type)
            except ValueError:
                return None
        return values


def _cast(value: str, type_: str) -> Any:
    if type_ == "int":
        return int(value, 10)
    if type_ == "float":
        return float(value)
    return value


def load_pattern_files(paths: list[str]) -> dict[str, str]:
    """Definitions from files, directories (every file in them) and globs: ``NAME expression``."""
    found: dict[str, str] = {}
    for path in paths:
        if os.path.isdir(path):
            files = sorted(glob.glob(os.path.join(path, "*")))
        else:
            files = sorted(glob.glob(path)) or [path]
        for file in files:
            try:
                with open(file, encoding="utf-8") as fh:
                    lines = fh.read().splitlines()
            except OSError as err:
                raise ValueError(f"failed to parse patterns from path '{path}': {err}") from None
            for line in lines:
                if line and not line.startswith("#"):
                    name, _, expression = line.partition(" ")
                    found[name] = expression
    return found


def compile_expressions(conf: dict[str, Any]) -> list[GrokExpression]:
    patterns = dict(conf["pattern_definitions"])
    patterns.update(load_pattern_files(conf["pattern_paths"]))
    if conf["use_default_patterns"]:
        patterns.update(DEFAULT_PATTERNS)  # as upstream, a default keeps its meaning
    compiled = []
    for expression in conf["expressions"]:
        try:
            compiled.append(
                GrokExpression(expression, patterns, conf["named_captures_only"], conf["remove_empty_values"])
            )
        except Exception as err:
            raise ValueError(f"failed to compile Grok pattern '{expression}': {err}") from None
    return compiled


def _lint(conf: Any) -> list[str]:
    try:
        compile_expressions(conf)
    except ValueError as err:
        return [str(err)]
    return []


SPEC.lint = _lint


def _set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    target[last] = value


class Grok:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.expressions = compile_expressions(conf)
        self.logger = res.logger

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            text = msg.content.decode("utf-8", "replace")
            values: dict[str, Any] | None = None
            for expression in self.expressions:
                values = expression.parse(text)
                if values:
                    break
            if not values:
                msg.error = "no pattern matches found"
                continue
            result: dict[str, Any] = {}
            for name, value in values.items():
                _set_path(result, name, value)
            msg.set_structured(result)
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, Grok)
