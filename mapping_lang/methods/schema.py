"""``json_schema``: validates a value against a JSON Schema (via the ``jsonschema`` library), with
gojsonschema's formats and error texts (``mapping_lang.jsonschema_go``, shared with the
``json_schema`` processor)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import jsonschema

from mapping_lang.errors import EvalError
from mapping_lang.jsonschema_go import format_checker, schema_errors
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
    return cls(document, format_checker=format_checker())


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


def _prepare(schema: str) -> tuple[Any, ...]:
    return (compile_schema(schema),)


@method("json_schema", category=CATEGORY, status="beta", prepare=_prepare,
        params=[Param("schema", "string", description="The JSON schema document.")],
        description="Validates the value against a JSON schema; returns it unchanged or fails.")  # fmt: skip
def json_schema(ctx: Any, target: Any, schema: Any) -> Any:
    validator = compile_schema(schema) if isinstance(schema, str) else schema
    errors = schema_errors(validator, _plain(target))
    if errors:
        raise EvalError("\n".join(errors))
    return target
