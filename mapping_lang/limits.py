"""How much one Bloblang expression may build from a small input.

Upstream bounds none of these beyond Go's own limits: ``range()`` allocates its whole array when
the mapping is compiled (Go's ``make`` fails only past about 2^44 elements, long after memory ran
out), ``repeat()`` refuses only a length that overflows an int, and ``decompress()`` inflates
whatever the stream says. In a long-running stream processor one message's mapping must not take
the process's memory, so these results are capped here, with an error that names the limit;
``docs/compatibility.md`` lists them.
"""

from __future__ import annotations

MAX_ARRAY_LENGTH = 1_000_000
"""The most elements ``range()`` returns (about 40 MB of Python integers)."""

MAX_VALUE_BYTES = 128 * 1024 * 1024
"""The largest string or byte value ``repeat()``, padding or ``decompress()`` produces (128 MiB)."""


def value_too_large(what: str, size: int) -> str:
    return f"{what}: result of {size} bytes exceeds the limit of {MAX_VALUE_BYTES} bytes"
