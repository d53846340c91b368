"""Metadata and HTTP headers: filters (``include_prefixes``/``include_patterns``) that choose which
metadata keys become request or response headers, and Go's canonical header names; shared by
``http_client`` and ``http_server``.

Patterns are Go regular expressions, as upstream's: they run on RE2 (``mapping_lang.re2``), so
matching takes time linear in the key whatever the pattern, and a pattern Go would not compile is
a lint error.
"""

from __future__ import annotations

import re
from typing import Any

from mapping_lang.re2 import Re2Error, compile_re2, encode
from pipeline.spec import Field, obj, string_list

HTTP_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def canonical_header(name: str) -> str:
    """Go's ``CanonicalMIMEHeaderKey``: ``content-type`` → ``Content-Type`` (metadata keys
    become header names this way, and request headers become metadata keys)."""
    if not HTTP_TOKEN.match(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def regex_list_problem(patterns: list[str]) -> str | None:
    """Why one of ``patterns`` is not a valid Go (RE2) regular expression, or None."""
    for i, pattern in enumerate(patterns):
        try:
            compile_re2(pattern)
        except Re2Error as err:
            return f"pattern {i} failed to compile: {err}"
    return None


def metadata_filter_field(name: str, description: str, **kw: Any) -> Field:
    return obj(
        name,
        [
            string_list(
                "include_prefixes",
                "Metadata keys starting with any of these prefixes match.",
                default=[],
            ),
            string_list(
                "include_patterns",
                "Metadata keys matching any of these regular expressions (re2 syntax) match.",
                default=[],
                check=regex_list_problem,
            ),
        ],
        description,
        **kw,
    )


class MetadataFilter:
    """Which metadata keys (or response headers) to copy: by prefix or by regular expression."""

    def __init__(self, conf: dict[str, Any] | None) -> None:
        conf = conf or {}
        self.prefixes = list(conf.get("include_prefixes") or [])
        self.patterns = []
        for pattern in conf.get("include_patterns") or []:
            try:
                self.patterns.append(compile_re2(pattern))
            except Re2Error as err:
                raise ValueError(f"include_patterns: {err}") from None

    @property
    def is_set(self) -> bool:
        return bool(self.prefixes or self.patterns)

    def matches(self, key: str) -> bool:
        if any(key.startswith(p) for p in self.prefixes):
            return True
        if not self.patterns:
            return False
        data = encode(key)
        return any(p.search(data) is not None for p in self.patterns)
