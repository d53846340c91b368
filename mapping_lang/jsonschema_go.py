"""JSON Schema checks as upstream's gojsonschema makes them, on the ``jsonschema`` library.

Upstream's ``json_schema`` processor and Bloblang method both validate with gojsonschema and
report every violation on its own line as ``<field> <description>``, the description lower-cased
(``(root) subject is required``, ``foo invalid type. expected: string, given: integer``). This
module is the one place that turns ``jsonschema``'s errors into those lines, in the order
gojsonschema reports them, and asserts formats as gojsonschema does: ``date-time`` also accepts
a bare date or time; ``uri`` and ``uri-reference`` follow Go's ``url.Parse``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import unquote

import jsonschema

from mapping_lang.value import format_json

# ---------------------------------------------------------------------------------------------
# formats, as gojsonschema asserts them

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_CLOCK = re.compile(r"^\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _valid_date(text: str) -> bool:
    try:
        dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def _valid_clock(text: str) -> bool:
    h, m, s = int(text[0:2]), int(text[3:5]), int(text[6:8])
    return h < 24 and m < 60 and s < 60


def is_date_time(value: object) -> bool:
    """Any of Go's ``15:04:05``, ``15:04:05Z07:00``, ``2006-01-02`` or RFC 3339 (nanos optional)."""
    if not isinstance(value, str):
        return True
    if _DATE.match(value):
        return _valid_date(value)
    if _CLOCK.match(value):
        return _valid_clock(value)
    if _RFC3339.match(value):
        return _valid_date(value[:10]) and _valid_clock(value[11:19])
    return False


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def go_url_parses(text: str) -> tuple[bool, str]:
    """Whether Go's ``url.Parse`` accepts ``text``; returns (ok, scheme)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return False, ""
    if re.search(r"%(?![0-9A-Fa-f]{2})", text.split("#", 1)[0]):
        return False, ""
    rest = text.split("#", 1)[0]
    scheme = ""
    match = _SCHEME.match(rest)
    if match:
        scheme = match.group()[:-1]
        rest = rest[len(scheme) + 1 :]
    elif rest.startswith(":"):
        return False, ""  # missing protocol scheme
    else:
        first_segment = rest.split("/", 1)[0].split("?", 1)[0]
        if ":" in first_segment:
            return False, ""  # first path segment in URL cannot contain colon
    if rest.startswith("//"):
        authority = rest[2:].split("/", 1)[0].split("?", 1)[0]
        host = authority.rsplit("@", 1)[-1]
        if host.startswith("["):
            if "]" not in host:
                return False, ""
            port = host.split("]", 1)[1]
            if port and not re.fullmatch(r":\d*", port):
                return False, ""
        elif ":" in host:
            port = host.rsplit(":", 1)[1]
            if not port.isdigit() and port != "":
                return False, ""
        try:
            unquote(host, errors="strict")
        except UnicodeDecodeError:
            return False, ""
    return True, scheme


def format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()
    checker.checkers["date-time"] = (is_date_time, ())

    def uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        ok, scheme = go_url_parses(value)
        return ok and bool(scheme) and "\\" not in value

    def uri_reference(value: object) -> bool:
        if not isinstance(value, str):
            return True
        ok, _ = go_url_parses(value)
        return ok and "\\" not in value

    for name, fn in (
        ("uri", uri),
        ("iri", uri),
        ("uri-reference", uri_reference),
        ("iri-reference", uri_reference),
    ):
        checker.checkers[name] = (fn, ())
    return checker


# ---------------------------------------------------------------------------------------------
# error texts

_RANK = {"type": 0, "required": 1, "additionalProperties": 2, "format": 3, "enum": 3, "const": 3}


def _given(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _field(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(root)"


def describe(error: jsonschema.ValidationError) -> str:
    """One line: ``<field> <description>``, the description lower-cased like upstream's."""
    kind = error.validator
    value = error.validator_value
    field = _field(error.absolute_path)
    if kind == "required":
        match = re.match(r"'(.*)' is a required property", error.message)
        prop = match.group(1) if match else str(error.message)
        return f"{field} {prop} is required"
    if kind == "type":
        expected = value if isinstance(value, str) else "[" + ",".join(value) + "]"
        text = f"Invalid type. Expected: {expected}, given: {_given(error.instance)}"
    elif kind == "minLength":
        text = f"String length must be greater than or equal to {value}"
    elif kind == "maxLength":
        text = f"String length must be less than or equal to {value}"
    elif kind == "format":
        text = f"Does not match format '{value}'"
    elif kind == "enum":
        text = f"{field} must be one of the following: " + ", ".join(format_json(v).decode() for v in value)
    elif kind == "const":
        text = f"{field} does not match: {format_json(value).decode()}"
    elif kind == "additionalProperties":
        extra = re.findall(r"'([^']*)'", error.message)
        prop = extra[0] if extra else ""
        # upstream puts the property (original case) in front of the lower-cased description,
        # after trimming it from the description's start, which only works for "required":
        # here the text reads "<prop>additional property <prop> is not allowed"
        description = f"Additional property {prop} is not allowed".lower()
        return f"{field} {prop}{description.removeprefix(prop.lower())}"
    elif kind == "pattern":
        text = f"Does not match pattern '{value}'"
    elif kind == "anyOf":
        text = "Must validate at least one schema (anyOf)"
    elif kind == "oneOf":
        text = "Must validate one and only one schema (oneOf)"
    elif kind == "minimum":
        text = f"Must be greater than or equal to {value}"
    elif kind == "maximum":
        text = f"Must be less than or equal to {value}"
    else:
        text = error.message
    return f"{field} {text.lower()}"


def schema_errors(validator: Any, document: Any) -> list[str]:
    """Every violation of ``document``, one line each, in gojsonschema's order and words."""
    found = list(validator.iter_errors(document))
    # a type error stops validation below that node, as in gojsonschema
    typed = {tuple(e.absolute_path) for e in found if e.validator == "type"}
    kept = [
        e
        for e in found
        if e.validator == "type" or not any(tuple(e.absolute_path)[: len(t)] == t for t in typed)
    ]
    kept.sort(key=lambda e: (len(e.absolute_path), _RANK.get(str(e.validator), 4)))
    return [describe(e) for e in kept]
