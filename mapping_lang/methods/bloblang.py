"""The ``bloblang`` method: run a mapping given as text on a value.

Upstream parses the mapping argument with the same environment as the outer mapping; a literal
mapping is compiled once, when the outer mapping is compiled.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.compiled import StatementError
from mapping_lang.context import CallContext
from mapping_lang.errors import EvalError, MappingError
from mapping_lang.library import Param, method
from mapping_lang.mapping import compile as compile_mapping


def _prepare_bloblang(mapping: str) -> tuple[Any, ...]:
    try:
        return (compile_mapping(mapping),)
    except MappingError as e:
        raise EvalError(f"failed to parse mapping: {e}") from None


@method(
    "bloblang",
    category="Parsing",
    params=[Param("mapping", "string")],
    prepare=_prepare_bloblang,
)
def bloblang(ctx: Any, target: Any, mapping: Any) -> Any:
    if isinstance(mapping, str):
        mapping = _prepare_bloblang(mapping)[0]
    sub = CallContext(ctx.message, ctx.batch, ctx.index, {}, ctx.env, mapping.mapping_state, mapping._maps)
    sub.input_this = target
    try:
        for st in mapping._statements:
            st(sub, target)
    except StatementError as e:
        raise EvalError(e.message) from None
    return sub.root
