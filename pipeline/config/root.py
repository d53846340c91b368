"""The root of a config: the service-wide blocks, and how components are found in the tree.

Upstream's root spec holds ``http``, ``logger``, ``metrics``, the pipeline sections and the
resource lists; a component's type is inferred from its single non-reserved key. We declare the
same fields with the same defaults. ``metrics`` and ``tracer`` are components like any other,
linted against the specs ``pipeline/metrics.py`` and ``pipeline/tracing.py`` declare; the
exporters and tracers we do not implement are refused (at lint) with a reason rather than
accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pipeline.spec as s
from pipeline.config.document import Lint
from pipeline.http.access import basic_auth_problems, cors_problems
from pipeline.registry import REGISTRY
from pipeline.spec import ComponentSpec, Field


def root_fields() -> list[Field]:
    return [
        s.obj(
            "http",
            [
                s.boolean("enabled", "Serve the service-wide HTTP endpoints.", default=True),
                s.string("address", "Host and port to listen on.", default="0.0.0.0:4195"),
                s.string("root_path", "Path prefix put in front of every endpoint.", default="/benthos"),
                s.boolean("debug_endpoints", "Also serve the debugging endpoints.", default=False),
                s.string("cert_file", "Certificate file; with `key_file`, serves HTTPS.", default=""),
                s.string("key_file", "Private key file; with `cert_file`, serves HTTPS.", default=""),
                s.obj(
                    "cors",
                    [
                        s.boolean("enabled", "Answer cross-origin (CORS) requests.", default=False),
                        s.string_list(
                            "allowed_origins",
                            "Origins allowed to make cross-origin requests.",
                            default=[],
                        ),
                        s.string_list(
                            "allowed_headers",
                            "Request headers cross-origin requests may carry; `*` allows any.",
                            default=[],
                        ),
                    ],
                    "Cross-Origin Resource Sharing headers on replies.",
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
            "The HTTP server shared by the whole service.",
        ),
        s.component("input", "input", default={"stdin": {}}),
        s.component("buffer", "buffer", default={"none": {}}),
        s.obj(
            "pipeline",
            [
                s.integer(
                    "threads",
                    "How many processing pipelines run side by side; -1 means one per CPU.",
                    default=-1,
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
        s.component("metrics", "metrics", default={"prometheus": {}, "mapping": ""}),
        s.component("tracer", "tracer", default={"none": {}}),
        s.string("shutdown_delay", default="0s"),
        s.string("shutdown_timeout", default="20s"),
        s.obj("error_handling", [s.boolean("strict", default=False)]),
        s.any_field("tests", optional=True),
    ]


def _root_lint(conf: dict[str, Any]) -> list[str]:
    """Rules of the service-wide blocks that a field type cannot express."""
    problems = basic_auth_problems(conf["http"]["basic_auth"]) + cors_problems(conf["http"]["cors"])
    tracer = conf.get("tracer")
    if isinstance(tracer, dict):
        for name in (k for k in tracer if k not in ("type", "plugin") and REGISTRY.get("tracer", k) is None):
            reason = UNSUPPORTED_TRACERS.get(name, "it is not a tracer benthic knows")
            problems.append(
                f"tracer: {name} is not supported by benthic, only none and open_telemetry_collector are ({reason})"
            )
    metrics = conf.get("metrics")
    if isinstance(metrics, dict):
        for name, reason in UNSUPPORTED_METRICS.items():
            if name in metrics:
                problems.append(
                    f"metrics.{name}: this exporter is not supported by benthic ({reason}); "
                    "use prometheus, json_api, logger or none"
                )
    return problems


# upstream's tracers and exporters that benthic refuses, and why
UNSUPPORTED_TRACERS = {
    "jaeger": "Jaeger accepts OTLP: use open_telemetry_collector",
    "gcp_cloudtrace": "it needs a Google Cloud client; send OTLP to a collector with open_telemetry_collector",
    "redpanda": "it needs a Redpanda client; use open_telemetry_collector",
}
UNSUPPORTED_METRICS = {
    "aws_cloudwatch": "it needs an AWS client",
    "influxdb": "it needs an InfluxDB client",
    "open_telemetry_collector": "it needs an OpenTelemetry exporter",
    "statsd": "no StatsD client is built in",
}

ROOT_SPEC = ComponentSpec("root", "root", root_fields(), lint=_root_lint)
# the root's resource lists, with the kind of component each holds
RESOURCE_SECTIONS = (
    ("input_resources", "input"),
    ("processor_resources", "processor"),
    ("output_resources", "output"),
    ("cache_resources", "cache"),
    ("rate_limit_resources", "rate_limit"),
)

RESERVED = {"type", "plugin", "label", "meta"}


def reserved_keys(kind: str) -> set[str]:
    """The keys of a component config beside its type's own (upstream's reserved fields): the
    service-wide kinds take no ``label``, a metrics block has its ``mapping``."""
    if kind == "metrics":
        return {"type", "plugin", "mapping"}
    if kind in ("tracer", "scanner"):
        return {"type", "plugin"}
    return RESERVED | ({"processors"} if kind in ("input", "output") else set())


def refused_type(kind: str, conf: Any) -> bool:
    """A metrics exporter or tracer benthic refuses with a reason of its own (``_root_lint``)."""
    refused = UNSUPPORTED_METRICS if kind == "metrics" else UNSUPPORTED_TRACERS if kind == "tracer" else {}
    return isinstance(conf, dict) and any(k in refused for k in conf)


def component_type(kind: str, conf: Any) -> tuple[str | None, str | None]:
    """(type name, error): the type of a component config, inferred as upstream does."""
    if not isinstance(conf, dict):
        return None, f"expected object value for {kind}"
    if "type" in conf:
        return str(conf["type"]), None
    if "resource" in conf:
        return "resource", None
    candidates = [k for k in conf if k not in reserved_keys(kind)]
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
