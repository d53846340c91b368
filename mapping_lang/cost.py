"""Which mappings can run for long: the calls whose time is not bounded by their input.

Bloblang has no loop statement. Everything a mapping does without calling anything (paths,
literals, arithmetic, ``if`` and ``match``) costs at most the size of the mapping times the size of
the values it touches. Only calls can do more: ``range`` and ``repeat`` make values of any size,
``map_each``, ``fold`` and their kin run user code once per element, ``apply`` recurses through
named maps, regular expressions can backtrack, and ``file`` waits on a disk.

The calls listed here are the ones that cannot: each costs at most about the size of its target and
arguments. A mapping that calls nothing else is *bounded*: on a message the input has already
read (on the event loop, at a cost of the same order), it finishes in comparable time, so the
``mapping`` processor runs it on the event loop in time slices instead of paying a worker thread's
hand-over and GIL contention for every batch. Any other call (and every plugin) sends the mapping
to a worker thread, where minutes of computing cannot stop ``/ping`` or a shutdown.

The lists are deliberately short: a name missing here costs some speed, a name wrongly here could
freeze the service.
"""

from __future__ import annotations

from mapping_lang import library

BOUNDED_FUNCTIONS = frozenset(
    {
        "batch_index",
        "batch_size",
        "content",
        "count",
        "counter",
        "deleted",
        "env",
        "error",
        "error_source_label",
        "error_source_name",
        "error_source_path",
        "errored",
        "hostname",
        "json",
        "ksuid",
        "meta",
        "metadata",
        "nanoid",
        "nothing",
        "now",
        "pi",
        "random_int",
        "root_meta",
        "snowflake_id",
        "throw",
        "timestamp_unix",
        "timestamp_unix_micro",
        "timestamp_unix_milli",
        "timestamp_unix_nano",
        "tracing_id",
        "tracing_span",
        "ulid",
        "uuid_v4",
        "uuid_v7",
        "var",
    }
)

BOUNDED_METHODS = frozenset(
    {
        # conversions and numbers
        "abs",
        "bool",
        "ceil",
        "float32",
        "float64",
        "floor",
        "int8",
        "int16",
        "int32",
        "int64",
        "number",
        "round",
        "string",
        "type",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        # absent values and errors
        "catch",
        "exists",
        "not",
        "not_empty",
        "not_null",
        "or",
        # strings, each one pass over its input
        "capitalize",
        "contains",
        "escape_html",
        "escape_url_path",
        "escape_url_query",
        "has_prefix",
        "has_suffix",
        "index_of",
        "lowercase",
        "quote",
        "replace",
        "replace_all",
        "slice",
        "split",
        "trim",
        "trim_prefix",
        "trim_suffix",
        "unescape_html",
        "unescape_url_path",
        "unescape_url_query",
        "unquote",
        "uppercase",
        # objects and arrays, without user code per element
        "append",
        "concat",
        "get",
        "index",
        "join",
        "keys",
        "length",
        "merge",
        "values",
        "with",
        "without",
        # parsing and formatting (JSON is depth-limited)
        "format_json",
        "parse_duration",
        "parse_duration_iso8601",
        "parse_json",
        "parse_url",
        # timestamps
        "format_timestamp",
        "format_timestamp_unix",
        "format_timestamp_unix_micro",
        "format_timestamp_unix_milli",
        "format_timestamp_unix_nano",
        "parse_timestamp",
        "parse_timestamp_strptime",
        "timestamp",
        "ts_add_iso8601",
        "ts_format",
        "ts_parse",
        "ts_round",
        "ts_strftime",
        "ts_strptime",
        "ts_sub",
        "ts_sub_iso8601",
        "ts_tz",
        "ts_unix",
        "ts_unix_micro",
        "ts_unix_milli",
        "ts_unix_nano",
        "uuid_v5",
    }
)


def bounded_call(kind: str, name: str) -> bool:
    """Whether a call of the function (``kind`` "function") or method ``name`` is bounded: the
    library's own implementation of a name in the lists (a plugin's is never assumed to be)."""
    listed = BOUNDED_FUNCTIONS if kind == "function" else BOUNDED_METHODS
    return name in listed and library.is_builtin(kind, name)
