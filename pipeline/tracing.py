"""Spans for the ``open_telemetry_collector`` tracer, and how a message carries its span.

Upstream (``internal/tracing`` of benthos, ``internal/impl/otlp/tracer_otlp.go`` of connect)
builds an OpenTelemetry tracer provider with one batching exporter per configured collector
(OTLP over HTTP or gRPC), a resource naming the service, and an optional ratio sampler. Each
message carries its span in its context:

- an input starts a span ``input_<type>`` per message when it is read (unless the message already
  has one, as an ``extract_tracing_map`` gives it) and ends it when the message is acknowledged;
- each processor runs a child span named after its type; a failure tags it ``error=true`` with an
  ``error`` event; the messages it emits carry the input's span again (processors are siblings);
- each output write runs a child span ``output_<type>``.
Propagation is W3C trace context (``traceparent``/``tracestate``), as upstream sets globally.

We keep the span in ``Message.context[TRACE_KEY]``. When no tracer is configured nothing is
wrapped: the engine's stages are built exactly as before, so the hot path pays nothing. Where we
differ: buffers start no spans of their own.

The tracers benthic has (``none``, ``open_telemetry_collector``) are declared as specs of kind
``tracer``: lint checks the ``tracer:`` block against them and ``benthic list`` shows them.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import pipeline.spec as s
from pipeline.message import Message
from pipeline.plugin import AckFn
from pipeline.registry import REGISTRY
from pipeline.version import VERSION

TRACE_KEY = "trace"
PIP_HINT = "pip install 'benthic[otel]'"
TRACER_NAME = "redpanda-connect"

_provider: Any = None  # the SDK's TracerProvider while a tracer is configured
_tracer: Any = None


def enabled() -> bool:
    return _tracer is not None


def otel_installed() -> bool:
    try:
        import opentelemetry.sdk.trace  # noqa: F401 (optional dependency: the otel extra)
    except ImportError:
        return False
    return True


# -- configuration ---------------------------------------------------------------------------------


def _collectors_field(name: str, default_address: str) -> s.Field:
    return s.obj_list(
        name,
        [
            s.string("address", "The collector's host and port.", optional=True, examples=(default_address,)),
            s.string("url", "The older name of `address`.", default=default_address, deprecated=True),
            s.boolean("secure", "Connect to the collector over TLS.", default=False),
        ],
        f"Collectors that receive the spans over OTLP/{name.upper()}.",
        default=[],
    )


def _ratio_check(ratio: Any) -> str | None:
    return None if 0 <= ratio <= 1 else "must be between 0 and 1"


def _otlp_problems(conf: dict[str, Any]) -> list[str]:
    if otel_installed():
        return []
    return [
        "tracer: open_telemetry_collector needs the Python package 'opentelemetry-sdk', "
        f"which is not installed: {PIP_HINT}"
    ]


OTLP_SPEC = s.ComponentSpec(
    "open_telemetry_collector",
    "tracer",
    [
        s.string("service", "The service name the spans are reported under.", default="benthos"),
        _collectors_field("http", "localhost:4318"),
        _collectors_field("grpc", "localhost:4317"),
        s.string_map("tags", "Attributes added to the resource of every span.", default={}, advanced=True),
        s.obj(
            "sampling",
            [
                s.boolean("enabled", "Sample a ratio of the traces instead of keeping all.", default=False),
                s.number(
                    "ratio", "The share of traces kept, from 0 to 1.", optional=True, check=_ratio_check
                ),
            ],
            "Keep only some of the traces (worth it at high volume).",
        ),
    ],
    summary="Sends spans to OpenTelemetry collectors over OTLP (HTTP or gRPC).",
    lint=_otlp_problems,
)
NONE_SPEC = s.ComponentSpec("none", "tracer", summary="Records no spans.")


def _install_otlp(conf: dict[str, Any]) -> bool:
    return start({"tracer": {"open_telemetry_collector": conf}})


REGISTRY.register(OTLP_SPEC, _install_otlp)
REGISTRY.register(NONE_SPEC, lambda conf: False)


def collectors(conf: dict[str, Any], kind: str) -> list[tuple[str, bool]]:
    """(address, secure) of each collector; ``url`` is the deprecated spelling of ``address``."""
    defaults = {"http": "localhost:4318", "grpc": "localhost:4317"}
    found = []
    for collector in conf.get(kind) or []:
        address = str(collector.get("address") or collector.get("url") or defaults[kind])
        found.append((address, bool(collector.get("secure", False))))
    return found


def start(data: dict[str, Any]) -> bool:
    """Install the tracer the root config names (``tracer``); returns whether one is active."""
    global _provider, _tracer
    tracer = data.get("tracer")
    if not isinstance(tracer, dict) or not isinstance(tracer.get("open_telemetry_collector"), dict):
        return False
    conf = tracer["open_telemetry_collector"]
    # optional dependency (the otel extra), imported only when a tracer is configured:
    from opentelemetry.sdk.resources import Resource  # (otel extra)
    from opentelemetry.sdk.trace import TracerProvider  # (otel extra)
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # (otel extra)
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased  # (otel extra)

    tags = {str(k): str(v) for k, v in (conf.get("tags") or {}).items()}
    attributes: dict[str, Any] = dict(tags)
    if "service.name" not in tags:
        attributes["service.name"] = str(conf.get("service") or "benthos")
        if "service.version" not in tags:
            attributes["service.version"] = VERSION
    kwargs: dict[str, Any] = {"resource": Resource(attributes)}
    sampling = conf.get("sampling") or {}
    if sampling.get("enabled"):
        kwargs["sampler"] = ParentBased(TraceIdRatioBased(float(sampling.get("ratio") or 0.0)))
    provider = TracerProvider(**kwargs)
    for address, secure in collectors(conf, "http"):
        # optional dependency: the otel extra
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPExporter

        scheme = "https" if secure else "http"
        endpoint = address if "://" in address else f"{scheme}://{address}"
        provider.add_span_processor(BatchSpanProcessor(HTTPExporter(endpoint=f"{endpoint}/v1/traces")))
    for address, secure in collectors(conf, "grpc"):
        # optional dependency: the otel extra
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCExporter

        target = address.split("://", 1)[-1]
        provider.add_span_processor(BatchSpanProcessor(GRPCExporter(endpoint=target, insecure=not secure)))
    _provider = provider
    _tracer = provider.get_tracer(TRACER_NAME)
    return True


def shutdown() -> None:
    """Flush the spans still queued and stop the exporters (blocking: run it in a thread)."""
    global _provider, _tracer
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.force_flush()
        provider.shutdown()


# -- the span a message carries ----------------------------------------------------------------------


class MessageSpan:
    """The span in a message's context. ``text_map()`` and ``trace_id()`` serve the Bloblang
    functions ``tracing_span()`` and ``tracing_id()``, which find this object by duck typing."""

    __slots__ = ("span",)

    def __init__(self, span: Any) -> None:
        self.span = span

    def context(self) -> Any:
        from opentelemetry import trace  # optional dependency (otel extra); a span exists only with it

        return trace.set_span_in_context(self.span)

    def text_map(self) -> dict[str, str]:
        # optional dependency: the otel extra (a span exists only with it)
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier, context=self.context())
        return carrier

    def trace_id(self) -> str:
        return format(self.span.get_span_context().trace_id, "032x")


def span_of(msg: Message) -> MessageSpan | None:
    context = msg.context
    return context.get(TRACE_KEY) if context else None


def _with_span(msg: Message, span: MessageSpan) -> dict[str, Any]:
    return {**(msg.context or {}), TRACE_KEY: span}


def _child(name: str, msg: Message) -> Any:
    parent = span_of(msg)
    return _tracer.start_span(name, context=parent.context() if parent is not None else None)


def extract(text_map: dict[str, Any], msg: Message, operation: str) -> None:
    """Give ``msg`` a span ``operation`` whose parent is the one a W3C text map describes (an
    input's ``extract_tracing_map``). Without a tracer the remote span itself is carried on, so
    that an ``inject_tracing_map`` downstream still propagates it, as upstream's no-op tracer does."""
    from opentelemetry import trace  # optional dependency (otel extra): lint requires it here
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {str(k).lower(): v for k, v in text_map.items() if isinstance(v, str)}
    parent = TraceContextTextMapPropagator().extract(carrier)
    if _tracer is not None:
        span = _tracer.start_span(operation, context=parent)
    else:
        span = trace.get_current_span(parent)
    msg.context = _with_span(msg, MessageSpan(span))


# -- extract_tracing_map / inject_tracing_map (the nats components) ------------------------------------


def extract_tracing_map_field() -> s.Field:
    return s.bloblang(
        "extract_tracing_map",
        "EXPERIMENTAL: a mapping that picks, from each message read, an object of W3C trace context "
        "fields (traceparent, tracestate); the span it names becomes the parent of the message's span.",
        optional=True,
        advanced=True,
        examples=("root = @", "root = this.meta.span"),
    )


def inject_tracing_map_field() -> s.Field:
    return s.bloblang(
        "inject_tracing_map",
        "EXPERIMENTAL: a mapping run with the message's W3C trace context fields (traceparent, "
        "tracestate) as its input, changing the outgoing message, so that the receiver can continue "
        "the trace.",
        optional=True,
        advanced=True,
        examples=("meta = @.merge(this)", "root.meta.span = this"),
    )


def tracing_map_problems(conf: dict[str, Any]) -> list[str]:
    """Lint: the tracing map fields need the W3C propagator of the otel extra."""
    return [
        f"{name}: needs the Python package 'opentelemetry-api', which is not installed: {PIP_HINT}"
        for name in ("extract_tracing_map", "inject_tracing_map")
        if conf.get(name) and not otel_installed()
    ]


class TracingMapExtractor:
    """``extract_tracing_map``: as upstream, the mapping runs on the batch's first message and the
    trace context it yields parents the ``input_<type>`` span of every message of the batch. A
    mapping that fails, or yields something other than an object, is logged and the batch goes on
    untraced."""

    def __init__(self, source: str, res: Any, input_type: str) -> None:
        self.mapping = res.mapping(source)
        self.logger = res.logger
        self.operation = f"input_{input_type}"

    def apply(self, batch: list[Message]) -> None:
        if not batch:
            return
        try:
            text_map = self.mapping.query(batch[0], batch, 0)
            if not isinstance(text_map, dict):
                raise ValueError(f"expected an object, got: {type(text_map).__name__}")
        except Exception as err:
            self.logger.error(f"Mapping failed for tracing span: {err}")
            return
        for msg in batch:
            extract(text_map, msg, self.operation)


class TracingMapInjector:
    """``inject_tracing_map``: the mapping reads the message's trace context fields as ``this``
    and changes the message itself (``root`` and ``@`` start as the message's). A failure is
    logged and the message goes out unchanged, as upstream does."""

    def __init__(self, source: str, res: Any) -> None:
        self.mapping = res.mapping(source)
        self.logger = res.logger

    def apply(self, msg: Message) -> Message:
        span = span_of(msg)
        carrier = Message.from_structured(span.text_map() if span is not None else {})
        try:
            injected = self.mapping.map_onto(msg, [carrier], 0)
        except Exception as err:
            self.logger.warn(f"Failed to inject span: {err}")
            return msg
        return injected if injected is not None else msg


# -- the engine's hooks ---------------------------------------------------------------------------------


def _mark_error(span: Any, text: str) -> None:
    span.set_attribute("error", "true")
    span.add_event("error", {"event": "error", "type": text})


class TracedInput:
    """An input whose messages get an ``input_<type>`` span, ended by their ack."""

    def __init__(self, inp: Any, type_name: str) -> None:
        self._inp = inp
        self._name = f"input_{type_name}"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inp, name)

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        batch, ack = await self._inp.read_batch()
        spans = []
        for msg in batch:
            current = span_of(msg)
            if current is None or not current.span.is_recording():
                current = MessageSpan(_child(self._name, msg))
                msg.context = _with_span(msg, current)
            spans.append(current.span)

        async def finish(err: BaseException | None) -> None:
            for span in spans:
                span.end()
            await ack(err)

        return batch, finish


