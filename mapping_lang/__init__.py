"""Bloblang, the mapping language of Redpanda Connect, compiled to Python closures.

Public API::

    from mapping_lang import compile, MappingError

    m = compile('root.id = this.user.id\\nmeta topic = "users"')
    result = m.apply(b'{"user":{"id":7}}')
    result.content   # b'{"id":7}'
    result.metadata  # {'topic': 'users'}
    result.deleted   # False

* ``compile(source, *, path=None) -> Mapping``; ``Mapping.apply(content, metadata) -> MappingResult``.
* Message-level entry points used by processors: ``Mapping.map_message``, ``Mapping.mutate_message``,
  ``Mapping.query`` and ``Mapping.check``.
* ``compile_interpolation(text)`` for ``${! expr }`` strings, ``compile_query(expr)`` for a single
  expression.
* ``MappingError`` (``.line``/``.column``) is the one error type; ``EvalError`` is what function and
  method implementations raise. New functions and methods register with ``mapping_lang.library``.

Importing the package is cheap: every process imports it (``mapping_lang.durations``), most
configs have no mapping, and the compiler, the grammar and the function/method library take most
of a second to import on a small machine. The names above are loaded on first use (module
``__getattr__``), and the library is registered on the first compile
(:func:`mapping_lang.library.load_builtins`; code that lists ``FUNCTIONS``/``METHODS`` calls it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mapping_lang.context import CallContext
    from mapping_lang.document import Document, MessageLike
    from mapping_lang.errors import EvalError, MappingError
    from mapping_lang.interpolation import Interpolation, compile_interpolation
    from mapping_lang.mapping import Mapping, MappingResult, compile, compile_query
    from mapping_lang.value import DELETED, NOTHING, format_json, parse_json

# exported name -> the module that defines it
_EXPORTS = {
    "compile": "mapping_lang.mapping",
    "compile_query": "mapping_lang.mapping",
    "compile_interpolation": "mapping_lang.interpolation",
    "Mapping": "mapping_lang.mapping",
    "MappingResult": "mapping_lang.mapping",
    "MappingError": "mapping_lang.errors",
    "EvalError": "mapping_lang.errors",
    "CallContext": "mapping_lang.context",
    "DELETED": "mapping_lang.value",
    "NOTHING": "mapping_lang.value",
    "Document": "mapping_lang.document",
    "MessageLike": "mapping_lang.document",
    "Interpolation": "mapping_lang.interpolation",
    "parse_json": "mapping_lang.value",
    "format_json": "mapping_lang.value",
}

__all__ = [
    "compile",
    "compile_query",
    "compile_interpolation",
    "Mapping",
    "MappingResult",
    "MappingError",
    "EvalError",
    "CallContext",
    "DELETED",
    "NOTHING",
    "Document",
    "MessageLike",
    "Interpolation",
    "parse_json",
    "format_json",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mapping_lang' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
