"""Bloblang's AST compiled to Python closures.

Every expression becomes ``fn(ctx, this) -> value`` (``ctx`` is the per-execution
``CallContext``; ``this`` the current query context) and every statement ``fn(ctx, this) -> None``.
Nothing is re-parsed or walked per message: paths are pre-split, literals pre-built, pure method
calls on literals folded, and function and method arguments bound once at compile time.

The compiler is assembled from one module per concept:

* ``compiled.py``: the compiled-object types (``Compiled``, ``StatementError``, ``Unparsed``);
* ``operations.py``: the value operations the closures run (paths, operators);
* ``statements.py``, ``expressions.py``, ``calls.py``: the three parts of the compiler;
* ``codegen.py``: a mapping body (and object literals) as generated straight-line functions.
"""

from __future__ import annotations

from mapping_lang.calls import CallCompiler
from mapping_lang.expressions import ExpressionCompiler
from mapping_lang.statements import StatementCompiler


class Compiler(StatementCompiler, ExpressionCompiler, CallCompiler):
    """Compiles a parsed ``Program`` (``program``) or one expression (``expr``)."""
