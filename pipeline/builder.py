"""From a config tree to running parts: components by kind, resources, the stream.

The ``Manager`` is shared by the components of one stream (and, in streams mode, by every
stream of the process for the service-wide pieces: HTTP server, metrics, inproc, resources).
"""

from __future__ import annotations

import asyncio
import copy
import os
import sys
from typing import Any

import mapping_lang
from pipeline import spec as s
from pipeline.batching import BatchPolicy, policy_problems
from pipeline.config import RESOURCE_SECTIONS, component_body, component_type, hoist_sibling_child
from pipeline.config.templates import TemplateError
from pipeline.config.templates import expand as expand_template
from pipeline.durations import parse_duration_ns
from pipeline.engine import InputStage, OutputStage, ProcessorStage, Stream
from pipeline.errors import ConfigError
from pipeline.http.server import HTTPServer
from pipeline.leader import Leadership
from pipeline.logs import Logger, LogSink
from pipeline.metrics import Metrics, MetricsMapping
from pipeline.registry import REGISTRY
from pipeline.resources import Resources


class InprocHub:
    """Named in-process channels between streams (``inproc`` inputs and outputs)."""

    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[Any]] = {}

    def queue(self, name: str) -> asyncio.Queue[Any]:
        if name not in self._queues:
            self._queues[name] = asyncio.Queue(maxsize=1)
        return self._queues[name]


