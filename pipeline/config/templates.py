"""Templates: new components written as a Bloblang mapping from their fields to a config.

Upstream (``internal/template`` in benthos) reads template files given with ``-t``/``--templates``
(globs) on ``run``, ``lint``, ``test`` and ``streams``. A file names the component (``name``, and
``type``: ``input``, ``processor``, ``output``, ``cache`` or ``rate_limit``), declares its
``fields`` (``name``, ``type`` among ``string``, ``string_enum``, ``string_annotated_enum``,
``int``, ``float``, ``bool``, ``bloblang``, ``unknown``; ``kind`` scalar, map or list;
``default``, ``advanced``, ``options``), and holds a ``mapping`` that turns the field values (with
their defaults) into the config of a real component of the same type. The template then works as
a component of its own: linted against its fields, listed, and built from the generated config.
``tests`` (``name``, ``label``, ``config``, ``expected``) are run by ``template lint``: the
generated config must lint clean and, when ``expected`` is given, equal it.

Here a template registers a spec (so lint and ``benthic list`` know it) and the engine expands a
templated component into its generated config where it is built (:func:`expand`), so that
everything a config can say (``processors`` of an input, a label) carries through. Where we
differ: ``metrics_mapping`` is accepted and compiled but not applied (the generated component's
metrics keep their names).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from typing import Any

import yaml

import pipeline.spec as s
from pipeline.config.root import RESERVED, component_type
from pipeline.message import Message
from pipeline.registry import REGISTRY
from pipeline.spec import ComponentSpec, Field

TEMPLATE_KINDS = ("cache", "input", "output", "processor", "rate_limit")
STATUSES = ("stable", "beta", "experimental", "deprecated")
FIELD_TYPES = (
    "string",
    "string_enum",
    "string_annotated_enum",
    "int",
    "float",
    "bool",
    "bloblang",
    "unknown",
)
TOP_KEYS = {
    "name",
    "type",
    "status",
    "categories",
    "summary",
    "description",
    "fields",
    "mapping",
    "metrics_mapping",
    "tests",
}
FIELD_KEYS = {"name", "description", "type", "kind", "default", "advanced", "options", "interpolated"}


class TemplateError(ValueError):
    """A template file that cannot be used; the message names the file and the problem."""


@dataclass
class Template:
    name: str
    kind: str
    spec: ComponentSpec
    mapping: Any  # a compiled Bloblang mapping
    path: str
    tests: list[dict[str, Any]] = field(default_factory=list)

    def render(self, body: Any) -> dict[str, Any]:
        """The generated component config for a templated component's body (defaults filled)."""
        resolved = s.resolve(self.spec, body if body is not None else {})
        msg = Message.from_structured(resolved)
        try:
            out = self.mapping.map_message(msg)
        except Exception as err:
            raise TemplateError(f"template {self.name}: mapping failed: {err}") from None
        generated = out.structured() if out is not None else None
        if not isinstance(generated, dict):
            raise TemplateError(
                f"template {self.name}: mapping must produce an object, got {s.yaml_type(generated)}"
            )
        return generated


# every template loaded, by (kind, name)
TEMPLATES: dict[tuple[str, str], Template] = {}


def _field(raw: Any, where: str) -> Field:
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: expected an object")
    unknown = sorted(set(raw) - FIELD_KEYS)
    if unknown:
        raise TemplateError(f"{where}: field {unknown[0]} not recognised")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise TemplateError(f"{where}: field name is required")
    type_name = raw.get("type")
    if type_name not in FIELD_TYPES:
        raise TemplateError(
            f"{where}.type: value {type_name} is not a valid option, expected one of: [{', '.join(FIELD_TYPES)}]"
        )
    kind = raw.get("kind", "scalar")
    if kind not in ("scalar", "map", "list"):
        raise TemplateError(
            f"{where}.kind: value {kind} is not a valid option, expected one of: [scalar, map, list]"
        )
    options: tuple[str, ...] | None = None
    if type_name == "string_enum":
        if not isinstance(raw.get("options"), list):
            raise TemplateError(f"{where}.options: a string_enum field needs a list of options")
        options = tuple(str(o) for o in raw["options"])
    elif type_name == "string_annotated_enum":
        if not isinstance(raw.get("options"), dict):
            raise TemplateError(f"{where}.options: a string_annotated_enum field needs a map of options")
        options = tuple(str(o) for o in raw["options"])
    field_type = {
        "string": "string",
        "string_enum": "string",
        "string_annotated_enum": "string",
        "int": "int",
        "float": "float",
        "bool": "bool",
        "bloblang": "bloblang",
        "unknown": "any",
    }[type_name]
    return Field(
        name,
        field_type,
        kind,
        default=raw["default"] if "default" in raw else s.REQUIRED,
        description=str(raw.get("description") or ""),
        enum=options,
        advanced=bool(raw.get("advanced", False)),
        interpolated=bool(raw.get("interpolated", False)),
    )


