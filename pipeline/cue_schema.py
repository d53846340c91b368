"""CUE definitions of a config, as ``benthic list --format cue`` prints them.

Upstream (``internal/cuegen``) writes, in package ``benthos``: ``#Config``, the root's fields;
for each kind a collection ``#AllInputs: {<name>: <config>, ...}`` and a disjunction
``#Input: or([for name, config in #AllInputs {(name): config}])``, to which the kinds that take
them add ``label?: string`` and ``processors?: [...#Processor]``. We write that disjunction out
(``{generate: #AllInputs.generate} | ...``): the same value, which older CUE releases also close
correctly. A field without a default is
required (``name: T``), others are optional (``name?: T``); a nested component is always
optional, which breaks CUE's structural cycles (a processor holding processors). Descriptions
and component summaries become ``//`` comments. The same shape is built here from the specs.

Types: ``string``, ``int``, ``float``, ``bool``, a struct for an object, ``_`` for anything;
lists are ``[...T]`` and maps ``{[string]: T}``. Bloblang and duration fields are strings.
"""

from __future__ import annotations

import json
import re

from pipeline.registry import REGISTRY
from pipeline.spec import COMPONENT_TYPES, ComponentSpec, Field

# kind: (collection, disjunction, takes a label, takes processors), in upstream's order
KIND_IDENTIFIERS = {
    "input": ("#AllInputs", "#Input", True, True),
    "output": ("#AllOutputs", "#Output", True, True),
    "processor": ("#AllProcessors", "#Processor", True, False),
    "cache": ("#AllCaches", "#Cache", True, False),
    "rate_limit": ("#AllRateLimits", "#RateLimit", True, False),
    "buffer": ("#AllBuffers", "#Buffer", False, False),
    "metrics": ("#AllMetrics", "#Metric", False, False),
    "tracer": ("#AllTracers", "#Tracer", False, False),
    "scanner": ("#AllScanners", "#Scanner", False, False),
}
# fields a kind's block takes beside the component itself (the metrics mapping renames series)
KIND_EXTRA_FIELDS = {"metrics": ("mapping?: string",)}
_SCALAR_TYPES = {
    "string": "string",
    "bloblang": "string",
    "duration": "string",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "any": "_",
}
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# CUE's keywords: a label spelt as one is quoted
_KEYWORDS = frozenset(
    {"package", "import", "for", "in", "if", "let", "true", "false", "null", "div", "mod", "quo", "rem"}
)


def label(name: str) -> str:
    """A field name as a CUE label: bare when it is a plain identifier, else quoted (a leading
    ``_`` or ``#`` would make it hidden or a definition)."""
    if _IDENTIFIER.match(name) and name not in _KEYWORDS:
        return name
    return json.dumps(name)


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}// {line}".rstrip() for line in text.strip().splitlines()]


def _type_of(f: Field, indent: str) -> str:
    if f.type in COMPONENT_TYPES:
        base = KIND_IDENTIFIERS[f.type][1]
    elif f.type == "object":
        base = _struct(f.children or [], indent)
    else:
        base = _SCALAR_TYPES[f.type]
    if f.kind == "list":
        return f"[...{base}]"
    if f.kind == "map":
        return f"{{[string]: {base}}}"
    return base


def _struct(fields: list[Field], indent: str) -> str:
    if not fields:
        return "{}"
    inner = indent + "\t"
    lines = ["{"]
    for f in fields:
        if f.description:
            lines.extend(_comment(f.description, inner))
        optional = "?" if f.type in COMPONENT_TYPES or not f.required else ""
        lines.append(f"{inner}{label(f.name)}{optional}: {_type_of(f, inner)}")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def _component_value(spec: ComponentSpec, indent: str) -> str:
    if spec.root is not None:
        return _type_of(spec.root, indent)
    return _struct(spec.fields, indent)


def _kind_decls(kind: str) -> list[str]:
    collection, disjunction, labelled, processors = KIND_IDENTIFIERS[kind]
    lines = [f"{collection}: {{"]
    for registration in REGISTRY.all(kind):
        spec = registration.spec
        if spec.summary:
            lines.extend(_comment(spec.summary, "\t"))
        lines.append(f"\t{label(spec.name)}: {_component_value(spec, chr(9))}")
    lines.append("}")
    lines.append("")
    # one branch per component, written out: the same disjunction upstream builds with a
    # comprehension, in a form every CUE version closes correctly (CUE 0.4 rejects every
    # component when the branches come from a comprehension in a definition)
    branches = []
    for registration in REGISTRY.all(kind):
        name = label(registration.spec.name)
        ref = f"{collection}.{name}" if name == registration.spec.name else f"{collection}[{name}]"
        branches.append(f"{{{name}: {ref}}}")
    if not branches:
        branches.append("{}")
    lines.append(f"{disjunction}: " + " |\n\t".join(branches))
    if labelled:
        lines.extend(["", f"{disjunction}: {{", "\tlabel?: string", "}"])
    if processors:
        lines.extend(["", f"{disjunction}: {{", "\tprocessors?: [...#Processor]", "}"])
    for extra in KIND_EXTRA_FIELDS.get(kind, ()):
        lines.extend(["", f"{disjunction}: {{", f"\t{extra}", "}"])
    return lines


def cue_schema(root_fields: list[Field]) -> str:
    """The CUE source: ``#Config`` from ``root_fields``, then each kind's definitions."""
    lines = ["package benthos", "", f"#Config: {_struct(root_fields, '')}"]
    for kind in KIND_IDENTIFIERS:
        lines.append("")
        lines.extend(_kind_decls(kind))
    return "\n".join(lines) + "\n"
