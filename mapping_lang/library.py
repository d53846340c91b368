"""The one registry of Bloblang functions and methods.

Built-in functions and methods register here exactly as plugins do. A registration names the
spec (category, parameters, description) and the Python implementation:

    @function("uuid_v4", category="General", impure=True)
    def uuid_v4(ctx: CallContext) -> Any: ...

    @method("uppercase", category="String Manipulation")
    def uppercase(ctx: CallContext, target: Any) -> Any: ...

    @method("replace_all", category="String Manipulation",
            params=[Param("old", "string"), Param("new", "string")])
    def replace_all(ctx: CallContext, target: Any, old: str, new: str) -> Any: ...

Arguments are bound by the compiler (positional or named, defaults filled, types checked and
coerced per ``Param.type``) before the implementation runs, so an implementation receives plain
Python values. A ``query`` parameter receives a callable ``fn(value) -> value`` that evaluates the
argument expression (or lambda) with that value as its context. Implementations signal failure by
raising ``mapping_lang.errors.EvalError`` with upstream's wording; the compiler adds the position.

When every argument is a literal, the compiler calls ``prepare`` (if given) once at compile time
with the bound arguments; its result replaces them, which is how regexes, layouts and schemas are
compiled once per mapping instead of once per message.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

REQUIRED: Any = object()  # sentinel: the parameter has no default

PARAM_TYPES = frozenset(
    {"any", "string", "int", "float", "number", "bool", "query", "object", "array", "timestamp"}
)


@dataclass(frozen=True)
class Param:
    name: str
    type: str = "any"
    default: Any = REQUIRED
    description: str = ""
    optional: bool = False  # may be omitted with no default: the implementation receives None

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {self.type!r} for {self.name!r}")


@dataclass
class Spec:
    name: str
    kind: str  # "function" | "method"
    impl: Callable[..., Any]
    category: str = "General"
    params: list[Param] = field(default_factory=list)
    description: str = ""
    impure: bool = False  # never constant-folded (random, time, environment, message access)
    prepare: Callable[..., tuple[Any, ...]] | None = None
    status: str = "stable"


FUNCTIONS: dict[str, Spec] = {}
METHODS: dict[str, Spec] = {}

_builtins_loaded = False


def load_builtins() -> None:
    """Register the built-in functions and methods (each module of ``mapping_lang.functions`` and
    ``mapping_lang.methods`` registers itself on import); later calls do nothing.

    The compiler calls it on its first lookup; a plugin's registration of a built-in's name wins
    whenever the built-in module is imported (see :func:`_register`). Code that reads ``FUNCTIONS`` or ``METHODS`` directly (listings,
    docs) calls it before reading. Loading is deferred because the library is most of
    ``mapping_lang``'s import time, and every process imports ``mapping_lang`` (durations) whether
    or not its config has a mapping.
    """
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for package in ("mapping_lang.functions", "mapping_lang.methods"):
        path = importlib.import_module(package).__path__
        for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
            importlib.import_module(f"{package}.{info.name}")


_BUILTIN_MODULES = ("mapping_lang.functions.", "mapping_lang.methods.")
# (kind, name) of registrations from outside the library: a built-in of the same name loaded later
# does not replace them
_REPLACED: set[tuple[str, str]] = set()


def _register(table: dict[str, Spec], spec: Spec) -> None:
    if getattr(spec.impl, "__module__", "").startswith(_BUILTIN_MODULES):
        if (spec.kind, spec.name) in _REPLACED:
            return
    else:
        _REPLACED.add((spec.kind, spec.name))
    table[spec.name] = spec


def is_builtin(kind: str, name: str) -> bool:
    """Whether the function (``kind`` "function") or method ``name`` is the library's own, not a
    plugin's registration of that name."""
    return (kind, name) not in _REPLACED


def function(
    name: str,
    *,
    category: str = "General",
    params: list[Param] | None = None,
    description: str = "",
    impure: bool = False,
    prepare: Callable[..., tuple[Any, ...]] | None = None,
    status: str = "stable",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a Bloblang function: ``impl(ctx, *args)``."""

    def wrap(impl: Callable[..., Any]) -> Callable[..., Any]:
        _register(
            FUNCTIONS,
            Spec(name, "function", impl, category, list(params or []), description, impure, prepare, status),
        )
        return impl

    return wrap


def method(
    name: str,
    *,
    category: str = "General",
    params: list[Param] | None = None,
    description: str = "",
    impure: bool = False,
    prepare: Callable[..., tuple[Any, ...]] | None = None,
    status: str = "stable",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a Bloblang method: ``impl(ctx, target, *args)``."""

    def wrap(impl: Callable[..., Any]) -> Callable[..., Any]:
        _register(
            METHODS,
            Spec(name, "method", impl, category, list(params or []), description, impure, prepare, status),
        )
        return impl

    return wrap