def parse_template(raw: Any, path: str) -> Template:
    """A template from the YAML of its file (``TemplateError`` naming the problem)."""
    import mapping_lang  # start-up cost: only configs that use templates build the Bloblang parser

    if not isinstance(raw, dict):
        raise TemplateError(f"{path}: a template must be an object")
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise TemplateError(f"{path}: field {unknown[0]} not recognised")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise TemplateError(f"{path}: field name is required")
    kind = raw.get("type")
    if kind not in TEMPLATE_KINDS:
        raise TemplateError(
            f"{path}: type: value {kind} is not a valid option, expected one of: [{', '.join(TEMPLATE_KINDS)}]"
        )
    status = raw.get("status", "stable")
    if status not in STATUSES:
        raise TemplateError(
            f"{path}: status: value {status} is not a valid option, expected one of: [{', '.join(STATUSES)}]"
        )
    if not isinstance(raw.get("mapping"), str):
        raise TemplateError(f"{path}: field mapping is required")
    fields = [_field(f, f"{path}: fields.{i}") for i, f in enumerate(raw.get("fields") or [])]
    try:
        mapping = mapping_lang.compile(raw["mapping"])
        if raw.get("metrics_mapping"):
            mapping_lang.compile(str(raw["metrics_mapping"]))
    except mapping_lang.MappingError as err:
        raise TemplateError(f"{path}: failed to parse mapping: {err}") from None
    tests = raw.get("tests") or []
    if not isinstance(tests, list):
        raise TemplateError(f"{path}: tests: expected an array")
    spec = ComponentSpec(
        name,
        kind,
        fields,
        summary=str(raw.get("summary") or ""),
        description=str(raw.get("description") or ""),
        status=status,
        categories=tuple(str(c) for c in raw.get("categories") or ()),
    )
    return Template(name, kind, spec, mapping, path, tests)


def register_template(template: Template) -> None:
    """Make the template a component: its spec for lint and ``list``, expanded where built."""

    def not_expanded(conf: Any, res: Any) -> Any:
        raise TemplateError(f"template {template.name} was not expanded before it was built")

    TEMPLATES[(template.kind, template.name)] = template
    REGISTRY.register(template.spec, not_expanded)


def load_template_files(patterns: list[str]) -> list[Template]:
    """Read and register every template file matching the globs (``TemplateError`` on the first
    problem, naming its file)."""
    loaded = []
    for pattern in patterns:
        paths = sorted(glob.glob(pattern)) or [pattern]
        for path in paths:
            try:
                with open(path, encoding="utf-8") as fh:
                    raw = yaml.safe_load(fh)
            except OSError as err:
                raise TemplateError(f"{path}: failed to read template: {err.strerror}") from None
            except yaml.YAMLError as err:
                raise TemplateError(f"{path}: failed to parse template: {err}") from None
            template = parse_template(raw, path)
            register_template(template)
            loaded.append(template)
    return loaded


def template_of(kind: str, conf: Any) -> Template | None:
    if not TEMPLATES or not isinstance(conf, dict):
        return None
    type_name, error = component_type(kind, conf)
    if error is not None or type_name is None:
        return None
    return TEMPLATES.get((kind, type_name))


def expand(kind: str, conf: Any) -> Any:
    """A component config with any templates replaced by the configs they generate (repeatedly,
    as a template may generate another templated component). The label stays; an input's or
    output's own ``processors`` run after those the template generated."""
    for _ in range(32):
        template = template_of(kind, conf)
        if template is None:
            return conf
        generated = template.render(conf.get(template.name))
        for key in RESERVED:
            if key in conf and key not in ("type", "plugin"):
                generated.setdefault(key, conf[key])
        if kind in ("input", "output") and conf.get("processors"):
            generated["processors"] = list(generated.get("processors") or []) + list(conf["processors"])
        conf = generated
    raise TemplateError(f"{kind} templates expand into each other more than 32 times")


def run_template_tests(template: Template, lint_component: Any) -> list[str]:
    """The failures of a template's ``tests``: each config must render, lint clean
    (``lint_component(kind, conf)`` returns the problems) and match ``expected`` when given."""
    failures = []
    for i, test in enumerate(template.tests):
        name = test.get("name") if isinstance(test, dict) else None
        where = f"{template.path}: test '{name or i}'"
        if not isinstance(test, dict):
            failures.append(f"{where}: expected an object")
            continue
        try:
            generated = template.render(test.get("config") or {})
        except (TemplateError, s.ConfigValueError) as err:
            failures.append(f"{where}: {getattr(err, 'message', err)}")
            continue
        for problem in lint_component(template.kind, generated):
            failures.append(f"{where}: lint: {problem}")
        if "expected" in test and generated != test["expected"]:
            failures.append(
                f"{where}: mismatch: expected {yaml.safe_dump(test['expected'], sort_keys=True).strip()!r}, "
                f"got {yaml.safe_dump(generated, sort_keys=True).strip()!r}"
            )
    return failures
