"""Declarative config specs for components.

One ``ComponentSpec`` per component says everything about its config: every field with its type,
default, whether it is required, secret, advanced or interpolated, and its description. From it
come the JSON Schema that ``lint`` checks with ``jsonschema``, the defaults a constructor sees,
``benthic list`` and ``create``, and the scrubbing of secrets in ``echo`` and logs.

Field types: ``string``, ``int``, ``float``, ``bool``, ``duration`` (a Go duration string, handed
to constructors as float seconds), ``bloblang`` (a mapping, kept as text), ``object`` (with
``children``), ``any``, and the component kinds ``input``, ``output``, ``processor``, ``buffer``,
``cache``, ``rate_limit``, ``metrics``, ``tracer``, ``scanner`` (nested component configs,
linted with their own specs and built by whoever owns them). ``kind`` is ``scalar``, ``list`` or
``map``.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.durations import parse_duration_ns
from pipeline.redact import SECRET_MASK as SECRET_MASK  # specs and echo use spec.SECRET_MASK

REQUIRED: Any = object()  # sentinel: a field without default must be present

COMPONENT_TYPES = frozenset(
    {"input", "output", "processor", "buffer", "cache", "rate_limit", "metrics", "tracer", "scanner"}
)


@dataclass
class Field:
    name: str
    type: str = "string"
    kind: str = "scalar"  # scalar | list | map
    default: Any = REQUIRED
    description: str = ""
    enum: tuple[str, ...] | None = None
    secret: bool = False
    advanced: bool = False
    interpolated: bool = False
    optional: bool = False  # no default, may be absent (the constructor sees None)
    children: list[Field] | None = None  # for type "object"
    examples: tuple[Any, ...] = ()
    deprecated: bool = False
    # An extra check on the (defaults-filled) value: returns an error message or None.
    check: Callable[[Any], str | None] | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and not self.optional

    def child(self, name: str) -> Field | None:
        for f in self.children or ():
            if f.name == name:
                return f
        return None


# -- field constructors, in the spirit of upstream's service.New...Field ---------------------------


def string(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "string", description=description, **kw)


def interp(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "string", description=description, interpolated=True, **kw)


def integer(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "int", description=description, **kw)


def number(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "float", description=description, **kw)


def boolean(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "bool", description=description, **kw)


def duration(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "duration", description=description, **kw)


def enum(name: str, options: tuple[str, ...] | list[str], description: str = "", **kw: Any) -> Field:
    return Field(name, "string", description=description, enum=tuple(options), **kw)


def bloblang(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "bloblang", description=description, **kw)


def string_list(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "string", "list", description=description, **kw)


def string_map(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "string", "map", description=description, **kw)


def int_list(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "int", "list", description=description, **kw)


def any_field(name: str, description: str = "", **kw: Any) -> Field:
    return Field(name, "any", description=description, **kw)


def obj(name: str, children: list[Field], description: str = "", **kw: Any) -> Field:
    if "default" not in kw and not kw.get("optional"):
        kw["default"] = None  # filled from the children's defaults
    return Field(name, "object", description=description, children=children, **kw)


def obj_list(name: str, children: list[Field], description: str = "", **kw: Any) -> Field:
    return Field(name, "object", "list", description=description, children=children, **kw)


def component(name: str, kind: str, description: str = "", **kw: Any) -> Field:
    return Field(name, kind, description=description, **kw)


def component_list(name: str, kind: str, description: str = "", **kw: Any) -> Field:
    return Field(name, kind, "list", description=description, **kw)


# -- standard field groups shared by many components ------------------------------------------------


def batching_field(name: str = "batching") -> Field:
    return obj(
        name,
        [
            integer(
                "count",
                "Send the batch once it holds this many messages; 0 turns this trigger off.",
                default=0,
            ),
            integer(
                "byte_size",
                "Send the batch once its payloads add up to this many bytes; 0 turns this trigger off.",
                default=0,
            ),
            string(
                "period",
                "Send whatever the batch holds when this much time has passed, full or not.",
                default="",
            ),
            bloblang(
                "check",
                "Bloblang query run on each message; true makes that message the last of its batch.",
                default="",
            ),
            component_list(
                "processors", "processor", "Processors run on each batch just before it is sent.", default=[]
            ),
        ],
        "When messages are grouped into batches before sending.",
    )


def max_in_flight_field(default: int = 64) -> Field:
    return integer(
        "max_in_flight",
        "Most messages (or batches) being sent at once.",
        default=default,
        check=lambda v: None if v >= 1 else "max_in_flight must be at least 1",
    )


def auto_replay_nacks_field() -> Field:
    return boolean(
        "auto_replay_nacks",
        "Send a message that an output rejected (nacked) through the pipeline again, as often as it takes. "
        "If the rejections never stop, the input stalls behind the replays.",
        default=True,
    )


def tls_fields(name: str = "tls") -> Field:
    return obj(
        name,
        [
            boolean("enabled", "Use the settings below instead of the defaults.", default=False),
            boolean("skip_cert_verify", "Accept any server certificate without checking it.", default=False),
            boolean(
                "enable_renegotiation",
                "Let the server ask for TLS renegotiation more than once.",
                default=False,
            ),
            string(
                "root_cas",
                "Certificate authority to trust, as PEM text.",
                default="",
                secret=True,
            ),
            string("root_cas_file", "File holding the certificate authority to trust.", default=""),
            obj_list(
                "client_certs",
                [
                    string("cert", "Client certificate, as PEM text.", default=""),
                    string("key", "Private key of the certificate, as PEM text.", default="", secret=True),
                    string("cert_file", "File holding the client certificate.", default=""),
                    string("key_file", "File holding the private key.", default=""),
                    string(
                        "password",
                        "Password that decrypts the private key, if it is encrypted.",
                        default="",
                        secret=True,
                    ),
                ],
                "Certificates presented to the server to identify this client.",
                default=[],
            ),
        ],
        "TLS settings that replace the system defaults.",
        advanced=True,
    )


@dataclass
class ComponentSpec:
    """The spec of one component: its name, kind, fields and documentation."""

    name: str
    kind: str  # input | processor | output | buffer | cache | rate_limit | metrics | tracer | scanner
    fields: list[Field] = field(default_factory=list)
    summary: str = ""
    description: str = ""
    status: str = "stable"
    categories: tuple[str, ...] = ()
    # When set, the component's config is this single value instead of an object of fields
    # (``mapping: "root = this"``, ``noop: {}`` has neither).
    root: Field | None = None
    # Cross-field rules: return a list of messages for a (defaults-filled) config.
    lint: Callable[[Any], list[str]] | None = None
    # Extra lint warnings (not errors).
    warn: Callable[[Any], list[str]] | None = None
    examples: list[tuple[str, str]] = field(default_factory=list)
    # An optional package the component needs: (module to import, extra of benthic that installs it).
    requires: tuple[str, str] | None = None

    def missing_extra(self) -> str | None:
        """Lint's message when the optional package this component needs is not installed."""
        if self.requires is None:
            return None
        try:
            if importlib.util.find_spec(self.requires[0]) is not None:
                return None
        except (ImportError, ValueError):  # a broken or blocked installation counts as missing
            pass
        module, extra = self.requires
        return (
            f"{self.kind} {self.name} needs the Python package '{module}', which is not installed: "
            f"pip install 'benthic[{extra}]'"
        )

    def field_named(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


# -- JSON Schema -------------------------------------------------------------------------------------

_SCALAR_SCHEMA: dict[str, dict[str, Any]] = {
    # upstream accepts any scalar for a string field ("value: 1" is the string "1")
    # (a YAML null is a scalar too: ``path:`` decodes to an empty string, as in Go)
    "string": {"type": ["string", "number", "boolean", "null"]},
    "bloblang": {"type": ["string", "null"]},
    "int": {"type": ["integer", "string"]},
    "float": {"type": ["number", "string"]},
    "bool": {"type": ["boolean", "string"]},
    "duration": {"type": ["string", "integer", "null"]},
    "any": {},
}


def field_schema(f: Field, *, refs: bool = False) -> dict[str, Any]:
    """The JSON Schema of one field's value. Nested components are ``{"type": "object"}`` for lint
    (the linter checks each with its own spec); with ``refs`` they point at
    ``#/definitions/<kind>``, as in the whole-config schema ``benthic list`` prints."""
    if f.type in COMPONENT_TYPES:
        item: dict[str, Any] = {"$ref": f"#/definitions/{f.type}"} if refs else {"type": "object"}
    elif f.type == "object":
        item = object_schema(f.children or [], refs=refs)
    else:
        item = dict(_SCALAR_SCHEMA[f.type])
        if f.enum:
            item["enum"] = list(f.enum)
    if f.kind == "list":
        schema: dict[str, Any] = {"type": "array", "items": item}
    elif f.kind == "map":
        schema = {"type": "object", "additionalProperties": item}
    else:
        schema = item
    if f.optional or f.default is None:
        schema = {"anyOf": [schema, {"type": "null"}]} if schema else schema
    return schema


def object_schema(children: list[Field], *, refs: bool = False) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {c.name: field_schema(c, refs=refs) for c in children},
        "required": [c.name for c in children if c.required],
        "additionalProperties": False,
    }