class Manager:
    def __init__(
        self,
        *,
        logger: Logger | None = None,
        metrics: Metrics | None = None,
        http_server: HTTPServer | None = None,
        strict: bool = False,
        stream_name: str = "",
        inproc: InprocHub | None = None,
        resources: dict[str, dict[str, Any]] | None = None,
        leadership: Leadership | None = None,
    ) -> None:

        self.logger = logger or Logger(LogSink(stream=sys.stderr))
        self.metrics = metrics or Metrics(logger=self.logger)
        self.http_server = http_server
        self.strict = strict
        self.stream_name = stream_name
        self.inproc = inproc or InprocHub()
        # whether scheduled inputs may run now (always, without leader election)
        self.leadership = leadership or Leadership()
        # resource configs by kind and label, and the built instances
        self._resource_confs: dict[str, dict[str, tuple[Any, str]]] = resources or {
            k: {} for k in ("input", "processor", "output", "cache", "rate_limit")
        }
        self._built: dict[tuple[str, str], Any] = {}
        # metrics mappings of the templates the components built here come from (innermost first)
        self.metrics_mappings: tuple[MetricsMapping, ...] = ()
        # resources are built outside any template: by the manager without mappings
        self._unmapped = self

    def with_metrics_mappings(self, mappings: list[MetricsMapping]) -> Manager:
        """A manager whose components' metrics also go through these template mappings (which
        run before the ones this manager already has), sharing everything else."""
        child = copy.copy(self)
        child.metrics_mappings = (*mappings, *self.metrics_mappings)
        return child

    def resources(self, path: str, label: str = "", type_name: str = "") -> Resources:
        return Resources(self, path, label, type_name)

    def for_stream(self, stream_name: str) -> Manager:
        """A manager for another stream of the same process (shares server, metrics, inproc, resources)."""
        child = Manager(
            logger=self.logger,
            metrics=self.metrics,
            http_server=self.http_server,
            strict=self.strict,
            stream_name=stream_name,
            inproc=self.inproc,
            resources=self._resource_confs,
            leadership=self.leadership,
        )
        child._built = self._built
        return child

    # -- resources ------------------------------------------------------------------------------

    def add_resources(self, data: dict[str, Any], source: str = "") -> None:
        for key, kind in RESOURCE_SECTIONS:
            for i, conf in enumerate(data.get(key) or []):
                label = (conf or {}).get("label")
                if not label:
                    raise ConfigError(f"{source}: {kind} resource {i} must have a label")
                self._resource_confs[kind][label] = (conf, f"root.{key}.{i}")

    def _resource(self, kind: str, label: str) -> Any:
        key = (kind, label)
        if key in self._built:
            return self._built[key]
        found = self._resource_confs[kind].get(label)
        if found is None:
            raise ConfigError(f"{kind} resource '{label}' was not found")
        conf, path = found
        instance: Any
        builder = self._unmapped
        if kind == "input":
            instance = builder.build_input(conf, path)
        elif kind == "processor":
            instance = builder.build_processor(conf, path)
        elif kind == "output":
            instance = builder.build_output(conf, path)
        else:  # cache, rate_limit
            instance = builder._build_plain(kind, conf, path)
        self._built[key] = instance
        return instance

    def has_resource(self, kind: str, label: str) -> bool:
        """Whether a resource of this kind has this label (``cache`` processors and outputs check
        before they use one, to fail with upstream's message)."""
        return label in self._resource_confs[kind]

    def cache(self, label: str) -> Any:
        return self._resource("cache", label)

    def rate_limit(self, label: str) -> Any:
        return self._resource("rate_limit", label)

    # -- components -----------------------------------------------------------------------------

    def _resolve(self, kind: str, conf: Any, path: str) -> tuple[Any, Any, Resources, str]:
        hoist_sibling_child(kind, conf)  # (already done by lint, unless lint was disabled)
        type_name, error = component_type(kind, conf)
        if error is not None or type_name is None:
            raise ConfigError(f"{path}: {error}")
        registration = REGISTRY.get(kind, type_name)
        if registration is None:
            raise ConfigError(f"{path}: unable to infer {kind} type from candidates: [{type_name}]")
        body = component_body(kind, conf, type_name)
        try:
            resolved = s.resolve(registration.spec, body)
        except s.ConfigValueError as err:
            where = ".".join(str(p) for p in err.path)
            raise ConfigError(f"{path}{'.' + where if where else ''}: {err.message}") from None
        if registration.spec.lint is not None:
            problems = registration.spec.lint(resolved)
            if problems:
                raise ConfigError(f"{path}: {problems[0]}")
        res = self.resources(path, str(conf.get("label") or ""), type_name)
        return registration, resolved, res, type_name

    def _expand(self, kind: str, conf: Any, path: str) -> tuple[Any, Manager]:
        """A templated component becomes the config its template generates
        (pipeline.config.templates), built by a manager that applies the template's metrics
        mapping (this one when there is none)."""
        try:
            conf, mappings = expand_template(kind, conf)
        except (TemplateError, s.ConfigValueError) as err:
            raise ConfigError(f"{path}: {getattr(err, 'message', err)}") from None
        return conf, (self.with_metrics_mappings(mappings) if mappings else self)

    def _construct(self, registration: Any, resolved: Any, res: Resources, path: str) -> Any:
        try:
            return registration.ctor(resolved, res)
        except ConfigError:
            raise
        except Exception as err:
            raise ConfigError(
                f"failed to create {registration.spec.kind} '{registration.spec.name}' at {path}: {err}"
            ) from err

    def _build_plain(self, kind: str, conf: Any, path: str) -> Any:
        conf, manager = self._expand(kind, conf, path)
        if manager is not self:
            return manager._build_plain(kind, conf, path)
        registration, resolved, res, _ = self._resolve(kind, conf, path)
        return self._construct(registration, resolved, res, path)

    def build_input(self, conf: Any, path: str) -> InputStage:
        conf, manager = self._expand("input", conf, path)
        if manager is not self:
            return manager.build_input(conf, path)
        # with processors of its own, a resource reference is built as a ``resource`` input
        if isinstance(conf, dict) and "resource" in conf and not conf.get("processors"):
            return self._resource("input", str(conf["resource"]))  # type: ignore[no-any-return]
        registration, resolved, res, type_name = self._resolve("input", conf, path)
        built = self._construct(registration, resolved, res, path)
        inp, auto_replay = built if isinstance(built, tuple) else (built, False)
        processors = self.build_processors(conf.get("processors") or [], f"{path}.processors")
        return InputStage(inp, res, type_name, auto_replay=auto_replay, processors=processors)

    def build_processor(self, conf: Any, path: str) -> ProcessorStage:
        conf, manager = self._expand("processor", conf, path)
        if manager is not self:
            return manager.build_processor(conf, path)
        if isinstance(conf, dict) and "resource" in conf:
            return self._resource("processor", str(conf["resource"]))  # type: ignore[no-any-return]
        registration, resolved, res, type_name = self._resolve("processor", conf, path)
        processor = self._construct(registration, resolved, res, path)
        return ProcessorStage(processor, res, type_name)

    def build_processors(self, confs: list[Any], path: str) -> list[ProcessorStage]:
        return [self.build_processor(conf, f"{path}.{i}") for i, conf in enumerate(confs or [])]

    def build_output(self, conf: Any, path: str) -> OutputStage:
        conf, manager = self._expand("output", conf, path)
        if manager is not self:
            return manager.build_output(conf, path)
        # with processors of its own, a resource reference is built as a ``resource`` output
        if isinstance(conf, dict) and "resource" in conf and not conf.get("processors"):
            return self._resource("output", str(conf["resource"]))  # type: ignore[no-any-return]
        registration, resolved, res, type_name = self._resolve("output", conf, path)
        out = self._construct(registration, resolved, res, path)
        policy = None
        if isinstance(resolved, dict) and isinstance(resolved.get("batching"), dict):
            policy = self.build_policy(resolved["batching"], f"{path}.batching", res)
        if (
            isinstance(resolved, dict)
            and "max_in_flight" in resolved
            and registration.spec.field_named("max_in_flight")
        ):
            max_in_flight = int(resolved["max_in_flight"])
        else:
            max_in_flight = registration.max_in_flight
        processors = self.build_processors(conf.get("processors") or [], f"{path}.processors")
        return OutputStage(
            out, res, type_name, max_in_flight=max_in_flight, policy=policy, processors=processors
        )

    def build_policy(self, conf: dict[str, Any], path: str, res: Resources | None = None) -> BatchPolicy:
        problems = policy_problems(conf)
        if problems:
            raise ConfigError(f"{path}: {problems[0]}")
        period = parse_duration_ns(conf["period"]) / 1e9 if conf.get("period") else None
        check = None
        if conf.get("check"):
            check = mapping_lang.compile(conf["check"])
        processors = self.build_processors(conf.get("processors") or [], f"{path}.processors")
        if (
            conf.get("check")
            and not (conf.get("count") or conf.get("byte_size") or period)
            and res is not None
        ):
            res.logger.warn(
                "Batch policy should have at least one of count, period or byte_size set in order to provide a hard batch ceiling."
            )
        return BatchPolicy(
            count=int(conf.get("count") or 0),
            byte_size=int(conf.get("byte_size") or 0),
            period=period,
            check=check,
            processors=processors,
        )

    def build_buffer(self, conf: Any, path: str) -> Any:
        if not conf:
            return None
        type_name, _ = component_type("buffer", conf)
        if type_name == "none":
            return None
        return self._build_plain("buffer", conf, path)

    # -- streams --------------------------------------------------------------------------------

    def build_stream(self, data: dict[str, Any]) -> Stream:
        """Build input → buffer → pipeline → output from a config tree (defaults applied here)."""
        self.add_resources(data)
        input_stage = self.build_input(data.get("input") or {"stdin": {}}, "root.input")
        buffer = self.build_buffer(data.get("buffer") or {"none": {}}, "root.buffer")
        pipeline = data.get("pipeline") or {}
        processors = self.build_processors(pipeline.get("processors") or [], "root.pipeline.processors")
        threads = int(pipeline.get("threads", -1) if pipeline.get("threads") is not None else -1)
        if threads <= 0:
            threads = os.cpu_count() or 1
        output_stage = self.build_output(data.get("output") or {"stdout": {}}, "root.output")
        timeout = parse_duration_ns(str(data.get("shutdown_timeout") or "20s")) / 1e9
        return Stream(
            self.resources("root"),
            input_stage,
            output_stage,
            processors=processors,
            buffer=buffer,
            threads=threads,
            shutdown_timeout=timeout,
        )
