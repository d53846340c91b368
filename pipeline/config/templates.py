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
everything a config can say (``processors`` of an input, a label) carries through. The
templated component's label is ``@label`` to the mapping, and ``$label`` to the template's
``metrics_mapping``, which the engine applies to the metrics of every component the template
generates (``pipeline.metrics``: the template's mapping runs before the root ``metrics.mapping``).
Where we differ: the generated component keeps the templated component's ``label`` when the
template sets none (upstream leaves it unlabelled).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from typing import Any

import yaml

import pipeline.spec as s
from pipeline.config.root import RESERVED, component_type
from pipeline.message import Message
from pipeline.metrics import MetricsMapping
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
    # applied to the metrics of the components the template generates
    metrics_mapping: MetricsMapping | None = None

    def render(self, body: Any, label: str = "") -> dict[str, Any]:
        """The generated component config for a templated component's body (defaults filled);
        the mapping reads the templated component's label as ``@label``."""
        resolved = s.resolve(self.spec, body if body is not None else {})
        msg = Message.from_structured(resolved)
        msg.metadata["label"] = label
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
    except mapping_lang.MappingError as err:
        raise TemplateError(f"{path}: failed to parse mapping: {err}") from None
    metrics_mapping = None
    if raw.get("metrics_mapping"):
        try:
            metrics_mapping = MetricsMapping.compile(str(raw["metrics_mapping"]))
        except mapping_lang.MappingError as err:
            raise TemplateError(f"{path}: failed to parse metrics mapping: {err}") from None
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
    return Template(name, kind, spec, mapping, path, tests, metrics_mapping)


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


def expand(kind: str, conf: Any) -> tuple[Any, list[MetricsMapping]]:
    """A component config with any templates replaced by the configs they generate (repeatedly,
    as a template may generate another templated component), and the metrics mappings of those
    templates, innermost first, each knowing its templated component's label as ``$label``.
    The label stays unless the template sets one; an input's own ``processors`` run after those
    the template generated, an output's before them (as upstream)."""
    mappings: list[MetricsMapping] = []
    for _ in range(32):
        template = template_of(kind, conf)
        if template is None:
            return conf, mappings
        label = str(conf.get("label") or "")
        generated = template.render(conf.get(template.name), label)
        for key in RESERVED:
            if key in conf and key not in ("type", "plugin"):
                generated.setdefault(key, conf[key])
        own = list(conf.get("processors") or [])
        if kind == "input" and own:
            generated["processors"] = list(generated.get("processors") or []) + own
        elif kind == "output" and own:
            generated["processors"] = own + list(generated.get("processors") or [])
        if template.metrics_mapping is not None:
            mappings.insert(0, template.metrics_mapping.with_static_vars(label=label))
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
            generated = template.render(test.get("config") or {}, str(test.get("label") or ""))
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
