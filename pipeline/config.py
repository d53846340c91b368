"""Reading a config file as Redpanda Connect does, and linting it from the component specs.

Order (research/redpanda_runtime.md §1.3): bytes → environment interpolation on the raw text →
YAML with line marks → ``--set`` overrides → lint → defaults. Lint problems print as
``<file>(<line>,<col>) <message>``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from pipeline import spec as s
from pipeline.registry import REGISTRY
from pipeline.spec import ComponentSpec, ConfigValueError, Field

# -- environment interpolation ----------------------------------------------------------------------

_ENV_PATTERN = re.compile(r"\$\{[0-9A-Za-z_.]+(?::(?:\$\{[^}]+\}|[^}])*)?(?:\|[0-9A-Za-z]+)?\}")
_ESCAPED_ENV_PATTERN = re.compile(r"\$\{(\{[0-9A-Za-z_.]+(?::(?:\$\{[^}]+\}|[^}])*)?(?:\|[0-9A-Za-z]+)?\})\}")
_ESCAPE_MARK = "\x00benthic-escaped\x00"


class EnvError(ValueError):
    pass


def interpolate_env(text: str, env: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """Replace ``${VAR}``, ``${VAR:default}`` and ``${VAR|base64decode}`` in raw config text.

    Returns the text and the names of variables that were unset and had no default (a lint).
    ``${{VAR}}`` escapes to a literal ``${VAR}``; newlines in values become ``\\n``; a bare
    ``$VAR`` is left alone.
    """
    environ = os.environ if env is None else env
    missing: list[str] = []
    escaped: list[str] = []

    def keep_escaped(match: re.Match[str]) -> str:
        escaped.append("$" + match.group(1))
        return f"{_ESCAPE_MARK}{len(escaped) - 1}{_ESCAPE_MARK}"

    text = _ESCAPED_ENV_PATTERN.sub(keep_escaped, text)

    def replace(match: re.Match[str]) -> str:
        inner = match.group(0)[2:-1]
        decoder = None
        # the decoder is whatever follows the last '|' (only when it looks like a name)
        bar = inner.rfind("|")
        if bar != -1 and re.fullmatch(r"[0-9A-Za-z]+", inner[bar + 1 :]):
            decoder = inner[bar + 1 :]
            inner = inner[:bar]
        name, has_default, default = inner.partition(":")
        value = environ.get(name)
        if value is None or (value == "" and has_default):
            if has_default:
                value = default
            else:
                missing.append(name)
                value = ""
        if decoder is not None:
            if decoder != "base64decode":
                raise EnvError(f"unknown env var decode function: {decoder}")
            try:
                value = base64.b64decode(value, validate=False).decode("utf-8", "replace")
            except (binascii.Error, ValueError) as err:
                raise EnvError(f"failed to decode base64-encoded env var: {err}") from None
        return value.replace("\r\n", "\\n").replace("\n", "\\n")

    text = _ENV_PATTERN.sub(replace, text)
    if escaped:
        text = re.sub(
            re.escape(_ESCAPE_MARK) + r"(\d+)" + re.escape(_ESCAPE_MARK),
            lambda m: escaped[int(m.group(1))],
            text,
        )
    return text, missing


def load_env_file(path: str) -> dict[str, str]:
    """Parse a dotenv file (``KEY=value``, quotes, ``export``, comments, CRLF)."""
    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for raw in fh.read().replace("\r\n", "\n").split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[len("export ") :].strip()
            key, sep, value = line.partition("=")
            if not sep:
                continue
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                quote = value[0]
                value = value[1:-1]
                if quote == '"':
                    value = value.replace("\\n", "\n").replace('\\"', '"')
            elif " #" in value:
                value = value.split(" #", 1)[0].rstrip()
            values[key.strip()] = value
    return values


# -- YAML with line marks ---------------------------------------------------------------------------


@dataclass
class Lint:
    line: int
    column: int
    message: str
    level: str = "error"  # error | warning
    source: str | None = None  # the file, when not the main config (a -r resource file)

    def render(self, path: str) -> str:
        return f"{self.source or path}({self.line},{self.column}) {self.message}"


@dataclass
class LoadedConfig:
    path: str
    data: Any
    marks: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)
    lints: list[Lint] = field(default_factory=list)
    lint_disabled: bool = False

    @property
    def errors(self) -> list[Lint]:
        return [lint for lint in self.lints if lint.level == "error"]

    @property
    def warnings(self) -> list[Lint]:
        return [lint for lint in self.lints if lint.level == "warning"]

    def mark(self, path: tuple[Any, ...]) -> tuple[int, int]:
        """The (line, column) of a config path, falling back to its nearest known parent."""
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path[:-1]
        return self.marks.get((), (1, 1))


class ConfigReadError(Exception):
    """The file cannot be read or parsed (fatal, not a lint)."""


def parse_yaml(text: str, path: str = "<config>") -> tuple[Any, dict[tuple[Any, ...], tuple[int, int]]]:
    """Parse YAML text into plain values plus a map from config path to (line, column)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        data = loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigReadError(f"configuration file read error: {path}: yaml: {where}{problem}") from None
    finally:
        loader.dispose()
    marks: dict[tuple[Any, ...], tuple[int, int]] = {}

    def walk(n: yaml.Node, at: tuple[Any, ...], mark: tuple[int, int]) -> None:
        marks[at] = mark
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                key = key_node.value
                walk(value_node, (*at, key), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
        elif isinstance(n, yaml.SequenceNode):
            for index, item in enumerate(n.value):
                walk(item, (*at, index), (item.start_mark.line + 1, item.start_mark.column + 1))

    walk(node, (), (node.start_mark.line + 1, node.start_mark.column + 1))
    return data, marks


def apply_set(data: Any, assignment: str) -> Any:
    """Apply one ``--set path.to.field=value`` (value parsed as YAML)."""
    path, sep, raw = assignment.partition("=")
    if not sep:
        raise ConfigReadError(f"invalid set expression '{assignment}': expected path=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw  # not YAML on its own (e.g. "@every 1s"): the text itself
    if data is None:
        data = {}
    segments = path.strip().split(".")
    target = data
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if isinstance(target, list):
            try:
                position = int(segment)
            except ValueError:
                raise ConfigReadError(f"failed to set '{path}': '{segment}' is not an index") from None
            if last:
                if position == len(target):
                    target.append(value)
                else:
                    target[position] = value
            else:
                target = target[position]
        else:
            if last:
                target[segment] = value
            else:
                if not isinstance(target.get(segment), (dict, list)):
                    target[segment] = {}
                target = target[segment]
    return data


def read_config(
    path: str,
    *,
    env: Mapping[str, str] | None = None,
    overrides: list[str] | None = None,
    skip_env_check: bool = False,
    lint: bool = True,
    text: str | None = None,
) -> LoadedConfig:
    """Read, interpolate, parse, override and lint one config file."""
    if text is None:
        try:
            raw = Path(path).read_bytes()
        except OSError as err:
            raise ConfigReadError(f"configuration file read error: {err.strerror}: {path}") from None
        lints: list[Lint] = []
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            lints.append(Lint(1, 1, "config file contains invalid UTF-8"))
    else:
        lints = []
    lint_disabled = text.startswith("# BENTHOS LINT DISABLE")
    try:
        interpolated, missing = interpolate_env(text, env)
    except EnvError as err:
        raise ConfigReadError(f"configuration file read error: {path}: {err}") from None
    if missing and not skip_env_check:
        names = " ".join(sorted(set(missing), key=missing.index))
        lints.append(Lint(1, 1, f"required environment variables were not set: [{names}]"))
    data, marks = parse_yaml(interpolated, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigReadError(f"configuration file read error: {path}: expected a mapping at the top level")
    lints.extend(normalise_components(data, marks))
    for assignment in overrides or []:
        data = apply_set(data, assignment)
    loaded = LoadedConfig(path, data, marks, lints, lint_disabled)
    if lint and not lint_disabled:
        loaded.lints.extend(Linter(loaded).lint_root())
    return loaded


# -- the top-level spec -----------------------------------------------------------------------------


def root_fields() -> list[Field]:
    return [
        s.obj(
            "http",
            [
                s.boolean("enabled", "Whether to enable the HTTP server.", default=True),
                s.string("address", "The address to bind to.", default="0.0.0.0:4195"),
                s.string("root_path", "Specifies a general prefix for all endpoints.", default="/benthos"),
                s.boolean("debug_endpoints", "Whether to register debug endpoints.", default=False),
                s.string("cert_file", "An optional certificate file for enabling TLS.", default=""),
                s.string("key_file", "An optional key file for enabling TLS.", default=""),
                s.obj(
                    "cors",
                    [
                        s.boolean("enabled", "Whether to allow CORS requests.", default=False),
                        s.string_list(
                            "allowed_origins",
                            "An explicit list of origins that are allowed for CORS requests.",
                            default=[],
                        ),
                        s.string_list(
                            "allowed_headers",
                            "An explicit list of headers allowed in CORS requests. Specify `*` to allow any "
                            "requested header.",
                            default=[],
                        ),
                    ],
                    "Adds Cross-Origin Resource Sharing headers.",
                ),
                s.obj(
                    "basic_auth",
                    [
                        s.boolean("enabled", default=False),
                        s.string("realm", default="restricted"),
                        s.string("username", default=""),
                        s.string("password_hash", default="", secret=True),
                        s.enum("algorithm", ("md5", "sha256", "bcrypt", "scrypt"), default="sha256"),
                        s.string("salt", default="", secret=True),
                    ],
                ),
            ],
            "Configures the service-wide HTTP server.",
        ),
        s.component("input", "input", default={"stdin": {}}),
        s.component("buffer", "buffer", default={"none": {}}),
        s.obj(
            "pipeline",
            [
                s.integer(
                    "threads", "The number of threads to execute processing pipelines across.", default=-1
                ),
                s.component_list("processors", "processor", default=[]),
            ],
        ),
        s.component("output", "output", default={"stdout": {}}),
        s.component_list("input_resources", "input", default=[]),
        s.component_list("processor_resources", "processor", default=[]),
        s.component_list("output_resources", "output", default=[]),
        s.component_list("cache_resources", "cache", default=[]),
        s.component_list("rate_limit_resources", "rate_limit", default=[]),
        s.obj(
            "logger",
            [
                s.enum(
                    "level",
                    (
                        "OFF",
                        "FATAL",
                        "ERROR",
                        "WARN",
                        "INFO",
                        "DEBUG",
                        "TRACE",
                        "ALL",
                        "NONE",
                        "off",
                        "fatal",
                        "error",
                        "warn",
                        "info",
                        "debug",
                        "trace",
                        "all",
                        "none",
                    ),
                    default="INFO",
                ),
                s.enum("format", ("json", "logfmt"), default="logfmt"),
                s.boolean("add_timestamp", default=True),
                s.string("level_name", default="level"),
                s.string("timestamp_name", default="time"),
                s.string("message_name", default="msg"),
                s.string_map("static_fields", default={"@service": "benthic"}),
                s.obj(
                    "file",
                    [
                        s.string("path", default=""),
                        s.boolean("rotate", default=False),
                        s.integer("rotate_max_age_days", default=0),
                    ],
                ),
            ],
        ),
        s.any_field("metrics", default={"prometheus": {}, "mapping": ""}),
        s.any_field("tracer", default={"none": {}}),
        s.string("shutdown_delay", default="0s"),
        s.string("shutdown_timeout", default="20s"),
        s.obj("error_handling", [s.boolean("strict", default=False)]),
        s.any_field("tests", optional=True),
    ]


def _root_lint(conf: dict[str, Any]) -> list[str]:
    """Rules of the service-wide blocks that a field type cannot express."""
    from pipeline.http.access import basic_auth_problems, cors_problems

    problems = basic_auth_problems(conf["http"]["basic_auth"]) + cors_problems(conf["http"]["cors"])
    tracer = conf.get("tracer")
    if isinstance(tracer, dict) and any(k not in ("none", "type", "plugin") for k in tracer):
        names = ", ".join(k for k in tracer if k not in ("none", "type", "plugin"))
        problems.append(f"tracer: {names} is not supported by benthic, only none is")
    metrics = conf.get("metrics")
    if isinstance(metrics, dict):
        prometheus = metrics.get("prometheus")
        if isinstance(prometheus, dict) and prometheus.get("add_go_metrics"):
            problems.append(
                "metrics.prometheus.add_go_metrics: benthic is not a Go program and has no Go runtime "
                "metrics; use add_process_metrics"
            )
        for name in ("json_api", "logger"):
            if name in metrics:
                problems.append(
                    f"metrics.{name}: this exporter is not supported by benthic, use prometheus or none"
                )
    return problems


ROOT_SPEC = ComponentSpec("root", "root", root_fields(), lint=_root_lint)
# the root's resource lists, with the kind of component each holds
RESOURCE_SECTIONS = (
    ("input_resources", "input"),
    ("processor_resources", "processor"),
    ("output_resources", "output"),
    ("cache_resources", "cache"),
    ("rate_limit_resources", "rate_limit"),
)

METRICS_FIELDS = {
    "prometheus": [
        s.boolean("use_histogram_timing", default=False),
        Field("histogram_buckets", "float", "list", default=[]),
        s.boolean("add_process_metrics", default=False),
        s.boolean("add_go_metrics", default=False),
        s.string("push_url", optional=True),
        s.string("push_interval", optional=True),
        s.string("push_job_name", default="benthos_push"),
        s.obj(
            "push_basic_auth",
            [s.string("username", default=""), s.string("password", default="", secret=True)],
        ),
        s.string("file_output_path", default=""),
    ],
    "none": [],
    "json_api": [],
    "logger": [s.string("push_interval", optional=True), s.boolean("flush_metrics", default=False)],
}

RESERVED = {"type", "plugin", "label", "meta"}
LABEL_PATTERN = re.compile(r"^[a-z0-9_\-]+$")
_BARE_VAR = re.compile(r"(?<![\w$\\])\$([A-Za-z_][A-Za-z0-9_]*)")


def component_type(kind: str, conf: Any) -> tuple[str | None, str | None]:
    """(type name, error): the type of a component config, inferred as upstream does."""
    if not isinstance(conf, dict):
        return None, f"expected object value for {kind}"
    if "type" in conf:
        return str(conf["type"]), None
    if "resource" in conf:
        return "resource", None
    reserved = RESERVED | ({"processors"} if kind in ("input", "output") else set())
    candidates = [k for k in conf if k not in reserved]
    known = [k for k in candidates if REGISTRY.get(kind, k) is not None]
    if len(known) > 1:
        return None, f"unable to infer {kind} type, multiple candidates '{known[0]}' and '{known[1]}'"
    if len(known) == 1:
        return known[0], None
    return None, f"unable to infer {kind} type from candidates: [{' '.join(candidates)}]"


def hoist_sibling_child(kind: str, conf: Any) -> str | None:
    """Move a wrapper's child component written beside it into it; return the type moved into.

    Kong's documentation of the Run:ai collector (our seed) writes ``drop_on``'s child output
    as a sibling of ``drop_on`` instead of inside it::

        output:
          drop_on: {error: false, error_patterns: [Bad Request]}
          output: {http_client: {...}}

    Upstream rejects this (``field output is invalid when the component type is drop_on``), but
    the intent is unambiguous and users copy the documentation, so we accept it with a lint
    warning. Only a key that names a required component field the wrapper left unset moves.
    """
    if not isinstance(conf, dict):
        return None
    type_name, error = component_type(kind, conf)
    if error is not None or type_name in (None, "resource"):
        return None
    registration = REGISTRY.get(kind, type_name)
    if registration is None or registration.spec.root is not None:
        return None
    body_key = type_name if type_name in conf else "plugin"
    body = conf.get(body_key)
    for f in registration.spec.fields:
        if f.type not in s.COMPONENT_TYPES or f.kind != "scalar" or not f.required:
            continue
        if f.name in conf and f.name != type_name and (not isinstance(body, dict) or f.name not in body):
            if body is None:
                body = conf[body_key] = {}
            if not isinstance(body, dict):
                return None
            body[f.name] = conf.pop(f.name)
            return type_name
    return None


def iter_components(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], tuple[Any, ...]]]:
    """Every component of a config tree, parents before children: (kind, conf, path)."""
    yield from _components_in(ROOT_SPEC.fields, data, ())


def _components_in(
    fields: list[Field], body: Any, path: tuple[Any, ...]
) -> Iterator[tuple[str, dict[str, Any], tuple[Any, ...]]]:
    if not isinstance(body, dict):
        return
    for f in fields:
        value = body.get(f.name)
        if value is None:
            continue
        at = (*path, f.name)
        if f.type in s.COMPONENT_TYPES:
            if f.kind == "list" and isinstance(value, list):
                items: list[tuple[Any, tuple[Any, ...]]] = [(v, (*at, i)) for i, v in enumerate(value)]
            elif f.kind == "map" and isinstance(value, dict):
                items = [(v, (*at, k)) for k, v in value.items()]
            else:
                items = [(value, at)]
            for conf, conf_path in items:
                yield from _component_tree(f.type, conf, conf_path)
        elif f.type == "object" and f.children:
            if f.kind == "list" and isinstance(value, list):
                for i, item in enumerate(value):
                    yield from _components_in(f.children, item, (*at, i))
            elif f.kind == "scalar":
                yield from _components_in(f.children, value, at)
            elif f.kind == "map" and isinstance(value, dict):
                for key, item in value.items():
                    yield from _components_in(f.children, item, (*at, key))


def _component_tree(
    kind: str, conf: Any, path: tuple[Any, ...]
) -> Iterator[tuple[str, dict[str, Any], tuple[Any, ...]]]:
    if not isinstance(conf, dict):
        return
    yield kind, conf, path
    type_name, error = component_type(kind, conf)
    if error is not None or type_name is None:
        return
    registration = REGISTRY.get(kind, type_name) if type_name != "resource" else None
    if registration is not None and registration.spec.root is None:
        key = type_name if type_name in conf else "plugin"
        yield from _components_in(registration.spec.fields, conf.get(key), (*path, key))
    elif registration is not None and registration.spec.root is not None and type_name in conf:
        # a component whose config is one list or object of components (for_each, fallback...)
        yield from _components_in(
            [registration.spec.root], {registration.spec.root.name: conf[type_name]}, path
        )
    if kind in ("input", "output"):
        for i, proc in enumerate(conf.get("processors") or []):
            yield from _component_tree("processor", proc, (*path, "processors", i))


def normalise_components(data: dict[str, Any], marks: dict[tuple[Any, ...], tuple[int, int]]) -> list[Lint]:
    """Hoist children written beside their wrappers (see ``hoist_sibling_child``), before
    ``--set`` overrides apply, so that overrides address the component where it is read."""
    warnings: list[Lint] = []
    for kind, conf, path in iter_components(data):
        before = set(conf)
        wrapper = hoist_sibling_child(kind, conf)
        if wrapper is None:
            continue
        (moved,) = before - set(conf)
        old, new = (*path, moved), (*path, wrapper, moved)
        for key in [k for k in marks if k[: len(old)] == old]:
            marks[(*new, *key[len(old) :])] = marks[key]
        line, column = marks.get(new, (1, 1))
        warnings.append(
            Lint(
                line,
                column,
                f"field {moved} belongs inside {wrapper}: it is read as {wrapper}.{moved} "
                f"(Redpanda Connect would reject it written beside {wrapper})",
                "warning",
            )
        )
    return warnings


def component_body(kind: str, conf: dict[str, Any], type_name: str) -> Any:
    if type_name in conf:
        return conf[type_name]
    return conf.get("plugin")


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
        metrics = data.get("metrics")
        if isinstance(metrics, dict):
            self._lint_metrics(metrics)
        return self.lints

    def _lint_metrics(self, metrics: dict[str, Any]) -> None:
        for key, value in metrics.items():
            if key == "mapping":
                continue
            fields = METRICS_FIELDS.get(key)
            if fields is None:
                self.add(("metrics", key), f"field {key} not recognised")
                continue
            self._validate(ComponentSpec(key, "metrics", fields), value, ("metrics", key))

    def lint_component(self, kind: str, conf: Any, path: tuple[Any, ...]) -> None:
        if conf is None:
            return
        type_name, error = component_type(kind, conf)
        if error is not None or type_name is None:
            keys = [k for k in conf if k not in RESERVED] if isinstance(conf, dict) else []
            self.add((*path, keys[0]) if keys else path, error or f"unable to infer {kind} type")
            return
        label = conf.get("label")
        if label is not None:
            self._lint_label(str(label), (*path, "label"))
        if type_name == "resource":
            # an output resource may have processors of its own, as any output (the builder then
            # builds it as a ``resource`` output wrapped with them)
            allowed = ("resource", "label", *(("processors",) if kind == "output" else ()))
            extra = [k for k in conf if k not in allowed]
            for key in extra:
                self.add((*path, key), f"field {key} is invalid when the component type is resource ({kind})")
            if kind == "output":
                for i, proc in enumerate(conf.get("processors") or []):
                    self.lint_component("processor", proc, (*path, "processors", i))
            return
        registration = REGISTRY.get(kind, type_name)
        if registration is None:
            self.add(path, f"unable to infer {kind} type from candidates: [{type_name}]")
            return
        reserved = RESERVED | ({"processors"} if kind in ("input", "output") else set())
        for key in conf:
            if key not in reserved and key != type_name and not (key == "plugin" and "type" in conf):
                self.add(
                    (*path, key), f"field {key} is invalid when the component type is {type_name} ({kind})"
                )
        body_key = type_name if type_name in conf else "plugin"
        body = conf.get(body_key)
        body_path = (*path, body_key)
        self._validate(registration.spec, body, body_path)
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
        try:
            import mapping_lang
        except ImportError:
            return
        try:
            mapping_lang.compile(source)
        except mapping_lang.MappingError as err:
            self.add(at, f"failed to parse mapping: {err}")
        except Exception:
            return

    def _check_interpolation(self, text: str, at: tuple[Any, ...]) -> None:
        if "${!" not in text:
            return
        try:
            from mapping_lang import MappingError
            from mapping_lang.interpolation import compile_interpolation
        except ImportError:
            return
        try:
            compile_interpolation(text)
        except MappingError as err:
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
            missing = [r for r in err.validator_value if r not in (err.instance or {})]
            for name in missing:
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


# -- secrets ----------------------------------------------------------------------------------------


def scrub_secrets(data: Any) -> Any:
    """A copy of a config with every secret field's value replaced by a mask (for ``echo``)."""
    import copy

    out = copy.deepcopy(data)

    def visit_component(kind: str, conf: Any) -> None:
        if not isinstance(conf, dict):
            return
        type_name, error = component_type(kind, conf)
        if error or type_name in (None, "resource"):
            return
        registration = REGISTRY.get(kind, type_name)
        if registration is None:
            return
        key = type_name if type_name in conf else "plugin"
        body = conf.get(key)
        visit_fields(registration.spec.fields, body)
        if kind in ("input", "output"):
            for proc in conf.get("processors") or []:
                visit_component("processor", proc)

    def visit_fields(fields: list[Field], body: Any) -> None:
        if not isinstance(body, dict):
            return
        for f in fields:
            if f.name not in body:
                continue
            value = body[f.name]
            if f.secret and value not in (None, ""):
                body[f.name] = s.SECRET_MASK
            elif f.type in s.COMPONENT_TYPES:
                items = (
                    value
                    if f.kind == "list"
                    else (list(value.values()) if f.kind == "map" and isinstance(value, dict) else [value])
                )
                for item in items or []:
                    visit_component(f.type, item)
            elif f.type == "object" and f.children:
                if f.kind == "list":
                    for item in value or []:
                        visit_fields(f.children, item)
                else:
                    visit_fields(f.children, value)

    if isinstance(out, dict):
        for name in ("input", "buffer", "output"):
            if name in out:
                visit_component(name, out[name])
        for proc in (out.get("pipeline") or {}).get("processors") or []:
            visit_component("processor", proc)
        for key, kind in RESOURCE_SECTIONS:
            for res in out.get(key) or []:
                visit_component(kind, res)
        http = out.get("http")
        if isinstance(http, dict) and isinstance(http.get("basic_auth"), dict):
            for key in ("password_hash", "salt"):
                if http["basic_auth"].get(key):
                    http["basic_auth"][key] = s.SECRET_MASK
    return out


def secret_values(data: Any) -> list[str]:
    """Every secret value in a config (the logger redacts them wherever they appear)."""
    scrubbed = scrub_secrets(data)
    found: list[str] = []

    def diff(a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in a:
                diff(a[k], b.get(k))
        elif isinstance(a, list) and isinstance(b, list):
            for x, y in zip(a, b, strict=False):
                diff(x, y)
        elif b == s.SECRET_MASK and isinstance(a, (str, int, float)) and str(a):
            found.append(str(a))

    diff(data, scrubbed)
    return [v for v in found if len(v) >= 4]
