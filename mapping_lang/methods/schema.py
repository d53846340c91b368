"""``json_schema``: validates a value against a JSON Schema (via the ``jsonschema`` library), with
error texts in the style of upstream's gojsonschema (``foo invalid type. expected: string, given:
integer``)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import jsonschema

from mapping_lang.errors import EvalError
from mapping_lang.library import Param, method
from mapping_lang.value import JsonNumber, to_text

CATEGORY = "Object & Array Manipulation"


@lru_cache(maxsize=64)
def compile_schema(schema: str) -> Any:
    try:
        document = json.loads(schema)
    except ValueError as e:
        raise EvalError(f"failed to parse json schema definition: {e}") from None
    cls = jsonschema.validators.validator_for(document, default=jsonschema.Draft7Validator)
    try:
        cls.check_schema(document)
    except jsonschema.SchemaError as e:
        raise EvalError(f"failed to parse json schema definition: {e.message}") from None
    return cls(document)


def _plain(v: Any) -> Any:
    t = type(v)
    if t is JsonNumber:
        n = float(v)
        return int(n) if n.is_integer() and abs(n) < 2**63 else n
    if t is dict:
        return {k: _plain(x) for k, x in v.items()}
    if t is list:
        return [_plain(x) for x in v]
    if t is bytes or isinstance(v, datetime):
        return to_text(v)
    return v


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _describe(err: Any) -> tuple[str, str]:
    field = ".".join(str(p) for p in err.absolute_path) or "(root)"
    v = err.validator
    if v == "type":
        expected = err.validator_value
        expected = "/".join(expected) if isinstance(expected, list) else expected
        return field, f"invalid type. expected: {expected}, given: {_json_type(err.instance)}"
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return field, f"{missing} is required"
    if v == "enum":
        options = ", ".join(json.dumps(o) for o in err.validator_value)
        return field, f"{field} must be one of the following: {options}"
    if v == "additionalProperties":
        extra = err.message.split("'")[1] if "'" in err.message else ""
        return field, f"additional property {extra} is not allowed"
    if v == "minimum":
        return field, f"must be greater than or equal to {err.validator_value}"
    if v == "maximum":
        return field, f"must be less than or equal to {err.validator_value}"
    if v == "minLength":
        return field, f"string length must be greater than or equal to {err.validator_value}"
    if v == "maxLength":
        return field, f"string length must be less than or equal to {err.validator_value}"
    if v == "pattern":
        return field, f"does not match pattern '{err.validator_value}'"
    return field, err.message


def _prepare(schema: str) -> tuple[Any, ...]:
    return (compile_schema(schema),)


@method("json_schema", category=CATEGORY, status="beta", prepare=_prepare,
        params=[Param("schema", "string", description="The JSON schema document.")],
        description="Validates the value against a JSON schema; returns it unchanged or fails.")  # fmt: skip
def json_schema(ctx: Any, target: Any, schema: Any) -> Any:
    validator = compile_schema(schema) if isinstance(schema, str) else schema
    errors = sorted(validator.iter_errors(_plain(target)), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise EvalError("\n".join(" ".join(_describe(e)) for e in errors))
    return target
