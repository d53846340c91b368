"""Running a config as a service: logger, metrics, HTTP server, signals and shutdown.

Shutdown follows upstream (research/redpanda_runtime.md §5.5): on SIGINT/SIGTERM the input stops
and the pipeline drains for three quarters of ``shutdown_timeout``; then writes still in flight
are abandoned (their transactions nacked back to the input); if the process is still not done
when the timeout has passed it exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

from pipeline.config import LoadedConfig, secret_values
from pipeline.durations import parse_duration_ns
from pipeline.errors import ConfigError
from pipeline.httpserver import HTTPServer
from pipeline.observability import Logger, LogSink, Metrics, ServiceAPI
from pipeline.spec import SECRET_MASK


def make_logger(
    data: dict[str, Any], *, level_override: str | None = None, secrets: list[str] | None = None
) -> Logger:
    conf = data.get("logger") or {}
    output = data.get("output") or {}
    to_stderr = isinstance(output, dict) and "stdout" in output
    stream = sys.stderr if to_stderr else sys.stdout
    file_conf = conf.get("file") or {}
    if file_conf.get("path"):
        stream = open(file_conf["path"], "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    redact = None
    if secrets:
        ordered = sorted(set(secrets), key=len, reverse=True)

        def redact(text: str) -> str:
            for secret in ordered:
                if secret in text:
                    text = text.replace(secret, SECRET_MASK)
            return text

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
        redact=redact,
    )
    return Logger(sink)


def make_metrics(data: dict[str, Any], logger: Logger) -> tuple[Metrics, bool]:
    """The metrics registry; the bool says whether ``/metrics`` is served (prometheus)."""
    conf = data.get("metrics") if isinstance(data.get("metrics"), dict) else {"prometheus": {}}
    assert isinstance(conf, dict)
    rename = None
    mapping_src = conf.get("mapping") or ""
    if mapping_src:
        import mapping_lang

        compiled = mapping_lang.compile(mapping_src)

        def rename(name: str) -> str | None:
            result = compiled.apply(name.encode())
            if result.deleted:
                return None
            return result.content.decode() if result.content is not None else name

    metrics = Metrics(rename, logger)
    prometheus = conf.get("prometheus")
    serve = "prometheus" in conf or not any(k for k in conf if k != "mapping")
    if isinstance(prometheus, dict) and prometheus.get("add_process_metrics"):
        metrics.process_metrics = True
    return metrics, serve


async def start_http(
    data: dict[str, Any],
    logger: Logger,
    metrics: Metrics,
    serve_metrics: bool,
    readiness: Any,
    terminated: Any,
) -> HTTPServer | None:
    http = data.get("http") or {}
    if not http.get("enabled", True):
        return None
    address = str(http.get("address") or "0.0.0.0:4195")
    ssl_context = None
    if http.get("cert_file") and http.get("key_file"):
        import ssl

        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(http["cert_file"], http["key_file"])
    server = HTTPServer.from_address(address, ssl=ssl_context)
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


async def run_config(loaded: LoadedConfig, *, log_level: str | None = None) -> int:
    """Run one config until end of input or a signal; returns the exit code."""
    data = loaded.data
    logger = make_logger(data, level_override=log_level, secrets=secret_values(data))
    for lint in loaded.lints:
        if lint.level == "warning":
            logger.warn("Config lint warning", lint=lint.render(loaded.path))
    metrics, serve_metrics = make_metrics(data, logger)
    from pipeline.builder import Manager

    strict = bool((data.get("error_handling") or {}).get("strict", False))
    stream_holder: dict[str, Any] = {}

    def readiness() -> list[dict[str, Any]]:
        stream = stream_holder.get("stream")
        return stream.statuses() if stream is not None else []

    def terminated() -> bool:
        stream = stream_holder.get("stream")
        return bool(stream is not None and stream.terminated)

    server = await start_http(data, logger, metrics, serve_metrics, readiness, terminated)
    manager = Manager(logger=logger, metrics=metrics, http_server=server, strict=strict)
    try:
        stream = manager.build_stream(data)
    except ConfigError as err:
        logger.error(f"Service closing due to: {err}")
        print(f"service closing due to: {err}", file=sys.stderr)
        if server is not None:
            await server.close()
        return 1
    stream_holder["stream"] = stream
    logger.info("Launching a benthic instance, use CTRL+C to close", path=loaded.path)
    code = await supervise(stream, data, logger)
    if server is not None:
        await server.close()
    return code


async def supervise(stream: Any, data: dict[str, Any], logger: Logger) -> int:
    """Run a stream and carry out the shutdown sequence on a signal."""
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
    await asyncio.wait({run, waiter}, return_when=asyncio.FIRST_COMPLETED)
    timeout = parse_duration_ns(str(data.get("shutdown_timeout") or "20s")) / 1e9
    code = 0
    if run.done():
        waiter.cancel()
        error = run.exception()
        if error is not None:
            logger.error(f"Stream failed: {error}")
            code = 1
        logger.info("Pipeline has terminated. Shutting down the service")
    else:
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
            done, _ = await asyncio.wait({run}, timeout=max(timeout * 0.25, 0.1) + 1.0)
            if not done:
                logger.warn(
                    "Service failed to close cleanly within allocated time. Exiting forcefully and dumping stack trace to stderr"
                )
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(1)
        if run.done() and not run.cancelled() and run.exception() is not None:
            logger.error(f"Stream failed: {run.exception()}")
    try:
        await asyncio.wait_for(stream.close(), 5.0)
    except (TimeoutError, Exception) as err:
        logger.warn(f"Failed to close cleanly: {err}")
    return code
