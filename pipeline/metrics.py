"""Metrics: counters, gauges and timers, served in Prometheus' text format.

Upstream (Redpanda Connect's ``prometheus`` exporter) keeps every series in the Prometheus Go
client; timers are summaries with the 0.5/0.9/0.99 quantiles, or histograms of seconds with
``use_histogram_timing``. Here the series live in plain Python objects and a timer's quantiles
come from its last 1,024 observations instead of a streaming estimate. The process series
(CPU, memory, descriptors, start time) are read from ``/proc`` and ``getrusage``, so they are
only meaningful on Linux.

The ``json_api`` and ``logger`` exporters show the series as upstream's local registry holds
them: counters and gauges as whole numbers (Go's int64), timers as their p50/p90/p99 in
nanoseconds interpolated as go-metrics does, each keyed ``name{a="x",b="y"}``. Where we differ:
the percentiles come from the last 1,024 observations rather than go-metrics' decaying sample.

The exporters (``prometheus``, ``json_api``, ``logger``, ``none``) are declared here as specs of
kind ``metrics``: lint checks the ``metrics:`` block against them and ``benthic list`` shows
them. Upstream's ``add_go_metrics`` and non-default ``summary_quantiles_objectives`` are refused
at lint; ``statsd``, ``influxdb``, ``aws_cloudwatch`` and ``open_telemetry_collector`` are not
declared (lint says why, in ``pipeline/config/root.py``).

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

import orjson

import mapping_lang
import pipeline.spec as s
from mapping_lang.gofmt import go_type
from pipeline.logs import Logger
from pipeline.registry import REGISTRY

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

    def reset(self) -> None:
        self.value = 0.0


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

    def reset(self) -> None:
        self.value = 0.0


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

    def reset(self) -> None:
        self.samples.clear()
        self.count = 0
        self.total = 0.0
        self.bucket_counts = [0] * len(self.buckets) if self.buckets else []

    def percentiles(self, ps: tuple[float, ...]) -> list[float]:
        """Percentiles as upstream's local registry computes them (go-metrics: interpolated
        between the two nearest observations, 0 before the first)."""
        ordered = sorted(self.samples)
        size = len(ordered)
        scores = []
        for p in ps:
            if size == 0:
                scores.append(0.0)
                continue
            pos = p * (size + 1)
            if pos < 1.0:
                scores.append(float(ordered[0]))
            elif pos >= size:
                scores.append(float(ordered[-1]))
            else:
                lower, upper = float(ordered[int(pos) - 1]), float(ordered[int(pos)])
                scores.append(lower + (pos - math.floor(pos)) * (upper - lower))
        return scores

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
            self.logger.error(f"Path mapping returned invalid result, expected string, found {go_type(root)}")
        return name, labels


def _label_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return mapping_lang.format_json(value).decode()


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

    def local_series(self) -> list[tuple[str, dict[str, str], int | Timer]]:
        """Every series as upstream's local registry (``json_api``, ``logger``) holds it: name,
        labels, and a counter's or gauge's value as a whole number, or the timer."""
        with self._lock:
            snapshot = {n: dict(self._series[n]) for n in sorted(self._series)}
        out: list[tuple[str, dict[str, str], int | Timer]] = []
        for name, series in snapshot.items():
            for key in sorted(series):
                metric = series[key]
                if isinstance(metric, Timer):
                    out.append((name, dict(key), metric))
                else:
                    value = metric.value
                    # Go's int64 conversion: towards zero
                    out.append((name, dict(key), int(value) if math.isfinite(value) else 0))
        return out

    def json_snapshot(self) -> dict[str, Any]:
        """The ``json_api`` object: a counter or gauge is its whole-number value, a timer its
        ``p50``, ``p90`` and ``p99`` in nanoseconds (0 before the first observation)."""
        out: dict[str, Any] = {}
        for name, labels, value in self.local_series():
            path = labelled_path(name, labels)
            if isinstance(value, Timer):
                out[path] = dict(zip(("p50", "p90", "p99"), value.percentiles(_QUANTILES), strict=True))
            else:
                out[path] = value
        return out

    def json_body(self) -> bytes:
        """``json_snapshot`` encoded as Go's ``encoding/json`` does: keys sorted, ``<``, ``>``,
        ``&`` and the line/paragraph separators escaped."""
        body = orjson.dumps(self.json_snapshot(), option=orjson.OPT_SORT_KEYS)
        for raw, escaped in _GO_JSON_ESCAPES:
            body = body.replace(raw, escaped)
        return body

    def reset_flushed(self) -> None:
        """``flush_metrics``: counters, gauges and timers start again from zero (upstream's local
        registry keeps gauges with the counters and resets them too). The series objects the
        components hold are reset in place."""
        with self._lock:
            for series in self._series.values():
                for metric in series.values():
                    metric.reset()


_GO_JSON_ESCAPES = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def labelled_path(name: str, labels: dict[str, str]) -> str:
    """A series' name in upstream's local registry: ``name{a="x",b="y"}`` with the label names
    sorted and each value quoted as Go's ``strconv.QuoteToASCII`` quotes it."""
    if not labels:
        return name
    return name + "{" + ",".join(f"{k}={go_quote_ascii(v)}" for k, v in sorted(labels.items())) + "}"


