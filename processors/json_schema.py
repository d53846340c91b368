"""The ``json_schema`` processor: check each message against a JSON Schema.

A valid message passes on unchanged (an earlier error flag is kept); an invalid one is flagged
with every violation, one per line, in upstream's words (gojsonschema's texts, lower-cased, with
the field path first: ``(root) subject is required``). Formats are asserted the way upstream
asserts them: ``date-time`` also accepts a bare date or time, ``uri``/``uri-reference`` follow
Go's ``url.Parse``. The schema is loaded once, at start.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import jsonschema
import orjson
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

from mapping_lang.jsonschema_go import format_checker, schema_errors
from mapping_lang.value import parse_json
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, string

SPEC = ComponentSpec(
    "json_schema",
    "processor",
    summary="Validates each message against a JSON Schema and leaves the payload as it was; a message that fails validation is flagged as errored, for catch or try to handle.",
    description="The schema language itself is documented at json-schema.org.",
    fields=[
        string(
            "schema", "The schema, inline as JSON text. Set this or `schema_path`, not both.", optional=True
        ),
        string(
            "schema_path",
            "Where to load the schema from (a file:// or http:// URL). Set this or `schema`, not both.",
            optional=True,
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    path = (conf or {}).get("schema_path") or ""
    if not path and not (conf or {}).get("schema"):
        return ["either schema or schema_path must be provided"]
    if path and not (path.startswith("file://") or path.startswith("http://")):
        return ["invalid schema_path provided, must start with file:// or http://"]
    return []


SPEC.lint = _lint


def _file_registry() -> Any:
    """Schemas referenced by ``file://`` URI are read from disk when first needed."""

    def retrieve(uri: str) -> Any:
        parts = urlsplit(uri)
        if parts.scheme != "file":
            raise NoSuchResource(uri)
        contents = orjson.loads(Path(unquote(parts.path)).read_bytes())
        return Resource.from_contents(contents, default_specification=DRAFT7)

    # referencing's stubs declare their attrs classes with a private __dataclass_transform__ that
    # mypy does not read, so it sees no ``retrieve`` parameter
    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


def _parse_number(text: str) -> Any:
    return float(text) if any(c in text for c in ".eE") else int(text)


class JSONSchema:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        try:
            schema = self._load(conf)
        except Exception as err:
            raise ValueError(f"failed to load JSON schema definition: {err}") from None
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        self.validator = cls(schema, format_checker=format_checker(), registry=_file_registry())
        self.res = res

    @staticmethod
    def _load(conf: dict[str, Any]) -> Any:
        path = conf.get("schema_path") or ""
        if path.startswith("file://"):
            file_path = Path(unquote(path[len("file://") :]))
            schema = orjson.loads(file_path.read_bytes())
            if isinstance(schema, dict) and "$id" not in schema:
                # relative $refs resolve against the schema's own file, as upstream's loader does
                schema = {"$id": file_path.resolve().as_uri(), **schema}
            return schema
        if path.startswith("http://"):
            response = httpx.get(path)
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code} fetching {path}")
            return orjson.loads(response.content)
        return orjson.loads(conf["schema"])

    def errors(self, document: Any) -> list[str]:
        return schema_errors(self.validator, document)

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            try:
                if msg.has_structured():
                    document = msg.structured()
                elif not msg.content:
                    raise ValueError("target message part does not exist")
                else:
                    # plain-Python values for the validator, numbers by their text
                    document = json.loads(msg.content, parse_float=_parse_number, parse_int=int)
            except ValueError as err:
                msg.error = _parse_error(msg.content, err)
                self.res.logger.debug(f"Processor failed: {msg.error}")
                continue
            problems = self.errors(document)
            if problems:
                msg.error = "\n".join(problems)
                self.res.logger.debug(f"Processor failed: {msg.error}")
        return [batch]

    async def close(self) -> None:
        return None


def _parse_error(content: bytes, err: ValueError) -> str:
    """Go ``encoding/json``'s words for a payload that is not one JSON document."""
    if not content:
        return "target message part does not exist"
    try:
        parse_json(content)
    except ValueError as go_err:
        return str(go_err)
    return "message contains multiple valid documents" if "Extra data" in str(err) else str(err)


register_processor(SPEC, lambda conf, res: JSONSchema(conf, res))
