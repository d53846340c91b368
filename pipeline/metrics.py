"""Metrics: counters, gauges and timers, served in Prometheus' text format.

Upstream (Redpanda Connect's ``prometheus`` exporter) keeps every series in the Prometheus Go
client; timers are summaries with the 0.5/0.9/0.99 quantiles, or histograms of seconds with
``use_histogram_timing``. Here the series live in plain Python objects and a timer's quantiles
come from its last 1,024 observations instead of a streaming estimate. The process series
(CPU, memory, descriptors, start time) are read from ``/proc`` and ``getrusage``, so they are
only meaningful on Linux.
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
