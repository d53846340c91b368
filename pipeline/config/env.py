"""Environment variables in a config: ``${VAR}`` interpolation on the raw text, and ``-e`` dotenv files.

Upstream replaces ``${VAR}``, ``${VAR:default}`` and ``${VAR|base64decode}`` in the bytes of the
file before YAML sees them (research/redpanda_runtime.md §1.3), and loads ``-e`` files with a
dotenv parser into the process environment. We do the same; a dotenv file that is not text, or
holds a line that is neither a comment nor ``KEY=value``, is an error naming its line, where
upstream's parser reports the first problem it meets.
"""

from __future__ import annotations

import base64
import binascii
import glob
import os
import re
from collections.abc import Mapping

from pipeline.errors import ConfigReadError

_ENV_PATTERN = re.compile(r"\$\{[0-9A-Za-z_.]+(?::(?:\$\{[^}]+\}|[^}])*)?(?:\|[0-9A-Za-z]+)?\}")
_ESCAPED_ENV_PATTERN = re.compile(r"\$\{(\{[0-9A-Za-z_.]+(?::(?:\$\{[^}]+\}|[^}])*)?(?:\|[0-9A-Za-z]+)?\})\}")
_ESCAPE_MARK = "\x00benthic-escaped\x00"


class EnvError(ValueError):
    pass


def interpolate_env(text: str, env: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """Replace ``${VAR}``, ``${VAR:default}`` and ``${VAR|base64decode}`` in raw config text.

    Returns the text and the names of variables that were unset and had no default (a lint).
    ``${{VAR}}`` escapes to a literal ``${VAR}``; newlines in values become ``\\n``; a bare
    ``$VAR`` is left alone.
    """
    environ = os.environ if env is None else env
    missing: list[str] = []
    escaped: list[str] = []

    def keep_escaped(match: re.Match[str]) -> str:
        escaped.append("$" + match.group(1))
        return f"{_ESCAPE_MARK}{len(escaped) - 1}{_ESCAPE_MARK}"

    text = _ESCAPED_ENV_PATTERN.sub(keep_escaped, text)

    def replace(match: re.Match[str]) -> str:
        inner = match.group(0)[2:-1]
        decoder = None
        # the decoder is whatever follows the last '|' (only when it looks like a name)
        bar = inner.rfind("|")
        if bar != -1 and re.fullmatch(r"[0-9A-Za-z]+", inner[bar + 1 :]):
            decoder = inner[bar + 1 :]
            inner = inner[:bar]
        name, has_default, default = inner.partition(":")
        value = environ.get(name)
        if value is None or (value == "" and has_default):
            if has_default:
                value = default
            else:
                missing.append(name)
                value = ""
        if decoder is not None:
            if decoder != "base64decode":
                raise EnvError(f"unknown env var decode function: {decoder}")
            try:
                value = base64.b64decode(value, validate=False).decode("utf-8", "replace")
            except (binascii.Error, ValueError) as err:
                raise EnvError(f"failed to decode base64-encoded env var: {err}") from None
        return value.replace("\r\n", "\\n").replace("\n", "\\n")

    text = _ENV_PATTERN.sub(replace, text)
    if escaped:
        text = re.sub(
            re.escape(_ESCAPE_MARK) + r"(\d+)" + re.escape(_ESCAPE_MARK),
            lambda m: escaped[int(m.group(1))],
            text,
        )
    return text, missing


_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def load_env_file(path: str) -> dict[str, str]:
    """Parse a dotenv file (``KEY=value``, quotes, ``export``, comments, CRLF).

    A file that is not UTF-8 text, or a line that is neither blank, a comment nor ``KEY=value``
    with a valid name, is a ``ConfigReadError`` at ``path(line,col)``.
    """
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        before = raw[: err.start].decode("utf-8", "replace")
        raise ConfigReadError(
            "env file is not valid UTF-8 text",
            path=path,
            line=before.count("\n") + 1,
            column=len(before) - (before.rfind("\n") + 1) + 1,
        ) from None
    values: dict[str, str] = {}
    for number, raw_line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        entry = raw_line.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry.startswith("export "):
            entry = entry[len("export ") :].strip()
        key, sep, value = entry.partition("=")
        key = key.strip()
        if not sep or not _ENV_KEY.fullmatch(key) or "\x00" in value:
            column = raw_line.find(entry[:1]) + 1
            raise ConfigReadError(
                "invalid line in env file: expected KEY=value with a name of letters, digits and underscores",
                path=path,
                line=number,
                column=max(column, 1),
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote = value[0]
            value = value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def load_env_files(patterns: list[str]) -> None:
    """``-e`` flags: every dotenv file matching each glob, loaded into the process environment."""
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) or [pattern]
        for path in matches:
            try:
                values = load_env_file(path)
            except OSError as err:
                raise ConfigReadError(f"failed to read env file {path}: {err.strerror}") from None
            for key, value in values.items():
                os.environ[key] = value
