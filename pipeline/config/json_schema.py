"""The JSON Schema of a whole config, as ``benthic list --format jsonschema`` prints it.

Upstream prints ``{"properties": <the root's fields>, "definitions": {<kind>: ...}}``: a
component field refers to ``#/definitions/<kind>``, and each kind's definition is every
component of that kind (one object property each) together with the fields any component of the
kind may carry beside its type (``label``, ``processors``, a metrics block's ``mapping``). We
build it from the same specs, and the same per-field schemas, that lint checks configs with.

Where we differ: upstream's alternatives name their component as an optional property, so any
object passes them; ours require it (or an explicit ``type``, or a ``resource``), so that the
schema catches a misspelt field as lint does.
"""

from __future__ import annotations

from typing import Any

import pipeline.spec as s
from pipeline.config.root import ROOT_SPEC, reserved_keys
from pipeline.registry import KINDS, REGISTRY

_RESERVED_SCHEMAS: dict[str, dict[str, Any]] = {
    "type": {"type": "string"},
    "plugin": {"type": "object"},
    "label": {"type": "string"},
    "meta": {"type": "object"},
    "mapping": {"type": "string"},
    "processors": {"type": "array", "items": {"$ref": "#/definitions/processor"}},
}


def kind_definition(kind: str) -> dict[str, Any]:
    """Any component of one kind: one of its registered types, with the reserved fields."""
    alternatives: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {r.spec.name: s.component_schema(r.spec, refs=True)},
            "required": [r.spec.name],
        }
        for r in REGISTRY.all(kind)
    ]
    alternatives.append({"type": "object", "required": ["type"]})
    reserved = reserved_keys(kind)
    if "label" in reserved:
        alternatives.append({"type": "object", "required": ["resource"]})
    return {
        "allOf": [
            {"anyOf": alternatives},
            {"type": "object", "properties": {k: _RESERVED_SCHEMAS[k] for k in sorted(reserved)}},
        ]
    }


def config_json_schema() -> dict[str, Any]:
    return {
        "properties": s.object_schema(ROOT_SPEC.fields, refs=True)["properties"],
        "definitions": {kind: kind_definition(kind) for kind in KINDS},
    }
