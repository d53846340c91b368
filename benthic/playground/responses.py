"""The body of a ``/execute`` answer, shared by the evaluator child and the server.

Upstream answers ``{"parse_error", "mapping_error", "result"}``, all three strings, always present;
we add the output's ``metadata``, ``deleted`` and the failure's ``error_position``.
"""

from __future__ import annotations

import json
from typing import Any


def response_body(
    *,
    parse_error: str = "",
    mapping_error: str = "",
    result: str = "",
    metadata: dict[str, Any] | None = None,
    deleted: bool = False,
    position: tuple[int, int, str] | None = None,
) -> bytes:
    """The ``/execute`` answer: upstream's three strings always present, then ours."""
    body: dict[str, Any] = {
        "parse_error": parse_error,
        "mapping_error": mapping_error,
        "result": result,
        "metadata": metadata,
        "deleted": deleted,
        "error_position": (
            None if position is None else {"line": position[0], "column": position[1], "kind": position[2]}
        ),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
