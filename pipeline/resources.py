"""What a component's constructor gets besides its config: ``Resources``.

``res.label`` and ``res.path`` name the component (``root.output.output``); ``res.logger`` and
``res.metrics`` carry them as the ``label``/``path`` log fields and metric labels; the ``build_*``
methods build nested components (a wrapper output builds its child with
``res.build_output(conf["output"], "output")``); ``res.cache(label)`` and
``res.rate_limit(label)`` reach shared resources; ``res.interpolation(text)`` and
``res.mapping(text)`` compile Bloblang.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mapping_lang
from mapping_lang.interpolation import Interpolation, compile_interpolation
from pipeline.logs import Logger
from pipeline.metrics import Counter, Gauge, Metrics, MetricsMapping, Timer

if TYPE_CHECKING:
    from pipeline.builder import InprocHub, Manager
    from pipeline.engine import InputStage, OutputStage, ProcessorStage
    from pipeline.http.server import HTTPServer
    from pipeline.leader import Leadership


class ComponentMetrics:
    """Metrics of one component: every series carries its ``label`` and ``path`` (and ``stream``
    in streams mode) besides the labels given; the metrics mappings of the templates the
    component was built from (innermost first) rename, relabel or drop them."""

    __slots__ = ("_metrics", "_base", "_mappings")

    def __init__(
        self, metrics: Metrics, base: dict[str, str], mappings: tuple[MetricsMapping, ...] = ()
    ) -> None:
        self._metrics = metrics
        self._base = base
        self._mappings = mappings

    def counter(self, name: str, **labels: str) -> Counter:
        return self._metrics.series("counter", name, self._base, labels, self._mappings)  # type: ignore[no-any-return]

    def gauge(self, name: str, **labels: str) -> Gauge:
        return self._metrics.series("gauge", name, self._base, labels, self._mappings)  # type: ignore[no-any-return]

    def timer(self, name: str, **labels: str) -> Timer:
        return self._metrics.series("timer", name, self._base, labels, self._mappings)  # type: ignore[no-any-return]

    @property
    def registry(self) -> Metrics:
        return self._metrics


class Resources:
    def __init__(self, manager: Manager, path: str, label: str = "", type_name: str = "") -> None:
        self.manager = manager
        self.path = path
        self.label = label
        self.type_name = type_name
        fields: dict[str, Any] = {"label": label, "path": path}
        base = {"label": label, "path": path}
        if manager.stream_name:
            fields["stream"] = manager.stream_name
            base["stream"] = manager.stream_name
        self.logger: Logger = manager.logger.with_fields(**fields)
        self.metrics = ComponentMetrics(manager.metrics, base, manager.metrics_mappings)

    # -- nested components ---------------------------------------------------------------------

    def child_path(self, *parts: Any) -> str:
        return ".".join([self.path, *(str(p) for p in parts)])

    def build_output(self, conf: Any, *path: Any) -> OutputStage:
        """Build a child output (with its batching, processors and max_in_flight)."""
        return self.manager.build_output(conf, self.child_path(*path))

    def build_processors(self, confs: list[Any], *path: Any) -> list[ProcessorStage]:
        return self.manager.build_processors(confs or [], self.child_path(*path))

    def build_processor(self, conf: Any, *path: Any) -> ProcessorStage:
        return self.manager.build_processor(conf, self.child_path(*path))

    def build_input(self, conf: Any, *path: Any) -> InputStage:
        return self.manager.build_input(conf, self.child_path(*path))

    # -- shared resources ----------------------------------------------------------------------

    def cache(self, label: str) -> Any:
        return self.manager.cache(label)

    def rate_limit(self, label: str) -> Any:
        return self.manager.rate_limit(label)

    def interpolation(self, text: str) -> Interpolation:
        """Compile a ``${! }`` interpolated string (a config error names the component path)."""
        return compile_interpolation(text)

    def mapping(self, text: str) -> mapping_lang.Mapping:
        return mapping_lang.compile(text)

    @property
    def http_server(self) -> HTTPServer | None:
        """The service-wide HTTP server (``http.address``), for inputs that share it."""
        return self.manager.http_server

    @property
    def leadership(self) -> Leadership:
        """The process's ``pipeline.leader.Leadership``: a scheduled input awaits ``lead()``
        before each scrape, so that only the elected replica scrapes."""
        return self.manager.leadership

    @property
    def inproc(self) -> InprocHub:
        return self.manager.inproc

    @property
    def strict(self) -> bool:
        return self.manager.strict
