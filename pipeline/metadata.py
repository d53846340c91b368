"""Metadata and HTTP headers: filters (``include_prefixes``/``include_patterns``) that choose which
metadata keys become request or response headers, and Go's canonical header names; shared by
``http_client`` and ``http_server``."""

from __future__ import annotations

import re
from typing import Any

from pipeline.spec import Field, obj, string_list

HTTP_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def canonical_header(name: str) -> str:
    """Go's ``CanonicalMIMEHeaderKey``: ``content-type`` → ``Content-Type`` (metadata keys
    become header names this way, and request headers become metadata keys)."""
    if not HTTP_TOKEN.match(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


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
        self.patterns = [re.compile(p) for p in conf.get("include_patterns") or []]

    @property
    def is_set(self) -> bool:
        return bool(self.prefixes or self.patterns)

    def matches(self, key: str) -> bool:
        return any(key.startswith(p) for p in self.prefixes) or any(p.search(key) for p in self.patterns)
