"""Lint: a config checked against the component specs, every problem at its file position.

Upstream lints from the same specs that document the components; so do we, through JSON Schema
(the spec of each component becomes a schema, ``jsonschema`` finds the problems) translated back
into upstream's wording (``field x not recognised``, ``expected string value, got ...``).
Beyond upstream, a bare ``$NAME`` (capitals, as environment variables are named) in a string is
a warning (it is used literally).
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema

import mapping_lang
import pipeline.spec as s
from mapping_lang.interpolation import compile_interpolation
from pipeline.config.document import Lint, LoadedConfig
from pipeline.config.root import (
    RESOURCE_SECTIONS,
    ROOT_SPEC,
    component_type,
    refused_type,
    reserved_keys,
)
from pipeline.config.templates import TEMPLATES, Template, TemplateError
from pipeline.registry import REGISTRY
from pipeline.spec import ComponentSpec, ConfigValueError, Field

LABEL_PATTERN = re.compile(r"^[a-z0-9_\-]+$")
# an environment variable's name by convention: capitals, digits and underscores. Lower-case
# ``$name`` is left alone, being far more often another language's own syntax (JSON Schema's
# ``$schema``/``$ref``, jq and shell variables, SQL placeholders) than a mistaken env reference.
_BARE_VAR = re.compile(r"(?<![\w$\\\"'])\$([A-Z_][A-Z0-9_]*)(?![a-z])")


class Linter:
    """Walks a config against the specs; every problem is a ``Lint`` at its file position."""

    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.lints: list[Lint] = []
        self.labels: dict[str, int] = {}

    def add(self, path: tuple[Any, ...], message: str, level: str = "error") -> None:
        line, column = self.loaded.mark(path)
        self.lints.append(Lint(line, column, message, level))

    def lint_root(self) -> list[Lint]:
        data = self.loaded.data
        # the root is linted like a component: its component fields recurse into the components
        self._validate(ROOT_SPEC, data, ())
        for key, kind in RESOURCE_SECTIONS:
            for i, res in enumerate(data.get(key) or []):
                if isinstance(res, dict) and not res.get("label"):
                    self.add((key, i), f"{kind} resource must have a label")
        return self.lints

    def lint_component(self, kind: str, conf: Any, path: tuple[Any, ...]) -> None:
        if conf is None:
            return
        type_name, error = component_type(kind, conf)
        if error is not None or type_name is None:
            keys = [k for k in conf if k not in reserved_keys(kind)] if isinstance(conf, dict) else []
            if refused_type(kind, conf) or (kind in ("metrics", "tracer") and not keys):
                return  # the root lint says why it is refused; no exporter at all is the default
            self.add((*path, keys[0]) if keys else path, error or f"unable to infer {kind} type")
            return
        label = conf.get("label") if "label" in reserved_keys(kind) else None
        # an empty label is upstream's default (no label), as its docs' config blocks show
        if label is not None and label != "":
            self._lint_label(str(label), (*path, "label"))
        if type_name == "resource":
            # a resource input or output may have processors of its own, as any input or output
            # (the builder then builds a ``resource`` input or output wrapped with them)
            own = ("processors",) if kind in ("input", "output") else ()
            allowed = ("resource", "label", *own)
            extra = [k for k in conf if k not in allowed]
            for key in extra:
                self.add((*path, key), f"field {key} is invalid when the component type is resource ({kind})")
            self._lint_own_processors(kind, conf, path)
            return
        registration = REGISTRY.get(kind, type_name)
        if registration is None:
            self.add(path, f"unable to infer {kind} type from candidates: [{type_name}]")
            return
        reserved = reserved_keys(kind)
        for key in conf:
            if key not in reserved and key != type_name and not (key == "plugin" and "type" in conf):
                self.add(
                    (*path, key), f"field {key} is invalid when the component type is {type_name} ({kind})"
                )
        if kind == "metrics" and isinstance(conf.get("mapping"), str) and conf["mapping"]:
            self._check_mapping(conf["mapping"], (*path, "mapping"))
        body_key = type_name if type_name in conf else "plugin"
        body = conf.get(body_key)
        body_path = (*path, body_key)
        missing = registration.spec.missing_extra()
        if missing is not None:
            self.add(body_path, missing)
        before = len(self.lints)
        self._validate(registration.spec, body, body_path)
        template = TEMPLATES.get((kind, type_name))
        if template is not None and len(self.lints) == before:
            self._lint_generated(template, kind, body, body_path, str(label or ""))
        self._lint_own_processors(kind, conf, path)

    def _lint_generated(
        self, template: Template, kind: str, body: Any, at: tuple[Any, ...], label: str = ""
    ) -> None:
        """A templated component: the config its template generates must lint clean too (its
        problems are reported at the templated component, naming the template)."""
        try:
            generated = template.render(body, label)
        except (TemplateError, ConfigValueError) as err:
            self.add(at, str(getattr(err, "message", err)))
            return
        inner = Linter(self.loaded)
        inner.labels = dict(self.labels)
        inner.lint_component(kind, generated, at)
        for lint in inner.lints:
            self.lints.append(
                Lint(lint.line, lint.column, f"template {template.name}: {lint.message}", lint.level)
            )

    def _lint_own_processors(self, kind: str, conf: dict[str, Any], path: tuple[Any, ...]) -> None:
        if kind in ("input", "output"):
            for i, proc in enumerate(conf.get("processors") or []):
                self.lint_component("processor", proc, (*path, "processors", i))

    def _lint_label(self, label: str, path: tuple[Any, ...]) -> None:
        if not LABEL_PATTERN.match(label) or label.startswith(("_", "-")):
            self.add(
                path,
                f"invalid label '{label}': should match the regular expression /^[a-z0-9_\\-]+$/ "
                "and must not start with an underscore",
            )
            return
        if label in self.labels:
            self.add(
                path, f"label '{label}' collides with a previously defined label at line {self.labels[label]}"
            )
            return
        self.labels[label] = self.loaded.mark(path)[0]

    def _validate(self, spec: ComponentSpec, body: Any, path: tuple[Any, ...]) -> None:
        schema = s.component_schema(spec)
        validator = jsonschema.Draft202012Validator(schema)
        if body is None and spec.root is None:
            body = {}
        failed = False
        for err in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
            failed = True
            self._schema_error(err, path)
        if failed:
            self._recurse_components(spec.fields, body, path)
            return
        try:
            resolved = s.resolve(spec, body)
        except ConfigValueError as err:
            self.add((*path, *err.path), err.message)
            self._recurse_components(spec.fields, body, path)
            return
        self._field_checks(
            spec.fields if spec.root is None else [spec.root], resolved, body, path, spec.root is not None
        )
        if spec.lint is not None:
            for message in spec.lint(resolved):
                self.add(self._message_path(path, message), message)
        if spec.warn is not None:
            for message in spec.warn(resolved):
                self.add(path, message, "warning")

    def _message_path(self, path: tuple[Any, ...], message: str) -> tuple[Any, ...]:
        """A lint rule's message may start with the field it is about (``http.cors: ...``):
        report it there when that field is in the file."""
        head, sep, _ = message.partition(": ")
        if sep and re.fullmatch(r"[A-Za-z0-9_.]+", head):
            candidate = (*path, *(int(p) if p.isdigit() else p for p in head.split(".")))
            if candidate in self.loaded.marks:
                return candidate
        return path

    def _recurse_components(self, fields: list[Field], raw: Any, path: tuple[Any, ...]) -> None:
        """Lint nested components even when their parent's own fields have problems."""
        if not isinstance(raw, dict):
            return
        for f in fields:
            value = raw.get(f.name)
            if value is None:
                continue
            at = (*path, f.name)
            if f.type in s.COMPONENT_TYPES:
                if f.kind == "list" and isinstance(value, list):
                    for i, item in enumerate(value):
                        self.lint_component(f.type, item, (*at, i))
                elif f.kind == "scalar":
                    self.lint_component(f.type, value, at)
            elif f.type == "object" and f.children and f.kind == "scalar":
                self._recurse_components(f.children, value, at)

    def _field_checks(
        self, fields: list[Field], resolved: Any, raw: Any, path: tuple[Any, ...], is_root: bool
    ) -> None:
        """Per-field checks, bare ``$NAME`` warnings, Bloblang compile errors and nested components."""
        for f in fields:
            if is_root:
                value, raw_value, at = resolved, raw, path
            else:
                if not isinstance(resolved, dict):
                    return
                value = resolved.get(f.name)
                raw_value = raw.get(f.name) if isinstance(raw, dict) else None
                at = (*path, f.name)
            if f.check is not None and value is not None:
                message = f.check(value)
                if message:
                    self.add(at, message)
            if f.type in s.COMPONENT_TYPES:
                if f.kind == "list":
                    for i, item in enumerate(raw_value or []):
                        self.lint_component(f.type, item, (*at, i))
                elif f.kind == "map":
                    for key, item in (raw_value or {}).items():
                        self.lint_component(f.type, item, (*at, key))
                elif raw_value is not None:
                    self.lint_component(f.type, raw_value, at)
            elif f.type == "object" and f.children:
                if f.kind == "list":
                    for i, item in enumerate(value or []):
                        self._field_checks(
                            f.children, item, (raw_value or [])[i] if raw_value else None, (*at, i), False
                        )
                elif f.kind == "scalar" and value is not None:
                    self._field_checks(f.children, value, raw_value, at, False)
                elif f.kind == "map" and isinstance(value, dict):  # e.g. workflow.branches
                    raw_map = raw_value if isinstance(raw_value, dict) else {}
                    for key, item in value.items():
                        self._field_checks(f.children, item, raw_map.get(key), (*at, key), False)
            elif f.type == "bloblang" and isinstance(value, str) and value:
                self._check_mapping(value, at)
            elif f.type == "string" and raw_value is not None:
                for text_value, text_at in _strings(raw_value, at):
                    if f.interpolated:
                        self._check_interpolation(text_value, text_at)
                    self._warn_bare_vars(text_value, text_at)

    def _check_mapping(self, source: str, at: tuple[Any, ...]) -> None:
        import mapping_lang  # start-up cost: building the Bloblang parser takes ~0.5 s (measured)

        try:
            mapping_lang.compile(source)
        except mapping_lang.MappingError as err:
            self.add(at, f"failed to parse mapping: {err}")
        except Exception:
            return

    def _check_interpolation(self, text: str, at: tuple[Any, ...]) -> None:
        if "${!" not in text:
            return
        # start-up cost: building the Bloblang parser takes ~0.5 s (measured)

        try:
            compile_interpolation(text)
        except mapping_lang.MappingError as err:
            self.add(at, f"failed to parse interpolation: {err}")
        except Exception:
            return

    def _warn_bare_vars(self, text: str, at: tuple[Any, ...]) -> None:
        plain = re.sub(r"\$\{!.*?\}", "", text)
        for match in _BARE_VAR.finditer(plain):
            name = match.group(1)
            self.add(
                at,
                f"'${name}' is not an environment variable reference and is used literally; "
                f"write '${{{name}}}' to substitute the variable",
                "warning",
            )

    def _schema_error(self, err: jsonschema.ValidationError, path: tuple[Any, ...]) -> None:
        if err.validator == "anyOf" and err.context:
            # our optional fields are "value or null": report the value branch's own problem
            branch = [e for e in err.context if e.validator != "type" or "null" not in str(e.validator_value)]
            for sub in branch or err.context:
                if sub.schema_path and sub.schema_path[0] == 0:
                    self._schema_error(sub, path)
                    return
        at = (*path, *err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = set((err.schema or {}).get("properties", {}))
            for key in err.instance:
                if key not in allowed:
                    self.add((*at, key), f"field {key} not recognised")
            return
        if err.validator == "required":
            # jsonschema reports each missing property as an error of its own, each carrying the
            # whole list: report the one it names (the list only if the message names none)
            missing = [r for r in err.validator_value if r not in (err.instance or {})]
            named = [r for r in missing if err.message.startswith(f"{r!r} ")]
            for name in named[:1] or missing:
                self.add(at, f"field {name} is required")
            return
        if err.validator == "enum":
            options = ", ".join(str(o) for o in err.validator_value)
            self.add(at, f"value {err.instance} is not a valid option, expected one of: [{options}]")
            return
        if err.validator == "type":
            expected = err.validator_value
            names = expected if isinstance(expected, list) else [expected]
            if "object" in names:
                wanted = "object"
            elif "array" in names:
                wanted = "array"
            else:
                wanted = "string" if "string" in names else names[0]
            self.add(at, f"expected {wanted} value, got {s.yaml_type(err.instance)}")
            return
        if err.validator == "maxProperties":
            for key in err.instance:
                self.add((*at, key), f"field {key} not recognised")
            return
        self.add(at, err.message)


def _strings(value: Any, at: tuple[Any, ...]) -> list[tuple[str, tuple[Any, ...]]]:
    if isinstance(value, str):
        return [(value, at)]
    if isinstance(value, list):
        return [pair for i, v in enumerate(value) for pair in _strings(v, (*at, i))]
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _strings(v, (*at, k))]
    return []