class TracedProcessor:
    """A processor whose run over each message is a child span named after its type."""

    def __init__(self, processor: Any, type_name: str) -> None:
        self._processor = processor
        self._name = type_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._processor, name)

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        originals = [msg.context for msg in batch]
        errors = [msg.error for msg in batch]
        spans = []
        for msg in batch:
            span = _child(self._name, msg)
            spans.append(span)
            msg.context = _with_span(msg, MessageSpan(span))
        try:
            result: list[list[Message]] = await self._processor.process(batch)
        except Exception as err:
            for span in spans:
                _mark_error(span, str(err))
                span.end()
            for msg, context in zip(batch, originals, strict=True):
                msg.context = context
            raise
        for out in result:
            for i, msg in enumerate(out):
                at = i if i < len(originals) else 0
                if i < len(spans) and msg.error is not None and msg.error != errors[i]:
                    _mark_error(spans[i], msg.error)
                msg.context = originals[at] if originals else msg.context
        for span in spans:
            span.end()
        return result


class TracedOutput:
    """An output whose writes run under ``output_<type>`` child spans."""

    def __init__(self, out: Any, type_name: str) -> None:
        self._out = out
        self._name = f"output_{type_name}"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)

    async def write_batch(self, batch: list[Message]) -> None:
        spans = [_child(self._name, msg) for msg in batch]
        try:
            await self._out.write_batch(batch)
        finally:
            for span in spans:
                span.end()


Component = TypeVar("Component")


# Each returns the component itself when no tracer is set (the stages pay nothing then), else a
# wrapper that stands in for it (other attributes pass through).
def traced_input(inp: Component, type_name: str) -> Component:
    return cast(Component, TracedInput(inp, type_name)) if _tracer is not None else inp


def traced_processor(processor: Component, type_name: str) -> Component:
    return cast(Component, TracedProcessor(processor, type_name)) if _tracer is not None else processor


def traced_output(out: Component, type_name: str) -> Component:
    return cast(Component, TracedOutput(out, type_name)) if _tracer is not None else out