def component_schema(spec: ComponentSpec, *, refs: bool = False) -> dict[str, Any]:
    if spec.root is not None:
        return field_schema(spec.root, refs=refs)
    if not spec.fields:
        return {"anyOf": [{"type": "object", "maxProperties": 0}, {"type": "null"}]}
    schema = object_schema(spec.fields, refs=refs)
    return {"anyOf": [schema, {"type": "null"}]} if not any(f.required for f in spec.fields) else schema


# -- defaults and typed values --------------------------------------------------------------------


class ConfigValueError(ValueError):
    """A config value that cannot be converted to its field's type."""

    def __init__(self, path: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def resolve(spec: ComponentSpec, value: Any, path: tuple[Any, ...] = ()) -> Any:
    """Fill defaults and convert scalars to their field types; the constructor sees the result.

    Durations become float seconds, ints and floats and bools are decoded from any scalar the way
    upstream's YAML decoding does, strings accept any scalar. Nested component configs are kept
    as given (the builder resolves them with their own specs).
    """
    if spec.root is not None:
        return _resolve_value(spec.root, value, path)
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigValueError(path, f"expected object value, got {yaml_type(value)}")
    return _resolve_object(spec.fields, value, path)


def _resolve_object(children: list[Field], value: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in children:
        if f.name in value and value[f.name] is not None:
            out[f.name] = _resolve_value(f, value[f.name], (*path, f.name))
        elif f.name in value and f.optional:
            out[f.name] = None
        elif f.default is REQUIRED:
            if f.optional:
                out[f.name] = None
            else:
                raise ConfigValueError(
                    (*path, f.name), f"field '{f.name}' is required and was not present in the config"
                )
        elif f.type == "object" and f.kind == "scalar" and f.default is None:
            out[f.name] = _resolve_object(f.children or [], {}, (*path, f.name))
        else:
            out[f.name] = (
                _resolve_value(f, copy.deepcopy(f.default), (*path, f.name))
                if f.default is not None
                else None
            )
    return out


def _resolve_value(f: Field, value: Any, path: tuple[Any, ...]) -> Any:
    if f.kind == "list":
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigValueError(path, f"expected array value, got {yaml_type(value)}")
        return [_resolve_scalar(f, v, (*path, i)) for i, v in enumerate(value)]
    if f.kind == "map":
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigValueError(path, f"expected object value, got {yaml_type(value)}")
        return {str(k): _resolve_scalar(f, v, (*path, k)) for k, v in value.items()}
    return _resolve_scalar(f, value, path)


def _resolve_scalar(f: Field, value: Any, path: tuple[Any, ...]) -> Any:
    t = f.type
    if t == "object":
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigValueError(path, f"expected object value, got {yaml_type(value)}")
        return _resolve_object(f.children or [], value, path)
    if t in COMPONENT_TYPES or t == "any":
        return value
    if isinstance(value, (dict, list)):
        raise ConfigValueError(
            path,
            f"expected {'string' if t in ('string', 'bloblang', 'duration') else t} value, got {yaml_type(value)}",
        )
    if t in ("string", "bloblang"):
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)
    if t == "int":
        if isinstance(value, bool):
            raise ConfigValueError(path, f"expected int value, got bool: {value}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip(), 0)
        except ValueError:
            raise ConfigValueError(path, f"cannot parse {value!r} as an int") from None
    if t == "float":
        if isinstance(value, bool):
            raise ConfigValueError(path, f"expected float value, got bool: {value}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigValueError(path, f"cannot parse {value!r} as a float") from None
    if t == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "t", "yes", "on"):
            return True
        if text in ("false", "0", "f", "no", "off", ""):
            return False
        raise ConfigValueError(path, f"cannot parse {value!r} as a bool")
    if t == "duration":
        if value == "" or value is None:
            return None
        try:
            return parse_duration_ns(str(value)) / 1e9
        except ValueError as err:
            raise ConfigValueError(path, str(err)) from None
    raise ConfigValueError(path, f"unknown field type {t}")


def yaml_type(value: Any) -> str:
    """The YAML tag of a value, as type errors name it: ``!!map``, ``!!seq``, ``!!str``..."""
    if isinstance(value, dict):
        return "!!map"
    if isinstance(value, list):
        return "!!seq"
    if isinstance(value, bool):
        return "!!bool"
    if isinstance(value, int):
        return "!!int"
    if isinstance(value, float):
        return "!!float"
    if value is None:
        return "!!null"
    return "!!str"


# -- configs for ``benthic create`` ----------------------------------------------------------------


def default_config(spec: ComponentSpec, *, include_advanced: bool = True) -> Any:
    """The config ``benthic create`` prints for a component: every field with its default."""
    if spec.root is not None:
        return "" if spec.root.default in (REQUIRED, None) else spec.root.default

    def build(children: list[Field]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in children:
            if f.advanced and not include_advanced:
                continue
            if f.deprecated:
                continue
            if f.type == "object" and f.kind == "scalar" and f.children is not None:
                out[f.name] = build(f.children)
            elif f.default is REQUIRED:
                out[f.name] = "" if f.kind == "scalar" else ([] if f.kind == "list" else {})
            else:
                out[f.name] = copy.deepcopy(f.default)
        return out

    return build(spec.fields)
