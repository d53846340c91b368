"""The service logger: logfmt or JSON lines, with levels and field names as upstream's logrus.

Upstream writes through logrus with its ``logfmt`` or ``json`` formatter; the level names, the
quoting of values and the Go ``map[...]`` rendering of structured fields follow it. What differs:
every line passes through the secret masking of ``pipeline.redact`` and the running configs'
secret values before it is written, whatever component logged it.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

import orjson

from mapping_lang.value import format_float_g
from pipeline.redact import SECRET_MASK, redact_text

LEVELS = {
    "off": 0,
    "none": 0,
    "fatal": 1,
    "error": 2,
    "warn": 3,
    "warning": 3,
    "info": 4,
    "debug": 5,
    "trace": 6,
    "all": 6,
}
_LEVEL_NAMES = {1: "fatal", 2: "error", 3: "warning", 4: "info", 5: "debug", 6: "trace"}
_BARE = re.compile(r"^[A-Za-z0-9\-._/@^+]+$")


class LogSink:
    """Where log lines go, and how they look; shared by every ``Logger`` of a process."""

    def __init__(
        self,
        level: str = "INFO",
        fmt: str = "logfmt",
        add_timestamp: bool = True,
        static_fields: dict[str, Any] | None = None,
        stream: TextIO | None = None,
        level_name: str = "level",
        timestamp_name: str = "time",
        message_name: str = "msg",
        redact: Callable[[str], str] | None = None,
        secrets: list[str] | None = None,
    ) -> None:
        lvl = LEVELS.get(level.lower())
        if lvl is None:
            raise ValueError(f"invalid log level: {level}")
        self.level = lvl
        self.format = fmt
        self.add_timestamp = add_timestamp
        self.static_fields = {"@service": "benthic"} if static_fields is None else dict(static_fields)
        self.stream = stream or sys.stdout
        self.level_name = level_name
        self.timestamp_name = timestamp_name
        self.message_name = message_name
        self.redact = redact
        self.lock = threading.Lock()
        self._secrets: list[str] = []
        self.add_secrets(secrets or [])

    def add_secrets(self, secrets: list[str]) -> None:
        """Values masked wherever they appear in a line (the secrets of the configs running);
        streams mode adds those of each stream it creates."""
        merged = set(self._secrets) | {secret for secret in secrets if secret}
        self._secrets = sorted(merged, key=len, reverse=True)  # longest first: no partial masks

    def _mask(self, text: str) -> str:
        text = redact_text(text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, SECRET_MASK)
        return text if self.redact is None else self.redact(text)

    def emit(self, level: int, msg: str, fields: dict[str, Any]) -> None:
        if level > self.level:
            return
        # before quoting and escaping, so that what is hidden still matches as written
        msg = self._mask(msg)
        fields = {k: self._mask(v) if isinstance(v, str) else v for k, v in fields.items()}
        merged = {**self.static_fields, **fields}
        if self.format == "json":
            record: dict[str, Any] = dict(merged)
            if self.add_timestamp:
                record[self.timestamp_name] = _now_rfc3339()
            record[self.level_name] = _LEVEL_NAMES[level]
            record[self.message_name] = msg
            line = orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=str).decode()
        else:
            parts = []
            if self.add_timestamp:
                parts.append(f"{self.timestamp_name}={_logfmt_value(_now_rfc3339())}")
            parts.append(f"{self.level_name}={_LEVEL_NAMES[level]}")
            parts.append(f"{self.message_name}={_logfmt_value(msg)}")
            for key in sorted(merged):
                parts.append(f"{key}={_logfmt_value(merged[key])}")
            line = " ".join(parts)
        # URLs lose their credentials in every line, at every level, whatever logged them
        line = self._mask(line)
        with self.lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (ValueError, OSError):
                pass


def _now_rfc3339() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds").replace("+00:00", "Z")


def _logfmt_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = _go_map_repr(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = format_float_g(value)  # logrus prints a float64 field with %v: 5, not 5.0
    else:
        text = str(value)
    if text and _BARE.match(text):
        return text
    return (
        '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
    )


def _go_map_repr(value: Any) -> str:
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_map_repr(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_map_repr(v) for v in value) + "]"
    return str(value)


class Logger:
    """A logger bound to some fields (``label``, ``path``...)."""

    __slots__ = ("sink", "fields")

    def __init__(self, sink: LogSink, fields: dict[str, Any] | None = None) -> None:
        self.sink = sink
        self.fields = fields or {}

    def with_fields(self, **fields: Any) -> Logger:
        return Logger(self.sink, {**self.fields, **fields})

    def enabled(self, level: str) -> bool:
        return LEVELS[level.lower()] <= self.sink.level

    def log(self, level: str, msg: str, **fields: Any) -> None:
        lvl = LEVELS[level.lower()]
        if lvl <= self.sink.level and lvl > 0:
            self.sink.emit(lvl, msg, {**self.fields, **fields} if fields else self.fields)

    def trace(self, msg: str, **fields: Any) -> None:
        self.log("trace", msg, **fields)

    def debug(self, msg: str, **fields: Any) -> None:
        self.log("debug", msg, **fields)

    def info(self, msg: str, **fields: Any) -> None:
        self.log("info", msg, **fields)

    def warn(self, msg: str, **fields: Any) -> None:
        self.log("warn", msg, **fields)

    def error(self, msg: str, **fields: Any) -> None:
        self.log("error", msg, **fields)

    def fatal(self, msg: str, **fields: Any) -> None:
        self.log("fatal", msg, **fields)
