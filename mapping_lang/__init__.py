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
"""

from __future__ import annotations

import importlib
import pkgutil

from mapping_lang import functions as _functions_pkg
from mapping_lang import methods as _methods_pkg
from mapping_lang.context import CallContext
from mapping_lang.document import Document, MessageLike
from mapping_lang.errors import EvalError, MappingError
from mapping_lang.interpolation import Interpolation, compile_interpolation
from mapping_lang.mapping import Mapping, MappingResult, compile, compile_query
from mapping_lang.value import DELETED, NOTHING, format_json, parse_json

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


def _load_library() -> None:
    """Register the built-in functions and methods (each module registers itself on import)."""
    for pkg in (_functions_pkg, _methods_pkg):
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            importlib.import_module(f"{pkg.__name__}.{info.name}")


_load_library()
