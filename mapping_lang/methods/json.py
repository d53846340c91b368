"""JSON and duration parsing methods: ``parse_json``, ``format_json``, ``parse_duration``.

``format_json`` is Go's ``json.MarshalIndent``: the compact encoding (one serializer,
``mapping_lang.value``) re-indented the way ``json.Indent`` does it.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.durations import parse_duration_ns
from mapping_lang.errors import EvalError
from mapping_lang.gojson import first_value_end
from mapping_lang.library import Param, method
from mapping_lang.value import (
    JsonNumber,
    format_json,
    format_json_marshal,
    parse_json,
    type_name,
)


def _text(target: Any, name: str) -> str | bytes:
    if isinstance(target, (str, bytes)):
        return target
    raise EvalError(f"expected string value, got {type_name(target)}")


@method(
    "parse_json",
    category="Parsing",
    params=[Param("use_number", "bool", optional=True, description="Keep numbers as their JSON text.")],
    description="Reads a string as one JSON document and gives back the value it holds.",
)
def parse_json_method(ctx: Any, target: Any, use_number: bool | None = None) -> Any:
    # Upstream decodes the first value with a json.Decoder: whatever follows it is never read, an
    # input of spaces is EOF, a cut-off value unexpected EOF, and numbers are float64 unless
    # use_number keeps their text. The whole input is tried first: it is almost always one value.
    data = _text(target, "parse_json")
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        value = parse_json(raw)
    except ValueError:
        try:
            end = first_value_end(raw)
            value = parse_json(raw[:end])
        except ValueError as err:
            raise EvalError(f"failed to parse value as JSON: {err}") from None
    return value if use_number else _floats(value)


def _floats(v: Any) -> Any:
    """Numbers as float64, as a decoder without UseNumber gives them."""
    t = type(v)
    if t is int or t is JsonNumber:
        return float(v)
    if t is dict:
        return {k: _floats(x) for k, x in v.items()}
    if t is list:
        return [_floats(x) for x in v]
    return v


@method(
    "format_json",
    category="Parsing",
    params=[
        Param("indent", "string", "    ", "Indentation for each level."),
        Param("no_indent", "bool", False, "Disable indentation."),
        Param("escape_html", "bool", True, "Escape the characters <, > and & as \\u003c etc."),
    ],
    description="Encodes the value as JSON text, returned as bytes.",
    status="beta",
)
def format_json_method(
    ctx: Any, target: Any, indent: str = "    ", no_indent: bool = False, escape_html: bool = True
) -> Any:
    try:
        compact = format_json_marshal(target) if escape_html else format_json(target).decode()
    except ValueError as err:
        raise EvalError(str(err)) from None
    if no_indent:
        return compact.encode()
    return indent_json(compact, indent).encode()


def indent_json(compact: str, indent: str) -> str:
    """Go's ``json.Indent`` over compact JSON text: newlines and indentation between tokens,
    ``": "`` after keys, empty containers kept as ``{}``/``[]``."""
    out: list[str] = []
    depth = 0
    in_string = False
    escaped = False
    need_indent = False  # an opening bracket was written; indent before the next token
    for ch in compact:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if need_indent and ch not in "]}":
            need_indent = False
            depth += 1
            out.append("\n" + indent * depth)
        if ch == '"':
            in_string = True
            out.append(ch)
        elif ch in "{[":
            out.append(ch)
            need_indent = True
        elif ch in "}]":
            if need_indent:
                need_indent = False  # empty container
            else:
                depth -= 1
                out.append("\n" + indent * depth)
            out.append(ch)
        elif ch == ",":
            out.append(",\n" + indent * depth)
        elif ch == ":":
            out.append(": ")
        else:
            out.append(ch)
    return "".join(out)


@method(
    "parse_duration",
    category="Timestamp Manipulation",
    description="Reads a Go duration string such as `1h30m` and gives its length in nanoseconds, as an integer.",
)
def parse_duration_method(ctx: Any, target: Any) -> Any:
    text = _text(target, "parse_duration")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        return parse_duration_ns(text)
    except ValueError as err:
        raise EvalError(str(err)) from None