_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote_ascii(text: str) -> str:
    """Go's ``strconv.QuoteToASCII``: a double-quoted literal with only printable ASCII inside."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code < 0xE000:
            out.append("\\ufffd")  # a lone surrogate is not valid UTF-8: Go sees U+FFFD
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


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


# -- the exporters' specs ------------------------------------------------------------------------------
# Each exporter's ctor configures the process's ``Metrics`` from its (defaults-filled) config and
# says whether the service serves ``/metrics``; pushing and logging are ``service.MetricsPublisher``'s.

# Prometheus client's default histogram buckets (seconds), as upstream uses when none are given
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# the summary quantiles benthic reports, with prometheus' default allowed errors
SUMMARY_OBJECTIVES = [
    {"quantile": 0.5, "error": 0.05},
    {"quantile": 0.9, "error": 0.01},
    {"quantile": 0.99, "error": 0.001},
]


def _prometheus_problems(conf: dict[str, Any]) -> list[str]:
    problems = []
    if conf["add_go_metrics"]:
        problems.append(
            "add_go_metrics: benthic is not a Go program and has no Go runtime metrics; use add_process_metrics"
        )
    if conf["summary_quantiles_objectives"] != SUMMARY_OBJECTIVES:
        problems.append(
            "summary_quantiles_objectives: benthic's summaries always report the 0.5, 0.9 and 0.99 "
            "quantiles (of the last 1,024 observations); leave this field out, or use "
            "use_histogram_timing with histogram_buckets"
        )
    return problems


def _prometheus(conf: dict[str, Any], metrics: Metrics) -> bool:
    metrics.process_metrics = conf["add_process_metrics"]
    if conf["use_histogram_timing"]:
        metrics.histogram_buckets = sorted(conf["histogram_buckets"]) or list(DEFAULT_BUCKETS)
    return True


def _json_api(conf: Any, metrics: Metrics) -> bool:
    metrics.exposition = "json"
    return True


def _unserved(conf: Any, metrics: Metrics) -> bool:
    return False


PROMETHEUS_SPEC = s.ComponentSpec(
    "prometheus",
    "metrics",
    [
        s.boolean(
            "use_histogram_timing",
            "Export timings as histograms of seconds instead of summaries.",
            default=False,
            advanced=True,
        ),
        s.Field(
            "histogram_buckets",
            "float",
            "list",
            default=[],
            description="Upper bounds (seconds) of the timing histograms; empty means Prometheus' defaults.",
            advanced=True,
        ),
        s.obj_list(
            "summary_quantiles_objectives",
            [
                s.number("quantile", "A quantile to report.", default=0.0),
                s.number("error", "The error allowed in estimating it.", default=0.0),
            ],
            "The quantiles of the timing summaries: only upstream's default set is supported.",
            default=SUMMARY_OBJECTIVES,
            advanced=True,
        ),
        s.boolean(
            "add_process_metrics", "Also export the process' CPU, memory and descriptors.", default=False
        ),
        s.boolean(
            "add_go_metrics", "Go runtime metrics: refused, benthic is not a Go program.", default=False
        ),
        s.string(
            "push_url", "A Prometheus Push Gateway to push the metrics to.", optional=True, advanced=True
        ),
        s.string("push_interval", "How often to push (and at shutdown).", optional=True, advanced=True),
        s.string("push_job_name", "The job the pushed metrics are filed under.", default="benthos_push"),
        s.obj(
            "push_basic_auth",
            [
                s.string("username", "Basic authentication user for the push gateway.", default=""),
                s.string("password", "Its password.", default="", secret=True),
            ],
            "Credentials for the push gateway.",
            advanced=True,
        ),
        s.string("file_output_path", "A file the metrics are written to at shutdown.", default=""),
    ],
    summary="Serves the metrics at `/metrics` and `/stats` for Prometheus to scrape.",
    lint=_prometheus_problems,
)
JSON_API_SPEC = s.ComponentSpec(
    "json_api", "metrics", summary="Serves the metrics as one JSON object at `/metrics` and `/stats`."
)
LOGGER_SPEC = s.ComponentSpec(
    "logger",
    "metrics",
    [
        s.string(
            "push_interval",
            "How often to log every metric (they are also logged at shutdown).",
            optional=True,
        ),
        s.boolean(
            "flush_metrics", "Reset counters and timings to zero each time they are logged.", default=False
        ),
    ],
    summary="Writes every metric to the log at shutdown, and on an interval if asked.",
    status="beta",
)
NONE_SPEC = s.ComponentSpec("none", "metrics", summary="Keeps no metrics anywhere.")

for _spec, _ctor in (
    (PROMETHEUS_SPEC, _prometheus),
    (JSON_API_SPEC, _json_api),
    (LOGGER_SPEC, _unserved),
    (NONE_SPEC, _unserved),
):
    REGISTRY.register(_spec, _ctor)
