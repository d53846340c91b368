"""Language-level functions: markers, message access, batch info, environment and counters."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from mapping_lang.errors import EvalError
from mapping_lang.library import Param, function
from mapping_lang.limits import MAX_ARRAY_LENGTH
from mapping_lang.value import DELETED, INT64_MAX, NOTHING, to_text

_lock = threading.Lock()
_global_counts: dict[str, int] = {}


@function("deleted", category="General", description="Deletion marker.")
def deleted(ctx: Any) -> Any:
    return DELETED


@function("nothing", category="Hidden", status="hidden", description="The nothing marker.")
def nothing(ctx: Any) -> Any:
    return NOTHING


@function("throw", category="General", params=[Param("why", "string")], impure=True)
def throw(ctx: Any, why: str) -> Any:
    raise EvalError(why)


@function("var", category="Hidden", params=[Param("name", "string")], impure=True, status="hidden")
def var(ctx: Any, name: str) -> Any:  # the compiler handles var() itself
    if name not in ctx.vars:
        raise EvalError(f"variable '{name}' undefined")
    return ctx.vars[name]


def _meta_text(v: Any) -> Any:
    s = to_text(v)
    return s if s != "" else None


@function(
    "meta", category="Deprecated", params=[Param("key", "string", "")], impure=True, status="deprecated"
)
def meta(ctx: Any, key: str) -> Any:
    md = ctx.metadata_in
    if not key:
        return {k: to_text(v) for k, v in md.items()}
    if key not in md:
        return None
    return _meta_text(md[key])


@function(
    "root_meta", category="Deprecated", params=[Param("key", "string", "")], impure=True, status="deprecated"
)
def root_meta(ctx: Any, key: str) -> Any:
    md = ctx.metadata_out
    if not key:
        return {k: to_text(v) for k, v in md.items()}
    if key not in md:
        return None
    return _meta_text(md[key])


@function("metadata", category="Message Info", params=[Param("key", "string", "")], impure=True)
def metadata(ctx: Any, key: str) -> Any:
    md = ctx.metadata_in
    if not key:
        return dict(md)
    return md.get(key)


@function("content", category="Message Info", impure=True)
def content(ctx: Any) -> Any:
    return ctx.content()


@function("json", category="Message Info", params=[Param("path", "string", "")], impure=True)
def json_fn(ctx: Any, path: str) -> Any:
    doc = ctx.structured()
    if not path:
        return doc
    for seg in path.split("."):
        seg = seg.replace("~1", ".").replace("~0", "~")
        if type(doc) is dict:
            doc = doc.get(seg)
        elif type(doc) is list and seg.isdigit() and int(seg) < len(doc):
            doc = doc[int(seg)]
        else:
            return None
    return doc


@function("error", category="Message Info", impure=True)
def error(ctx: Any) -> Any:
    return ctx.error


@function("errored", category="Message Info", impure=True)
def errored(ctx: Any) -> Any:
    return ctx.error is not None


def _error_source(ctx: Any) -> Any:
    return None if ctx.error is None else ""


for _name in ("error_source_label", "error_source_name", "error_source_path"):
    function(_name, category="Message Info", impure=True)(_error_source)


@function("batch_index", category="Message Info", impure=True)
def batch_index(ctx: Any) -> Any:
    return ctx.index


@function("batch_size", category="Message Info", impure=True)
def batch_size(ctx: Any) -> Any:
    return len(ctx.batch)


def _message_span(ctx: Any) -> Any:
    """The tracing span the runtime keeps in a message's ``context`` under ``"trace"``: an object
    with ``text_map()`` and ``trace_id()`` (``pipeline/tracing.py``), found by duck typing since
    this package sits below the runtime."""
    context = getattr(ctx.message, "context", None)
    return context.get("trace") if isinstance(context, dict) else None


@function("tracing_id", category="Message Info", impure=True, status="experimental")
def tracing_id(ctx: Any) -> Any:
    span = _message_span(ctx)
    return span.trace_id() if span is not None else ""


@function("tracing_span", category="Message Info", impure=True, status="experimental")
def tracing_span(ctx: Any) -> Any:
    span = _message_span(ctx)
    return dict(span.text_map()) if span is not None else None


@function("count", category="Deprecated", params=[Param("name", "string")], impure=True, status="deprecated")
def count(ctx: Any, name: str) -> Any:
    with _lock:
        n = _global_counts.get(name, 0) + 1
        _global_counts[name] = n
    return n


@function(
    "counter",
    category="General",
    impure=True,
    status="experimental",
    params=[
        Param("min", "query", 1),
        Param("max", "query", INT64_MAX),
        Param("set", "query", optional=True),
    ],
)
def counter(ctx: Any, min: Any, max: Any, set: Any) -> Any:  # noqa: A002 - upstream names
    state = ctx.site_state
    lo = min(ctx.this) if callable(min) else min
    hi = max(ctx.this) if callable(max) else max
    for name, v in (("min", lo), ("max", hi)):
        if type(v) is not int:
            raise EvalError(f"expected {name} to be an integer, got {v!r}")
    if hi <= lo:
        raise EvalError(f"max ({hi}) must be greater than min ({lo})")
    with _lock:
        if set is not None:
            s = set(ctx.this)
            if s is DELETED:
                state.pop("value", None)
                return DELETED
            if s is None:  # peek at the current value
                cur = state.get("value")
                return lo if cur is None else cur
            if s is not NOTHING:
                if type(s) is not int:
                    raise EvalError(f"expected set value to be an integer, got {s!r}")
                state["value"] = s
                return s
        cur = state.get("value")
        if cur is None:
            cur = lo
        else:
            cur += 1
            if cur > hi:
                cur = lo
        state["value"] = cur
        return cur


@function(
    "env",
    category="Environment",
    params=[Param("name", "string"), Param("no_cache", "bool", False)],
    impure=True,
)
def env(ctx: Any, name: str, no_cache: bool) -> Any:
    return ctx.env.get(name)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise EvalError(f"failed to read file '{path}': {e.strerror or e}") from None


@function(
    "file",
    category="Environment",
    params=[Param("path", "string"), Param("no_cache", "bool", False)],
    impure=True,
)
def file(ctx: Any, path: str, no_cache: bool) -> Any:
    return _read(path)


@function(
    "file_rel",
    category="Environment",
    params=[Param("path", "string"), Param("no_cache", "bool", False)],
    impure=True,
)
def file_rel(ctx: Any, path: str, no_cache: bool) -> Any:
    if ctx.base_dir and not os.path.isabs(path):
        path = os.path.join(ctx.base_dir, path)
    return _read(path)


@function("hostname", category="Environment", impure=True)
def hostname(ctx: Any) -> Any:
    return socket.gethostname()


def _check_range(start: int, stop: int, step: int) -> tuple[Any, ...]:
    """Upstream's constructor checks: at parse time when the arguments are literals."""
    if step == 0:
        raise EvalError("step must be greater than or less than 0")
    if step > 0 and start >= stop:
        raise EvalError(f"with positive step arg start ({start}) must be < stop ({stop})")
    if step < 0 and stop > start:
        raise EvalError(f"with negative step arg stop ({stop}) must be <= start ({start})")
    return (start, stop, step)


@function(
    "range",
    category="General",
    params=[Param("start", "int"), Param("stop", "int"), Param("step", "int", 1)],
    prepare=_check_range,
)
def range_fn(ctx: Any, start: int, stop: int, step: int) -> Any:
    _check_range(start, stop, step)
    n = abs(stop - start) // abs(step)  # Go: (stop-start)/step, truncated
    if n > MAX_ARRAY_LENGTH:
        raise EvalError(f"range of {n} elements exceeds the limit of {MAX_ARRAY_LENGTH} elements")
    return [start + i * step for i in range(n)]
