"""Running a config as a service: logger, metrics, HTTP server, signals and shutdown.

Shutdown follows upstream (research/redpanda_runtime.md §5.5): on SIGINT/SIGTERM the input stops
and the pipeline drains for three quarters of ``shutdown_timeout``; then writes still in flight
are abandoned (their transactions nacked back to the input, a processor still running included)
and the process exits 1 with an ERROR naming how many messages were not delivered; if it is
still not done when the timeout has passed it exits 1 at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from pipeline import tracing
from pipeline.builder import Manager
from pipeline.config import ROOT_SPEC, LoadedConfig, scrub_secrets, secret_values
from pipeline.durations import parse_duration_ns
from pipeline.engine import Stream
from pipeline.errors import ConfigError, ConfigReadError, LeaderElectionError
from pipeline.http.access import basic_auth, cors, debug_endpoints
from pipeline.http.endpoints import ServiceAPI
from pipeline.http.server import HTTPServer
from pipeline.http.tls import server_tls_context
from pipeline.leader import ElectionSettings, Leadership, LeaseElector
from pipeline.logs import Logger, LogSink
from pipeline.metrics import Metrics, MetricsMapping, Timer
from pipeline.registry import REGISTRY
from pipeline.spec import ConfigValueError, resolve


def resolved_root(data: dict[str, Any]) -> dict[str, Any]:
    """The service-wide blocks (http, logger, metrics...) with their defaults filled in."""
    try:
        root = resolve(ROOT_SPEC, data)
    except ConfigValueError:
        return data  # linted already; with --chilled, read what is there
    return root if isinstance(root, dict) else data


class RotatingFile:
    """``logger.file`` with ``rotate``: at 10 MB the file moves to ``<path>.1.gz`` (one backup,
    compressed, as upstream's lumberjack settings), and backups older than
    ``rotate_max_age_days`` are removed."""

    MAX_BYTES = 10 * 1024 * 1024

    def __init__(self, path: str, max_age_days: int) -> None:
        self.path = path
        self.max_age_days = max_age_days
        self.handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process

    def write(self, text: str) -> int:
        written = self.handle.write(text)
        if self.handle.tell() >= self.MAX_BYTES:
            self._rotate()
        return written

    def flush(self) -> None:
        self.handle.flush()

    def _rotate(self) -> None:
        self.handle.close()
        with open(self.path, "rb") as src, gzip.open(self.path + ".1.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.remove(self.path)
        self.handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        backup = self.path + ".1.gz"
        if self.max_age_days > 0 and os.path.exists(backup):
            if time.time() - os.path.getmtime(backup) > self.max_age_days * 86400:
                os.remove(backup)


def make_logger(
    data: dict[str, Any], *, level_override: str | None = None, secrets: list[str] | None = None
) -> Logger:
    conf = resolved_root(data).get("logger") or {}
    output = data.get("output") or {}
    to_stderr = isinstance(output, dict) and "stdout" in output
    stream: Any = sys.stderr if to_stderr else sys.stdout
    file_conf = conf.get("file") or {}
    if file_conf.get("path"):
        if file_conf.get("rotate"):
            stream = RotatingFile(file_conf["path"], int(file_conf.get("rotate_max_age_days") or 0))
        else:
            stream = open(file_conf["path"], "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    static = conf.get("static_fields")
    sink = LogSink(
        level=str(level_override or conf.get("level") or "INFO"),
        fmt=str(conf.get("format") or "logfmt"),
        add_timestamp=bool(conf.get("add_timestamp", True)),
        static_fields=static if isinstance(static, dict) else None,
        stream=stream,
        level_name=str(conf.get("level_name") or "level"),
        timestamp_name=str(conf.get("timestamp_name") or "time"),
        message_name=str(conf.get("message_name") or "msg"),
        secrets=secrets,
    )
    return Logger(sink)


def make_metrics(data: dict[str, Any], logger: Logger) -> tuple[Metrics, bool]:
    """The metrics registry, set up by the configured exporter's spec (``pipeline/metrics.py``);
    the bool says whether ``/metrics`` is served."""
    conf = data.get("metrics") if isinstance(data.get("metrics"), dict) else {"prometheus": {}}
    assert isinstance(conf, dict)
    mapping_src = conf.get("mapping") or ""
    mapping = MetricsMapping.compile(mapping_src, logger) if mapping_src else None
    metrics = Metrics(mapping, logger)
    if "type" in conf:
        name = str(conf["type"])
    else:
        name = next((str(k) for k in conf if k not in ("mapping", "plugin")), "prometheus")
    registration = REGISTRY.get("metrics", name)
    if registration is None:  # an exporter lint refuses (the run is --chilled): nothing served
        return metrics, False
    body = conf.get(name) if name in conf else conf.get("plugin")
    try:
        exporter = resolve(registration.spec, body)
    except ConfigValueError:  # lint reports it; a --chilled run takes the defaults
        exporter = resolve(registration.spec, None)
    return metrics, bool(registration.ctor(exporter, metrics))


class MetricsPublisher:
    """``metrics.prometheus.push_url`` (a Pushgateway, every ``push_interval`` and at shutdown)
    and ``file_output_path`` (the metrics written to a file at shutdown)."""

    def __init__(self, data: dict[str, Any], metrics: Metrics, logger: Logger) -> None:
        conf = (data.get("metrics") or {}) if isinstance(data.get("metrics"), dict) else {}
        prometheus = conf.get("prometheus") if isinstance(conf.get("prometheus"), dict) else {}
        self.metrics = metrics
        self.logger = logger
        self.push_url = (prometheus or {}).get("push_url") or ""
        self.push_interval = parse_duration_ns(str((prometheus or {}).get("push_interval") or "0s")) / 1e9
        self.job = (prometheus or {}).get("push_job_name") or "benthos_push"
        auth = (prometheus or {}).get("push_basic_auth") or {}
        self.auth: tuple[str, str] | None = (
            (str(auth.get("username", "")), str(auth.get("password", ""))) if auth.get("username") else None
        )
        self.file_path = (prometheus or {}).get("file_output_path") or ""
        # the logger exporter: the metrics as a log line every push_interval and at shutdown
        as_log = conf.get("logger") if isinstance(conf.get("logger"), dict) else None
        self.log_metrics = as_log is not None or "logger" in conf
        self.log_interval = parse_duration_ns(str((as_log or {}).get("push_interval") or "0s")) / 1e9
        self.log_flush = bool((as_log or {}).get("flush_metrics"))
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.push_url and self.push_interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._push_loop())
        if self.log_metrics and self.log_interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._log_loop())

    async def _log_loop(self) -> None:
        while True:
            await asyncio.sleep(self.log_interval)
            self.log_once()

    def log_once(self) -> None:
        # as upstream's logger exporter: a line per series, its labels as fields
        series = self.metrics.local_series()
        for name, labels, value in series:
            if not isinstance(value, Timer):
                self.logger.info("Counter metric", **{"name": name, "value": value, **labels})
        for name, labels, value in series:
            if isinstance(value, Timer):
                p50, p90, p99 = value.percentiles((0.5, 0.9, 0.99))
                self.logger.info(
                    "Timing metric", **{"name": name, "p50": p50, "p90": p90, "p99": p99, **labels}
                )
        if self.log_flush:
            self.metrics.reset_flushed()

    async def _push_loop(self) -> None:
        while True:
            await asyncio.sleep(self.push_interval)
            await self.push()

    async def push(self) -> None:
        url = f"{self.push_url.rstrip('/')}/metrics/job/{self.job}"
        try:
            async with httpx.AsyncClient(timeout=10, auth=self.auth) as client:
                response = await client.put(
                    url,
                    content=self.metrics.prometheus_text().encode(),
                    headers={"Content-Type": "text/plain; version=0.0.4"},
                )
            if response.status_code >= 300:
                self.logger.error(
                    f"Failed to push metrics: {url}: {response.status_code} {response.text[:200]}"
                )
        except Exception as err:
            self.logger.error(f"Failed to push metrics: {url}: {err}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.log_metrics:
            self.log_once()
        if self.push_url:
            await self.push()
        if self.file_path:
            try:
                with open(self.file_path, "w", encoding="utf-8") as fh:
                    fh.write(self.metrics.prometheus_text())
            except OSError as err:
                self.logger.error(f"Failed to write metrics to {self.file_path}: {err}")


async def start_http(
    data: dict[str, Any],
    logger: Logger,
    metrics: Metrics,
    serve_metrics: bool,
    readiness: Any,
    terminated: Any,
) -> HTTPServer | None:
    http = resolved_root(data).get("http") or {}
    if not http.get("enabled", True):
        return None
    address = str(http.get("address") or "0.0.0.0:4195")

    ssl_context = server_tls_context(http.get("cert_file"), http.get("key_file"))
    server = HTTPServer.from_address(address, ssl=ssl_context, log_error=logger.error)

    if (http.get("cors") or {}).get("enabled"):
        server.use(cors(http["cors"]))
    if (http.get("basic_auth") or {}).get("enabled"):
        server.use(basic_auth(http["basic_auth"]))
    if http.get("debug_endpoints"):
        debug_endpoints(server, scrub_secrets(data), str(http.get("root_path", "/benthos") or ""))
    ServiceAPI(
        server,
        metrics,
        readiness,
        root_path=str(http.get("root_path", "/benthos") or ""),
        serve_metrics=serve_metrics,
        terminated=terminated,
    )
    try:
        await server.start()
    except OSError as err:
        # as upstream: the service keeps running without its HTTP server
        logger.error(f"HTTP server error: listen tcp {address}: {err.strerror or err}")
        return server
    logger.info(f"Listening for HTTP requests at: http://{address.replace('0.0.0.0', '0.0.0.0')}")
    return server


class ConfigWatcher:
    """``run --watcher``: polls the config file and its resource files; a change that lints (or
    any change, with ``--chilled``) becomes the next config, while one with lint errors is logged
    and the running stream kept, as upstream's watcher does."""

    def __init__(
        self,
        paths: list[str],
        reload: Callable[[], LoadedConfig],
        logger: Logger,
        *,
        chilled: bool = False,
        poll: float = 0.5,
    ) -> None:
        self.paths = paths
        self.reload = reload
        self.logger = logger
        self.chilled = chilled
        self.poll = poll
        self.seen = self._stamps()

    def _stamps(self) -> dict[str, int]:
        stamps: dict[str, int] = {}
        for path in self.paths:
            with contextlib.suppress(OSError):
                stamps[path] = os.stat(path).st_mtime_ns
        return stamps

    async def next_update(self) -> LoadedConfig:
        while True:
            await asyncio.sleep(self.poll)
            stamps = self._stamps()
            if stamps == self.seen:
                continue
            await asyncio.sleep(self.poll)  # let an editor finish writing
            self.seen = self._stamps()
            try:
                loaded = self.reload()
            except ConfigReadError as err:
                self.logger.error(f"Failed to read the updated config: {err}")
                continue
            self.logger.sink.add_secrets(secret_values(loaded.data))  # the new config's secrets, too
            if loaded.errors and not self.chilled:
                for lint in loaded.errors:
                    self.logger.error("Config lint error", lint=lint.render(loaded.path))
                self.logger.error("Rejecting the updated config due to linter errors")
                continue
            return loaded


async def run_config(
    loaded: LoadedConfig,
    *,
    log_level: str | None = None,
    watcher: ConfigWatcher | None = None,
    election: ElectionSettings | None = None,
) -> int:
    """Run one config until end of input or a signal (with a ``watcher``, restarting the stream
    on each valid change of the config); returns the exit code. With ``election`` settings, the
    scheduled inputs run only while this process holds the Lease, released after the stream stops."""
    data = loaded.data
    logger = make_logger(data, level_override=log_level, secrets=secret_values(data))
    for lint in loaded.lints:
        if lint.level == "warning":
            logger.warn("Config lint warning", lint=lint.render(loaded.path))
    metrics, serve_metrics = make_metrics(data, logger)
    tracing.start(data)  # before the stream is built: its stages wrap themselves when it is active

    strict = bool((data.get("error_handling") or {}).get("strict", False))
    stream_holder: dict[str, Any] = {}

    def readiness() -> list[dict[str, Any]]:
        stream = stream_holder.get("stream")
        return stream.statuses() if stream is not None else []

    def terminated() -> bool:
        stream = stream_holder.get("stream")
        return bool(stream is not None and stream.terminated)

    server = await start_http(data, logger, metrics, serve_metrics, readiness, terminated)
    publisher = MetricsPublisher(data, metrics, logger)
    publisher.start()
    if watcher is not None:
        watcher.logger = logger
    logger.info("Launching a benthic instance, use CTRL+C to close", path=loaded.path)
    leadership = Leadership(enabled=election is not None)
    elector = LeaseElector(election, leadership, logger, metrics) if election is not None else None
    if elector is not None:
        try:
            await elector.start()
        except LeaderElectionError as err:
            logger.error(f"Service closing due to: {err}")
            await publisher.close()
            if server is not None:
                await server.close()
            return 1
    code = 0
    while True:
        manager = Manager(
            logger=logger, metrics=metrics, http_server=server, strict=strict, leadership=leadership
        )
        try:
            stream = manager.build_stream(data)
        except ConfigError as err:
            logger.error(f"Service closing due to: {err}")
            print(f"service closing due to: {err}", file=sys.stderr)
            code = 1
            break
        stream_holder["stream"] = stream
        update = asyncio.ensure_future(watcher.next_update()) if watcher is not None else None
        code, updated = await supervise(stream, data, logger, update)
        if updated is None:
            break
        logger.info("Config updated, the stream was restarted with it", path=updated.path)
        data = updated.data
        strict = bool((data.get("error_handling") or {}).get("strict", False))
    if elector is not None:
        # after the stream delivered what it could: the checkpoints go out with the release
        await elector.close()
    await publisher.close()
    await asyncio.to_thread(tracing.shutdown)  # the spans still queued go out
    if server is not None:
        await server.close()
    return code


async def supervise(
    stream: Stream, data: dict[str, Any], logger: Logger, update: asyncio.Future[LoadedConfig] | None = None
) -> tuple[int, LoadedConfig | None]:
    """Run a stream and carry out the shutdown sequence on a signal, or on a config ``update``
    (then the new config is returned, for the caller to run)."""
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    received: list[str] = []

    def on_signal(name: str) -> None:
        received.append(name)
        signalled.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig.name)

    run = asyncio.create_task(stream.run())
    waiter = asyncio.create_task(signalled.wait())
    waiting: set[asyncio.Future[Any]] = {run, waiter}
    if update is not None:
        waiting.add(update)
    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    timeout = parse_duration_ns(str(data.get("shutdown_timeout") or "20s")) / 1e9
    code = 0
    updated: LoadedConfig | None = None
    if update is not None and update.done() and not run.done() and not signalled.is_set():
        updated = update.result()
        waiter.cancel()
        stream.stop()
        done, _ = await asyncio.wait({run}, timeout=timeout * 0.75)
        if not done:
            stream.force()
            await asyncio.wait({run}, timeout=max(timeout * 0.25, 0.1) + 1.0)
    elif run.done():
        if update is not None:
            update.cancel()
        waiter.cancel()
        error = run.exception()
        if error is not None:
            logger.error(f"Stream failed: {error}")
            code = 1
        logger.info("Pipeline has terminated. Shutting down the service")
    else:
        if update is not None:
            update.cancel()
        logger.info(f"Received {received[0]}, the service is closing")
        delay = parse_duration_ns(str(data.get("shutdown_delay") or "0s")) / 1e9
        if delay > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(asyncio.sleep(delay)), delay)
        stream.stop()
        done, _ = await asyncio.wait({run}, timeout=timeout * 0.75)
        if not done:
            logger.warn(
                "Unable to fully drain buffered messages within target time, closing now: "
                "this could potentially cause duplicate messages to be delivered on the next run."
            )
            stream.force()
            # the grace after forcing lets the engine count and hand back what it still holds (a
            # loaded machine needs more than a second for that)
            done, _ = await asyncio.wait({run}, timeout=max(timeout * 0.25, 0.1) + 3.0)
            if not done:
                lost = getattr(stream, "undelivered", 0)
                if lost:
                    logger.error(f"Shutdown timed out with {lost} messages not delivered")
                logger.warn(
                    "Service failed to close cleanly within allocated time. Exiting forcefully and dumping stack trace to stderr"
                )
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(1)
        if run.done() and not run.cancelled() and run.exception() is not None:
            logger.error(f"Stream failed: {run.exception()}")
        lost = getattr(stream, "undelivered", 0)
        if lost:
            # upstream exits with an error when shutdown times out with messages in flight
            logger.error(
                f"Shutdown timed out with {lost} messages not delivered: they were handed back to "
                "the input, which keeps them for the next run only if it is durable (a buffer, a "
                "broker); otherwise they are lost"
            )
            code = 1
    try:
        await asyncio.wait_for(stream.close(), 5.0)
    except (TimeoutError, Exception) as err:
        logger.warn(f"Failed to close cleanly: {err}")
    return code, updated
