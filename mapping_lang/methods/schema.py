"""``json_schema``: validates a value against a JSON Schema (via the ``jsonschema`` library), with
gojsonschema's formats and error texts (``mapping_lang.jsonschema_go``, shared with the
``json_schema`` processor). ``infer_schema``: upstream's common schema of a value, with the same
SHA-256 fingerprints (only the types a Bloblang value can have: no INT32/FLOAT32/decimals)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import jsonschema

from mapping_lang.errors import EvalError
from mapping_lang.gojson import first_value_end
from mapping_lang.jsonschema_go import format_checker, schema_errors
from mapping_lang.library import Param, method
from mapping_lang.value import INT64_MAX, INT64_MIN, JsonNumber, to_text, type_name

CATEGORY = "Object & Array Manipulation"


@lru_cache(maxsize=64)
def compile_schema(schema: str) -> Any:
    try:
        document = json.loads(schema)
    except ValueError:
        # gojsonschema reads the schema with one json.Decoder.Decode: what follows the first
        # value is never read, and a syntax error is the decoder's
        raw = schema.encode("utf-8", "surrogatepass")
        try:
            document = json.loads(raw[: first_value_end(raw)])
        except (ValueError, RecursionError) as e:
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


# ---------------------------------------------------------------------------------------------
# infer_schema: upstream's common schema (public/schema), as the generic value its ToAny gives

_TYPE_IDS = {"BOOLEAN": 1, "INT64": 3, "FLOAT64": 5, "STRING": 6, "BYTE_ARRAY": 7, "OBJECT": 8,
             "ARRAY": 10, "NULL": 11, "TIMESTAMP": 13}  # fmt: skip


class _Schema:
    __slots__ = ("kind", "name", "children")

    def __init__(self, kind: str, name: str, children: list[_Schema]) -> None:
        self.kind, self.name, self.children = kind, name, children

    def fingerprint_text(self) -> str:
        # the canonical text upstream hashes: type id, name, optional flag, then the children
        parts = [f"T:{_TYPE_IDS[self.kind]}|N:{self.name}|O:0|C:{len(self.children)}|"]
        for i, child in enumerate(self.children):
            parts.append(f"[{i}:{child.fingerprint_text()}]")
        return "".join(parts)

    def to_any(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.kind,
            "fingerprint": hashlib.sha256(self.fingerprint_text().encode()).hexdigest(),
        }
        if self.name:
            out["name"] = self.name
        if self.children:
            out["children"] = [c.to_any() for c in self.children]
        return out


def _json_number_kind(v: JsonNumber) -> str:
    lexeme = v.lexeme
    body = lexeme[1:] if lexeme[:1] in "+-" else lexeme
    if body.isascii() and body.isdigit() and INT64_MIN <= int(lexeme) <= INT64_MAX:
        return "INT64"
    return "FLOAT64"


def _infer(name: str, v: Any) -> _Schema:
    t = type(v)
    if v is None:
        return _Schema("NULL", name, [])
    if t is bool:
        return _Schema("BOOLEAN", name, [])
    if t is int:
        if v > INT64_MAX:  # a uint64: upstream has no case for it
            raise EvalError(" unsupported data type: uint64")
        return _Schema("INT64", name, [])
    if t is float:
        return _Schema("FLOAT64", name, [])
    if t is JsonNumber:
        return _Schema(_json_number_kind(v), name, [])
    if t is str:
        return _Schema("STRING", name, [])
    if t is bytes or t is bytearray:
        return _Schema("BYTE_ARRAY", name, [])
    if isinstance(v, datetime):
        return _Schema("TIMESTAMP", name, [])
    if t is list:
        first: _Schema | None = None
        for i, e in enumerate(v):
            try:
                ec = _infer("", e)
            except EvalError as err:
                raise EvalError(f".{i}{err}") from None
            if first is None:
                first = ec
            elif first.kind != ec.kind:
                raise EvalError(f".{i} mismatched array types, found {first.kind} and {ec.kind}")
        return _Schema("ARRAY", name, [first] if first is not None else [])
    if t is dict:
        children = []
        for k in sorted(v, key=lambda s: s.encode("utf-8", "surrogatepass")):
            try:
                children.append(_infer(k, v[k]))
            except EvalError as err:
                raise EvalError(f".{k}{err}") from None
        return _Schema("OBJECT", name, children)
    raise EvalError(f" unsupported data type: {type_name(v)}")


@method("infer_schema", category="Parsing",
        description="Infers upstream's common schema of a value (type, name, children and fingerprint).")  # fmt: skip
def infer_schema(ctx: Any, target: Any) -> Any:
    return _infer("", target).to_any()
