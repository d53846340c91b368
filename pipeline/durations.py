"""Go duration strings for config fields and metadata.

The parser and formatter live with the mapping language (``mapping_lang.durations``), the lowest
layer, because Bloblang's ``parse_duration`` needs them too; this module keeps the runtime's
import path.
"""

from mapping_lang.durations import (
    format_duration,
    format_duration_ns,
    parse_duration,
    parse_duration_ns,
)

__all__ = ["format_duration", "format_duration_ns", "parse_duration", "parse_duration_ns"]
