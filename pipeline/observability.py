"""Metrics (Prometheus text format), the logger (logfmt or JSON, as upstream's logrus), and the
service HTTP endpoints ``/ping``, ``/ready``, ``/version``, ``/endpoints``, ``/metrics``."""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

import orjson

from pipeline.http.server import HTTPServer, Request, Response
from pipeline.redact import SECRET_MASK, redact_text

VERSION = "0.1.0"
BUILT = "2026-11-27T00:00:00Z"

# -- metrics ----------------------------------------------------------------------------------------

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_HELP = {
    "counter": "Benthos Counter metric",
    "gauge": "Benthos Gauge metric",
    "timer": "Benthos Timing metric",
}
_QUANTILES = (0.5, 0.9, 0.99)


class Counter:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def incr(self, n: float = 1) -> None:
        self.value += n


class Gauge:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def set(self, v: float) -> None:
        self.value = v

    def incr(self, n: float = 1) -> None:
        self.value += n

    def decr(self, n: float = 1) -> None:
        self.value -= n


class Timer:
    """A summary over the last observations (nanoseconds), with 0.5/0.9/0.99 quantiles; or, with
    ``buckets`` (seconds), a histogram as ``use_histogram_timing`` asks."""

    __slots__ = ("samples", "count", "total", "buckets", "bucket_counts")

    def __init__(self, buckets: list[float] | None = None) -> None:
        self.samples: deque[float] = deque(maxlen=1024)
        self.count = 0
        self.total = 0.0
        self.buckets = buckets
        self.bucket_counts = [0] * len(buckets) if buckets else []

    def timing(self, ns: float) -> None:
        self.samples.append(ns)
        self.count += 1
        self.total += ns
        if self.buckets:
            seconds = ns / 1e9
            for i, bound in enumerate(self.buckets):
                if seconds <= bound:
                    self.bucket_counts[i] += 1
                    break

    def quantile(self, q: float) -> float:
        if not self.samples:
            return math.nan
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Metrics:
    """All series of one process, keyed by (name, sorted label pairs)."""

    def __init__(
        self, mapping: Callable[[str], str | None] | None = None, logger: Logger | None = None
    ) -> None:
        self._types: dict[str, str] = {}
        self._label_names: dict[str, tuple[str, ...]] = {}
        self._series: dict[str, dict[tuple[tuple[str, str], ...], Any]] = {}
        self._lock = threading.Lock()
        self.rename = mapping
        self.logger = logger
        self.process_metrics = False
        # use_histogram_timing: timers become histograms of seconds with these upper bounds
        self.histogram_buckets: list[float] | None = None
        # what /metrics serves: "prometheus" text, or "json" for the json_api exporter
        self.exposition = "prometheus"

    def _get(self, kind: str, name: str, labels: dict[str, str], factory: Callable[[], Any]) -> Any:
        if self.rename is not None:
            renamed = self.rename(name)
            if renamed is None:
                return factory()  # dropped by metrics.mapping: a detached series
            name = renamed
        if not _METRIC_NAME.match(name):
            if self.logger:
                self.logger.error(f"Invalid metric name: {name}")
            return factory()
        key = tuple(sorted(labels.items()))
        with self._lock:
            known = self._types.get(name)
            if known is None:
                self._types[name] = kind
                self._label_names[name] = tuple(k for k, _ in key)
                self._series[name] = {}
            elif known != kind or self._label_names[name] != tuple(k for k, _ in key):
                if self.logger:
                    self.logger.error(
                        f"Metric {name} re-registered with a different type or labels, skipping"
                    )
                return factory()
            series = self._series[name]
            metric = series.get(key)
            if metric is None:
                metric = series[key] = factory()
            return metric

    def counter(self, name: str, **labels: str) -> Counter:
        return self._get("counter", name, labels, Counter)  # type: ignore[no-any-return]

    def gauge(self, name: str, **labels: str) -> Gauge:
        return self._get("gauge", name, labels, Gauge)  # type: ignore[no-any-return]

    def timer(self, name: str, **labels: str) -> Timer:
        buckets = self.histogram_buckets
        factory = Timer if buckets is None else (lambda: Timer(buckets))
        return self._get("timer", name, labels, factory)  # type: ignore[no-any-return]

    def value(self, name: str, **labels: str) -> float | None:
        """The current value of one series (tests and the demo read it)."""
        series = self._series.get(name, {})
        metric = series.get(tuple(sorted(labels.items())))
        if metric is None:
            return None
        return metric.count if isinstance(metric, Timer) else metric.value

    def prometheus_text(self) -> str:
        lines: list[str] = []
        with self._lock:
            names = sorted(self._series)
            snapshot = {n: dict(self._series[n]) for n in names}
        for name in names:
            kind = self._types[name]
            prom_type = kind
            if kind == "timer":
                prom_type = "summary" if self.histogram_buckets is None else "histogram"
            lines.append(f"# HELP {name} {_HELP[kind]}")
            lines.append(f"# TYPE {name} {prom_type}")
            for key in sorted(snapshot[name]):
                metric = snapshot[name][key]
                if kind == "timer" and metric.buckets:
                    cumulative = 0
                    for bound, count in zip(metric.buckets, metric.bucket_counts, strict=True):
                        cumulative += count
                        lines.append(f"{name}_bucket{_labels(key, ('le', _num(bound)))} {cumulative}")
                    lines.append(f"{name}_bucket{_labels(key, ('le', '+Inf'))} {metric.count}")
                    lines.append(f"{name}_sum{_labels(key)} {_num(metric.total / 1e9)}")
                    lines.append(f"{name}_count{_labels(key)} {metric.count}")
                elif kind == "timer":
                    for q in _QUANTILES:
                        lines.append(f"{name}{_labels(key, ('quantile', str(q)))} {_num(metric.quantile(q))}")
                    lines.append(f"{name}_sum{_labels(key)} {_num(metric.total)}")
                    lines.append(f"{name}_count{_labels(key)} {metric.count}")
                else:
                    lines.append(f"{name}{_labels(key)} {_num(metric.value)}")
        if self.process_metrics:
            lines.extend(_process_metrics())
        return "\n".join(lines) + "\n"

    def json_snapshot(self) -> dict[str, Any]:
        """Every series as one JSON object (the ``json_api`` and ``logger`` exporters): a series
        with labels is named ``name{key="value",...}`` as upstream's local registry names it; a
        counter or gauge is its value, a timer its count, sum and quantiles in nanoseconds."""
        with self._lock:
            snapshot = {n: dict(self._series[n]) for n in sorted(self._series)}
        out: dict[str, Any] = {}
        for name, series in snapshot.items():
            for key in sorted(series):
                metric = series[key]
                path = name + ("{" + ",".join(f'{k}="{v}"' for k, v in key) + "}" if key else "")
                if isinstance(metric, Timer):
                    summary: dict[str, Any] = {"count": metric.count, "sum": metric.total}
                    for q in _QUANTILES:
                        value = metric.quantile(q)
                        summary[f"p{round(q * 100)}"] = None if math.isnan(value) else value
                    out[path] = summary
                else:
                    out[path] = metric.value
        return out

    def reset_flushed(self) -> None:
        """``flush_metrics``: counters and timers start again from zero (gauges keep their level)."""
        with self._lock:
            for name, series in self._series.items():
                if self._types[name] == "gauge":
                    continue
                for key, metric in series.items():
                    series[key] = Timer(metric.buckets) if isinstance(metric, Timer) else Counter()


