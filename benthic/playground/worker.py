"""The playground's evaluator: one mapping run over one document, in a process of its own.

Upstream's ``blobl server`` runs every ``/execute`` request inside the server itself, so a mapping
that never ends (or builds a string of gigabytes) stalls the page for good. Here the server hands
each request to this module running as a child process (``python -m benthic.playground.worker``)
and kills it when it overruns its time; the child also caps its own address space.

Protocol: one JSON request per line on stdin (``{"mapping", "input", "metadata"}``), one JSON
response per line on stdout, in upstream's shape (``parse_error``, ``mapping_error``, ``result``)
plus our additions: the output's ``metadata``, ``deleted`` and the ``error_position`` of the
failure (1-based ``line``/``column``, and ``kind``: ``parse`` or ``mapping``).

The result follows upstream's server: a string or bytes root is shown as it is, a structured root
(and the input, when the mapping left ``root`` untouched) as Go's indented ``json.MarshalIndent``
text, and a deleted message as an empty result.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from benthic.playground.responses import response_body
from mapping_lang import MappingError, format_json, parse_json
from mapping_lang import compile as compile_mapping
from pipeline.message import Message

# the child's own limit on memory, so that a runaway mapping fails instead of swapping the machine
MEMORY_LIMIT_BYTES = 2 * 1024 * 1024 * 1024
# the page shows at most this much output; more is reported as an error
MAX_RESULT_BYTES = 4 * 1024 * 1024


def _go_indent(value: Any) -> str:
    # json.MarshalIndent escapes <, > and & (and U+2028/9); in JSON text those characters can only
    # sit inside strings, so replacing them in the text is exact
    text = format_json(value, pretty=True).decode("utf-8", "replace")
    # Go indents by two spaces where the engine's pretty form uses four; a JSON string cannot hold
    # a raw newline, so every line's leading spaces are indentation
    text = "\n".join(_halve_indent(line) for line in text.split("\n"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _halve_indent(line: str) -> str:
    stripped = line.lstrip(" ")
    return " " * ((len(line) - len(stripped)) // 2) + stripped


def _shown_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata as JSON for the page: bytes values as the text an output would write."""
    shown: dict[str, Any] = {}
    for key in sorted(metadata):
        value = metadata[key]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        shown[key] = value
    # numbers keep Go's text (big integers, float formatting) through the engine's codec
    return json.loads(format_json(shown))


def input_metadata(metadata: Any) -> dict[str, Any]:
    """The request's metadata object with the engine's values (Go-exact numbers)."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValueError("metadata must be a JSON object")
    parsed = parse_json(json.dumps(metadata).encode())
    assert isinstance(parsed, dict)
    return parsed


def execute(mapping_text: str, input_text: str, metadata: dict[str, Any]) -> bytes:
    """Run ``mapping_text`` over ``input_text`` with ``metadata``; the response body."""
    try:
        mapping = compile_mapping(mapping_text)
    except MappingError as err:
        position = (err.line, err.column or 1, "parse") if err.line else None
        return response_body(parse_error=f"failed to parse mapping: {err}\n", position=position)
    content = input_text.encode("utf-8", "surrogatepass")
    msg = Message(content, dict(metadata))
    try:
        out = mapping.map_message(msg)
    except MappingError as err:
        position = (err.line, err.column or 1, "mapping") if err.line else None
        return response_body(mapping_error=str(err), position=position)
    if out is None:
        return response_body(deleted=True)
    if out.has_structured():
        result = _go_indent(out.structured())
    elif out.content is content:
        # root was left alone: upstream shows the input, indented when it is JSON
        try:
            result = _go_indent(parse_json(content))
        except ValueError:
            result = content.decode("utf-8", "replace")
    else:
        result = out.content.decode("utf-8", "replace")
    if len(result) > MAX_RESULT_BYTES:
        return response_body(
            mapping_error=f"the output is {len(result)} characters, more than the playground shows "
            f"({MAX_RESULT_BYTES})"
        )
    return response_body(result=result, metadata=_shown_metadata(out.metadata))


def handle_line(line: bytes) -> bytes:
    """One request line to one response body; never raises."""
    try:
        request = json.loads(line)
        metadata = input_metadata(request.get("metadata"))
        return execute(str(request.get("mapping", "")), str(request.get("input", "")), metadata)
    except MemoryError:
        return response_body(
            mapping_error=f"the mapping ran out of memory (the playground allows {MEMORY_LIMIT_BYTES >> 20} MiB)"
        )
    except RecursionError:
        return response_body(mapping_error="the mapping nests too deeply to evaluate")
    except Exception as err:  # the page shows whatever went wrong instead of losing the worker
        return response_body(mapping_error=f"{type(err).__name__}: {err}")


def _limit_memory() -> None:
    try:
        import resource  # optional: Unix only
    except ImportError:
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ValueError, OSError):
        pass  # a lower hard limit is already in place


def main() -> int:
    # answers go to the original stdout; anything printed by library code goes to stderr
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    _limit_memory()
    replies.write(b"ready\n")
    replies.flush()
    for line in sys.stdin.buffer:
        replies.write(handle_line(line) + b"\n")
        replies.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
