"""Metrics: counters, gauges and timers, served in Prometheus' text format.

Upstream (Redpanda Connect's ``prometheus`` exporter) keeps every series in the Prometheus Go
client; timers are summaries with the 0.5/0.9/0.99 quantiles, or histograms of seconds with
``use_histogram_timing``. Here the series live in plain Python objects and a timer's quantiles
come from its last 1,024 observations instead of a streaming estimate. The process series
(CPU, memory, descriptors, start time) are read from ``/proc`` and ``getrusage``, so they are
only meaningful on Linux.

Metric mappings (``metrics.mapping`` at the root, a template's ``metrics_mapping``) work as
upstream's ``metrics.Mapping``: a Bloblang mapping runs once when a series is created, with the
metric name as ``this`` and the component's labels (``label``, ``path``, ``stream``) as metadata.
It may assign a new name to ``root``, add, change or delete labels through ``meta``, or drop the
metric with ``root = deleted()`` (the component then updates a detached series nobody serves).
A result that is not a string keeps the name and the labels; a failing mapping keeps the name
and loses the component's labels, as upstream. Labels a component gives a series itself (the
``metric`` processor's ``labels``, ``batch_created``'s ``mechanism``) are not shown to the mapping
and are added after it. A component built from a template runs the template's mapping first
(with ``$label`` set to the templated component's label), then the mappings of the templates
around it, then the root mapping.
"""

from __future__ import annotations

import math
import os
import re
import resource
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import mapping_lang
from pipeline.logs import Logger

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


class MetricsMapping:
    """A compiled metrics mapping with its static variables (upstream's ``metrics.Mapping``)."""

    __slots__ = ("mapping", "logger", "static_vars")

    def __init__(
        self,
        mapping: mapping_lang.Mapping,
        logger: Logger | None = None,
        static_vars: dict[str, Any] | None = None,
    ) -> None:
        self.mapping = mapping
        self.logger = logger
        self.static_vars = dict(static_vars or {})

    @classmethod
    def compile(cls, source: str, logger: Logger | None = None) -> MetricsMapping:
        """``mapping_lang.MappingError`` when the source does not parse."""
        return cls(mapping_lang.compile(source), logger)

    def with_static_vars(self, **variables: Any) -> MetricsMapping:
        return MetricsMapping(self.mapping, self.logger, {**self.static_vars, **variables})

    def map_name(self, name: str, labels: dict[str, str]) -> tuple[str, dict[str, str]] | None:
        """The new name and labels of a series, or None when the mapping drops it."""
        try:
            root, meta = self.mapping.map_value(name, labels, self.static_vars)
        except mapping_lang.MappingError as err:
            if self.logger is not None:
                self.logger.error(f"Failed to apply path mapping on '{name}': {err}")
            return name, {}
        if root is mapping_lang.DELETED:
            return None
        new_labels = {str(k): _label_text(v) for k, v in meta.items()}
        if root is mapping_lang.NOTHING:
            return name, new_labels
        if isinstance(root, str):
            return root, new_labels
        if self.logger is not None:
            self.logger.error(
                f"Path mapping returned invalid result, expected string, found {_go_type(root)}"
            )
        return name, labels


def _label_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return mapping_lang.format_json(value).decode()


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if value is None:
        return "<nil>"
    return type(value).__name__


class Metrics:
    """All series of one process, keyed by (name, sorted label pairs)."""

    def __init__(self, mapping: MetricsMapping | None = None, logger: Logger | None = None) -> None:
        self._types: dict[str, str] = {}
        self._label_names: dict[str, tuple[str, ...]] = {}
        self._series: dict[str, dict[tuple[tuple[str, str], ...], Any]] = {}
        self._lock = threading.Lock()
        # the root ``metrics.mapping``: runs after any template's own
        self.mappings: tuple[MetricsMapping, ...] = (mapping,) if mapping is not None else ()
        # (name, component labels, mappings) -> what the mappings made of them
        self._mapped: dict[Any, tuple[str, dict[str, str]] | None] = {}
        self.logger = logger
        self.process_metrics = False
        # use_histogram_timing: timers become histograms of seconds with these upper bounds
        self.histogram_buckets: list[float] | None = None
        # what /metrics serves: "prometheus" text, or "json" for the json_api exporter
        self.exposition = "prometheus"

    def _map(
        self, name: str, static: dict[str, str], mappings: tuple[MetricsMapping, ...]
    ) -> tuple[str, dict[str, str]] | None:
        chain = mappings + self.mappings
        if not chain:
            return name, static
        key = (name, tuple(sorted(static.items())), chain)
        if key in self._mapped:
            return self._mapped[key]
        result: tuple[str, dict[str, str]] | None = (name, static)
        for mapping in chain:
            assert result is not None
            result = mapping.map_name(*result)
            if result is None:
                break
        self._mapped[key] = result
        return result

    def series(
        self,
        kind: str,
        name: str,
        static: dict[str, str],
        labels: dict[str, str],
        mappings: tuple[MetricsMapping, ...] = (),
    ) -> Any:
        """The series of a ``counter``, ``gauge`` or ``timer``: ``static`` are the component's
        labels, which the mappings see and may change; ``labels`` are added after them."""
        mapped = self._map(name, static, mappings)
        buckets = self.histogram_buckets
        factory: Callable[[], Any] = {"counter": Counter, "gauge": Gauge}.get(kind) or (
            Timer if buckets is None else (lambda: Timer(buckets))
        )
        if mapped is None:
            return factory()  # dropped by a mapping: a detached series
        name, static = mapped
        return self._get(kind, name, {**static, **labels} if static else labels, factory)

    def _get(self, kind: str, name: str, labels: dict[str, str], factory: Callable[[], Any]) -> Any:
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
        return self.series("counter", name, {}, labels)  # type: ignore[no-any-return]

    def gauge(self, name: str, **labels: str) -> Gauge:
        return self.series("gauge", name, {}, labels)  # type: ignore[no-any-return]

    def timer(self, name: str, **labels: str) -> Timer:
        return self.series("timer", name, {}, labels)  # type: ignore[no-any-return]

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
