"""Components by kind and name.

Built-in components and third-party plugins register the same way: a spec and a constructor.
Plugins are found through the entry-point group ``benthic.plugins``: each entry point names a
module (or a callable) that registers its components when loaded.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from pipeline.spec import ComponentSpec

# in the order upstream's ``list`` shows them
KINDS = ("input", "processor", "output", "cache", "rate_limit", "buffer", "metrics", "tracer", "scanner")


@dataclass
class Registration:
    spec: ComponentSpec
    ctor: Callable[..., Any]
    # outputs: fixed write concurrency when the spec has no max_in_flight field (0 = unbounded,
    # for wrappers such as drop_on and switch that pass their callers' concurrency through)
    max_in_flight: int = 1


class Registry:
    def __init__(self) -> None:
        self._components: dict[str, dict[str, Registration]] = {k: {} for k in KINDS}
        self._loaded = False

    def register(self, spec: ComponentSpec, ctor: Callable[..., Any], *, max_in_flight: int = 1) -> None:
        if spec.kind not in self._components:
            raise ValueError(f"unknown component kind {spec.kind!r}")
        self._components[spec.kind][spec.name] = Registration(spec, ctor, max_in_flight)

    def get(self, kind: str, name: str) -> Registration | None:
        self.load()
        return self._components[kind].get(name)

    def names(self, kind: str) -> list[str]:
        self.load()
        return sorted(self._components[kind])

    def all(self, kind: str) -> list[Registration]:
        self.load()
        return [self._components[kind][n] for n in sorted(self._components[kind])]

    def load(self) -> None:
        """Import the built-in component packages and every installed plugin (once)."""
        if self._loaded:
            return
        self._loaded = True
        for package in (
            "inputs",
            "processors",
            "outputs",
            "pipeline.buffers",
            "pipeline.caches",
            "pipeline.ratelimits",
        ):
            _import_package(package)
        # the metrics exporters and the tracers are the runtime's own: their modules register them
        importlib.import_module("pipeline.metrics")
        importlib.import_module("pipeline.tracing")
        for ep in entry_points(group="benthic.plugins"):
            loaded = ep.load()
            if callable(loaded) and not isinstance(loaded, type(importlib)):
                loaded()


def _import_package(name: str) -> None:
    try:
        package = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name == name:
            return
        raise
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{name}.{info.name}")


REGISTRY = Registry()
