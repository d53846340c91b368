"""The ``metric`` processor: emits a custom metric for each message, passing the batch on unchanged.

The metric carries the processor's ``label`` and ``path`` labels besides its own ``labels``. A value
that is not a non-negative number is logged at ERROR and skipped; it never flags the message.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, enum, interp, string, string_map

TYPES = ("counter", "counter_by", "gauge", "timing")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

SPEC = ComponentSpec(
    "metric",
    "processor",
    summary="Records a metric of your own from each message that passes through.",
    description=(
        "For every message the interpolated `value` is rendered and the metric named `name` is updated "
        "as its `type` says. These metrics go out through the same `metrics` exporter as the engine's own, "
        "so its settings (where to send, which names to keep, renaming) apply to them too."
    ),
    categories=("Utility",),
    fields=[
        enum("type", TYPES, "Kind of metric to record."),
        string(
            "name",
            "Metric name. No other component may use the same name, or the two write over each other's values.",
            check=lambda v: None if v else "field 'name' must not be empty",
        ),
        string_map(
            "labels",
            "Labels attached to the metric, values interpolated per message. Exporters without labels merge the labelled series into one.",
            optional=True,
            interpolated=True,
            examples=({"type": '${! json("doc.type") }', "topic": '${! meta("kafka_topic") }'},),
        ),
        interp(
            "value",
            "The number to record for types that take one (the amount for counter_by, the reading for gauge and timing). Prometheus keeps fractions; exporters that only hold integers truncate them.",
            default="",
        ),
    ],
)


class MetricProcessor:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        if not conf["name"]:
            raise ValueError("field 'name' must not be empty")
        self.res = res
        self.type = conf["type"]
        self.name = conf["name"]
        self.labels = sorted(
            (key, res.interpolation(value)) for key, value in (conf.get("labels") or {}).items()
        )
        self.value = res.interpolation(conf["value"])
        self._static: Any = None if self.labels else self._series({})

    def _series(self, labels: dict[str, str]) -> Any:
        metrics = self.res.metrics
        if self.type in ("counter", "counter_by"):
            return metrics.counter(self.name, **labels)
        if self.type == "gauge":
            return metrics.gauge(self.name, **labels)
        return metrics.timer(self.name, **labels)

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if self.type == "counter" and self._static is not None:
            # one series, and a plain counter reads nothing from the messages: count them at once
            self._static.incr(len(batch))
            return [batch]
        for i, msg in enumerate(batch):
            try:
                self._record(msg, batch, i)
            except ValueError as err:
                self.res.logger.error(f"Handler error: {err}")
        return [batch]

    def _record(self, msg: Message, batch: list[Message], index: int) -> None:
        series = self._static
        if series is None:
            series = self._series({key: value.render(msg, batch, index) for key, value in self.labels})
        if self.type == "counter":
            series.incr(1)
            return
        text = self.value.render(msg, batch, index)
        if self.type == "timing":
            number: float = _non_negative(text, integer_only=True)
            series.timing(number)
        elif self.type == "gauge":
            series.set(_non_negative(text))
        else:
            series.incr(_non_negative(text))

    async def close(self) -> None:
        return None


def _non_negative(text: str, *, integer_only: bool = False) -> float:
    try:
        value: float = int(text)
    except ValueError:
        if integer_only:
            raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None
    if value < 0:
        raise ValueError(f"value {text} is negative")
    return value


register_processor(SPEC, MetricProcessor)

__all__ = ["SPEC", "MetricProcessor"]
