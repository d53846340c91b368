"""The state one compilation carries, shared by the compiler's parts.

``Compiler`` (``compiler.py``) is assembled from three parts, each a module: statements
(``statements.py``), expressions (``expressions.py``) and function and method calls
(``calls.py``). This base holds what they share and declares, for the type checker, the methods
each part calls in the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mapping_lang.compiled import (
    Compiled,
    Fn,
)
from mapping_lang.context import CallContext
from mapping_lang.errors import MappingError
from mapping_lang.parser import (
    Assign,
    Call,
    Lambda,
    MapDef,
    Program,
)


class CompileState:
    def __init__(self, *, base_dir: str | None = None, mapping_state: dict[Any, Any] | None = None) -> None:
        self.labels: list[str] = []
        self.uses_this = False
        # the calls that can run for long (``cost``): the mapping is bounded while this is empty
        self.unbounded_calls: set[str] = set()
        self.base_dir = base_dir
        self.mapping_state = mapping_state if mapping_state is not None else {}
        self.maps: dict[str, Any] = {}  # name -> list of statement fns (filled after compile)
        self.in_map = False
        # top-level assignments, for ``codegen.fuse``: statement fn -> (statement, value, store)
        # where ``store(ctx, v)`` does what the statement does with a value other than NOTHING
        # (None for ``let`` and ``root =``, which codegen writes inline)
        self.assignments: dict[Fn, tuple[Assign, Compiled, Callable[[CallContext, Any], None] | None]] = {}
        self._last: tuple[Compiled, Callable[[CallContext, Any], None] | None] | None = None

    # --- errors ----------------------------------------------------------------------------

    @staticmethod
    def error(msg: str, node: Any) -> MappingError:
        line = getattr(node, "line", 0) or 1
        col = getattr(node, "column", 0) or 1
        return MappingError(f"line {line} char {col}: {msg}", line, col)

    if TYPE_CHECKING:  # provided by the parts (statements, expressions, calls)

        def statement(self, st: Any, *, top: bool) -> Fn: ...

        def map_body(self, mdef: MapDef) -> list[Fn]: ...

        def program(self, prog: Program, imported: set[str] | None = None) -> list[Fn]: ...

        def expr(self, node: Any) -> Compiled: ...

        def lambda_body(self, node: Lambda) -> Compiled: ...

        def query_arg(self, node: Any) -> Callable[[CallContext, Any], Callable[[Any], Any]]: ...

        def function_call(self, node: Call) -> Compiled: ...

        def method_call(self, node: Call) -> Compiled: ...
