"""What a mapping reads and writes, as paths: upstream's ``QueryTargets`` and
``AssignmentTargets``, which the ``workflow`` processor uses to order its branches.

A path is a tuple whose first element says where it points: ``("path", "a", "b")`` is the field
``a.b`` of the document (``this.a.b`` read, ``root.a.b`` written) and ``("metadata", "k")`` the
metadata key ``k`` (``@k``, ``metadata("k")`` read; ``meta k = ...`` written). Reading all of
``this`` gives ``("path",)``; ``metadata()`` with no key gives ``("metadata",)``.

Where we differ: inside a method's arguments ``this`` refers to the method's target, so such
paths are taken relative to the target's own path when that is a plain field path (upstream
follows every context); reads through lambda parameters and variables name no target.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mapping_lang.parser import Assign, Call, IfStmt, Lambda, MapDef, MetaRef, Path, parse

Target = tuple[str, ...]

_METADATA_FUNCTIONS = frozenset({"metadata", "meta", "root_meta"})


def query_targets(source: str) -> list[Target]:
    """Every document field and metadata key the mapping reads."""
    found: list[Target] = []
    for statement in parse(source).statements:
        _reads(statement, (), frozenset(), found)
    return found


def assignment_targets(source: str) -> list[Target]:
    """Every document field and metadata key the mapping assigns."""
    found: list[Target] = []
    _writes(parse(source).statements, found)
    return found


def _writes(statements: list[Any], found: list[Target]) -> None:
    for st in statements:
        if isinstance(st, Assign):
            if st.kind == "root":
                found.append(("path", *(st.path or [])))  # type: ignore[misc]
            elif st.kind == "meta":
                found.append(("metadata", st.path) if st.path else ("metadata",))  # type: ignore[arg-type]
        elif isinstance(st, IfStmt):
            for _, body in st.branches:
                _writes(body, found)
            if st.otherwise:
                _writes(st.otherwise, found)


def _this_path(node: Any, labels: frozenset[str]) -> tuple[str, ...] | None:
    if isinstance(node, Path) and node.base in ("this", "bare"):
        if node.base == "bare" and node.segments and node.segments[0] in labels:
            return None
        return tuple(node.segments)
    return None


def _reads(node: Any, context: tuple[str, ...], labels: frozenset[str], found: list[Target]) -> None:
    if node is None or isinstance(node, (str, int, float, bool, bytes)):
        return
    if isinstance(node, (list, tuple)):
        for item in node:
            _reads(item, context, labels, found)
        return
    if isinstance(node, MapDef):
        return  # a map's body is read where it is applied
    if isinstance(node, Path):
        own = _this_path(node, labels)
        if own is not None:
            found.append(("path", *context, *own))
        elif node.base == "expr":
            _reads(node.target, context, labels, found)
        return
    if isinstance(node, MetaRef):
        found.append(("metadata", node.key) if node.key else ("metadata",))
        return
    if isinstance(node, Lambda):
        _reads(node.body, context, labels | {node.name}, found)
        return
    if isinstance(node, Call):
        if node.target is None and node.name in _METADATA_FUNCTIONS:
            key = node.args[0].value if node.args and hasattr(node.args[0], "value") else None
            found.append(("metadata", str(key)) if isinstance(key, str) else ("metadata",))
        if node.target is not None:
            _reads(node.target, context, labels, found)
            inner = _this_path(node.target, labels)
            arg_context = (*context, *inner) if inner is not None else context
        else:
            arg_context = context
        _reads(node.args, arg_context, labels, found)
        if node.named:
            _reads(list(node.named.values()), arg_context, labels, found)
        return
    if isinstance(node, Assign) and node.kind == "let":
        _reads(node.value, context, labels, found)
        return
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            if f.name not in ("line", "column"):
                _reads(getattr(node, f.name), context, labels, found)