def _labels(key: tuple[tuple[str, str], ...], extra: tuple[str, str] | None = None) -> str:
    pairs = list(key) + ([extra] if extra else [])
    if not pairs:
        return ""
    inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in pairs)
    return "{" + inner + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(v: float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if float(v).is_integer():
        return str(int(v))
    return repr(float(v))


_START = time.time()


def _process_metrics() -> list[str]:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = 0
    try:
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        pass
    fds = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    return [
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
        "# TYPE process_cpu_seconds_total counter",
        f"process_cpu_seconds_total {usage.ru_utime + usage.ru_stime}",
        "# HELP process_resident_memory_bytes Resident memory size in bytes.",
        "# TYPE process_resident_memory_bytes gauge",
        f"process_resident_memory_bytes {rss}",
        "# HELP process_open_fds Number of open file descriptors.",
        "# TYPE process_open_fds gauge",
        f"process_open_fds {fds}",
        "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
        "# TYPE process_start_time_seconds gauge",
        f"process_start_time_seconds {_START}",
    ]


# -- logger -----------------------------------------------------------------------------------------

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


# -- service HTTP endpoints -------------------------------------------------------------------------


class ServiceAPI:
    """``/ping``, ``/ready``, ``/version``, ``/endpoints``, ``/metrics`` (and ``/stats``), each also
    under ``root_path``. ``readiness`` returns the connection statuses of inputs and outputs."""

    def __init__(
        self,
        server: HTTPServer,
        metrics: Metrics,
        readiness: Callable[[], list[dict[str, Any]]],
        *,
        root_path: str = "/benthos",
        serve_metrics: bool = True,
        terminated: Callable[[], bool] = lambda: False,
    ) -> None:
        self.server = server
        self.metrics = metrics
        self.readiness = readiness
        self.terminated = terminated
        endpoints = {
            "/ping": (self._ping, "Ping me."),
            "/ready": (
                self._ready,
                "Returns 200 OK if all inputs and outputs are connected, otherwise a 503 is returned.",
            ),
            "/version": (self._version, "Returns the service version."),
            "/endpoints": (self._endpoints, "Returns this map of endpoints."),
        }
        if serve_metrics and metrics.exposition == "json":
            endpoints["/metrics"] = (self._metrics, "Returns the metrics as a JSON object.")
            endpoints["/stats"] = (self._metrics, "Returns the metrics as a JSON object.")
        elif serve_metrics:
            endpoints["/metrics"] = (self._metrics, "Returns the metrics in Prometheus text format.")
            endpoints["/stats"] = (self._metrics, "Returns the metrics in Prometheus text format.")
        self.descriptions = {path: desc for path, (_, desc) in endpoints.items()}
        for path, (handler, _) in endpoints.items():
            server.route(path, handler, ("GET",))
            if root_path:
                server.route(root_path.rstrip("/") + path, handler, ("GET",))

    async def _ping(self, _: Request) -> Response:
        return Response.text("pong")

    async def _ready(self, _: Request) -> Response:
        if self.terminated():
            return Response.json(orjson.dumps({"error": "stream terminated", "statuses": []}), 503)
        statuses = self.readiness()
        ready = bool(statuses) and all(s.get("connected") for s in statuses)
        body = orjson.dumps({"statuses": statuses})
        return Response.json(body, 200 if ready else 503)

    async def _version(self, _: Request) -> Response:
        return Response.json(f'{{"version":"{VERSION}", "built":"{BUILT}"}}'.encode())

    async def _endpoints(self, _: Request) -> Response:
        return Response.json(orjson.dumps(self.descriptions, option=orjson.OPT_SORT_KEYS))

    async def _metrics(self, _: Request) -> Response:
        if self.metrics.exposition == "json":
            return Response.json(orjson.dumps(self.metrics.json_snapshot()))
        return Response(
            200,
            self.metrics.prometheus_text().encode(),
            content_type="text/plain; version=0.0.4; charset=utf-8",
        )
