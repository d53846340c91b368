"""Streams mode: ``benthic streams [-c root.yaml] [-r resources.yaml ...] [--no-api] [paths...]``.

Several streams run in one process and share the root config's pieces: the logger, metrics, the
service HTTP server, resources (caches...) and ``inproc`` pipes. Each stream file (or each
``*.yaml`` under a directory) is one stream, named by its file name (``streams/input.yaml`` →
``input``; ``dir/a/b.yaml`` → ``a_b``); it may hold only ``input``, ``buffer``, ``pipeline`` and
``output``. Globs are expanded here, so an exec-form Docker command works as with Redpanda Connect.

Endpoints a stream registers on the shared HTTP server are prefixed with ``/<stream id>``
(``--prefix-stream-endpoints=false`` turns that off). ``/ready`` answers ``OK`` when every
running stream is connected. Unless ``--no-api``, the ``/streams`` REST API manages streams at
run time: ``GET``/``POST /streams``, ``GET``/``POST``/``PUT``/``DELETE /streams/{id}``.
The process runs until SIGINT/SIGTERM, even when every stream has ended.

Where we differ (docs/compatibility.md, docs/security.md): the API runs whatever it is given, so
``GET /streams/{id}`` returns configs with their secrets scrubbed, a posted config is bounded
(``MAX_STREAM_CONFIG_BYTES``, and the YAML reader's alias and depth limits) and parsed off the
event loop, and an API left open to the network without basic auth is logged as such.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import yaml

from pipeline import eventloop, tracing
from pipeline.builder import Manager
from pipeline.config import (
    ConfigReadError,
    LoadedConfig,
    apply_set,
    load_env_files,
    merge_resource_files,
    parse_value,
    read_config,
    scrub_secrets,
    secret_values,
)
from pipeline.durations import format_duration_ns, parse_duration_ns
from pipeline.engine import Stream
from pipeline.errors import ConfigError, LeaderElectionError
from pipeline.http.server import HTTPServer, Request, Response
from pipeline.leader import (
    ElectionSettings,
    Leadership,
    LeaseElector,
    election_settings,
    kubernetes_missing,
)
from pipeline.logs import Logger
from pipeline.redact import redact_text
from pipeline.service import MetricsPublisher, make_logger, make_metrics, resolved_root, start_http

STREAM_FIELDS = frozenset({"input", "buffer", "pipeline", "output", "tests"})

MAX_STREAM_CONFIG_BYTES = 1024 * 1024
"""Largest stream config the API accepts in one request (the server as a whole allows more, for
``http_server`` inputs); beyond it the answer is 413. A real stream config is a few kilobytes."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benthic streams", description="Run several stream configs in one process."
    )
    parser.add_argument(
        "-c",
        "--config",
        "-o",
        "--observability",
        dest="config",
        help="the root config (http, logger, metrics, resources)",
    )
    parser.add_argument(
        "-r", "--resources", action="append", default=[], help="resource files (globs allowed)"
    )
    parser.add_argument("-e", "--env-file", action="append", default=[], help="dotenv files to load first")
    parser.add_argument(
        "-s", "--set", action="append", default=[], metavar="PATH=VALUE", help="override a root config field"
    )
    parser.add_argument("--no-api", action="store_true", help="disable the /streams REST API (/ready stays)")
    parser.add_argument(
        "--prefix-stream-endpoints",
        nargs="?",
        const="true",
        default="true",
        help="prefix endpoints a stream registers on the shared server with /<stream id> (default true)",
    )
    parser.add_argument(
        "--log.level",
        dest="log_level",
        type=str.lower,
        choices=["off", "error", "warn", "info", "debug", "trace"],
    )
    parser.add_argument("--chilled", action="store_true", help="run even when configs have lint errors")
    parser.add_argument(
        "-w", "--watcher", action="store_true", help="watch stream files for changes (not supported: refused)"
    )
    parser.add_argument("paths", nargs="*", help="stream config files or directories (globs allowed)")
    return parser


def stream_paths(patterns: list[str]) -> dict[str, str]:
    """Stream id → file, from files, directories and globs; ids must be unique."""
    found: dict[str, str] = {}

    def add(stream_id: str, path: str) -> None:
        if not stream_id:
            raise ConfigReadError(f"failed to infer stream id from path: {path}")
        if stream_id in found:
            raise ConfigReadError(f"stream id ({stream_id}) collision from file: {path}")
        found[stream_id] = path

    for pattern in patterns:
        for match in sorted(glob.glob(pattern)) or [pattern]:
            path = Path(match)
            if path.is_dir():
                for child in sorted(path.rglob("*")):
                    if child.suffix in (".yaml", ".yml") and child.is_file():
                        relative = child.relative_to(path).with_suffix("")
                        add("_".join(relative.parts), str(child))
            else:
                name = path.name
                for suffix in (".yaml", ".yml"):
                    if name.endswith(suffix):
                        name = name[: -len(suffix)]
                add(name, str(path))
    return found


class StreamEntry:
    def __init__(self, stream_id: str, config: Any, stream: Stream, task: asyncio.Task[None]) -> None:
        self.id = stream_id
        self.config = config
        self.stream = stream
        self.task = task
        self.started = time.monotonic()

    @property
    def active(self) -> bool:
        return not self.task.done()

    def info(self) -> dict[str, Any]:
        uptime = time.monotonic() - self.started
        return {"active": self.active, "uptime": uptime, "uptime_str": format_duration_ns(int(uptime * 1e9))}


class StreamManager:
    """The streams of this process: create, replace and delete them while the others run."""

    def __init__(self, manager: Any, logger: Logger, shutdown_timeout: float) -> None:
        self.manager = manager
        self.logger = logger
        self.shutdown_timeout = shutdown_timeout
        self.streams: dict[str, StreamEntry] = {}
        self._lock = asyncio.Lock()

    def build(self, stream_id: str, data: dict[str, Any]) -> Any:
        return self.manager.for_stream(stream_id).build_stream(data)

    async def create(self, stream_id: str, data: dict[str, Any]) -> None:
        self.logger.sink.add_secrets(secret_values(data))  # a posted config's secrets stay out of logs
        stream = self.build(stream_id, data)  # ConfigError propagates: nothing started
        task = asyncio.create_task(self._run(stream_id, stream), name=f"stream-{stream_id}")
        self.streams[stream_id] = StreamEntry(stream_id, data, stream, task)

    async def _run(self, stream_id: str, stream: Stream) -> None:
        try:
            await stream.run()
        except Exception as err:
            self.logger.error(f"Stream {stream_id} failed: {err}", stream=stream_id)
        else:
            self.logger.info(f"Stream {stream_id} has ended", stream=stream_id)

    async def delete(self, stream_id: str) -> None:
        entry = self.streams.pop(stream_id)
        await self._stop(entry)

    async def _stop(self, entry: StreamEntry) -> None:
        entry.stream.stop()
        done, _ = await asyncio.wait({entry.task}, timeout=self.shutdown_timeout * 0.75)
        if not done:
            self.logger.warn(
                "Unable to fully drain buffered messages within target time, closing now: "
                "this could potentially cause duplicate messages to be delivered on the next run.",
                stream=entry.id,
            )
            entry.stream.force()
            done, _ = await asyncio.wait({entry.task}, timeout=max(self.shutdown_timeout * 0.25, 0.1))
            if not done:
                entry.task.cancel()
                with contextlib.suppress(BaseException):
                    await entry.task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(entry.stream.close(), 5.0)

    async def stop_all(self) -> None:
        entries = list(self.streams.values())
        self.streams.clear()
        await asyncio.gather(*(self._stop(e) for e in entries))

    def not_connected(self) -> list[str]:
        return sorted(
            entry.id
            for entry in self.streams.values()
            if entry.active and not all(s.get("connected") for s in entry.stream.statuses())
        )


# -- the REST API -------------------------------------------------------------------------------------


def _text(body: str, status: int) -> Response:
    return Response.text(body if body.endswith("\n") else body + "\n", status)


def _too_large(request: Request) -> Response | None:
    if len(request.body) > MAX_STREAM_CONFIG_BYTES:
        return _text(f"Error: a stream config may not exceed {MAX_STREAM_CONFIG_BYTES} bytes", 413)
    return None


def _parse_body(text: str, chilled: bool, stream_id: str) -> tuple[Any, list[str]]:
    """A stream config from a JSON or YAML body: (data, lint errors). Reading is bounded as
    every config read is (aliases, depth: see ``pipeline.config.yaml_reader``)."""
    loaded = read_config(f"stream {stream_id}", text=text, lint=not chilled)
    lints = [lint.message for lint in loaded.errors] + _stream_field_lints(loaded)
    return loaded.data, ([] if chilled else lints)


def _parse_streams(text: str, chilled: bool) -> tuple[dict[str, Any], list[str]]:
    """``POST /streams``: a map of stream ids to stream configs, each parsed as one body."""
    parsed = parse_value(text, "streams") if text.strip() else {}
    if not isinstance(parsed, dict):
        raise ConfigReadError("expected a map of stream ids to stream configs")
    configs: dict[str, Any] = {}
    lint_errors: list[str] = []
    for stream_id, conf in parsed.items():
        data, lints = _parse_body(yaml.safe_dump(conf), chilled, str(stream_id))
        configs[str(stream_id)] = data
        lint_errors.extend(f"stream {stream_id}: {lint}" for lint in lints)
    return configs, lint_errors


def _chilled(request: Request) -> bool:
    return (request.query_value("chilled") or "").lower() == "true"


def _stream_field_lints(loaded: LoadedConfig) -> list[str]:
    return [
        f"field {key} is not allowed in a stream config" for key in loaded.data if key not in STREAM_FIELDS
    ]


class StreamsAPI:
    def __init__(self, server: HTTPServer, streams: StreamManager) -> None:
        self.streams = streams
        server.route("/streams", self._all, ("GET", "POST"))
        server.route_prefix("/streams/", self._one)

    async def _all(self, request: Request) -> Response:
        if request.method == "GET":
            body = {sid: entry.info() for sid, entry in sorted(self.streams.streams.items())}
            return Response.json(orjson.dumps(body))
        refused = _too_large(request)
        if refused is not None:
            return refused
        text = request.body.decode("utf-8", "replace")
        try:
            # parsing and linting run in a thread so that /ping and the streams keep being served
            configs, lint_errors = await asyncio.to_thread(_parse_streams, text, _chilled(request))
        except ConfigReadError as err:
            return _text(f"Error: {err}", 400)
        if lint_errors:
            return Response.json(orjson.dumps({"lint_errors": lint_errors}), 400)
        async with self.streams._lock:
            for stream_id in [sid for sid in self.streams.streams if sid not in configs]:
                await self.streams.delete(stream_id)
            for stream_id, data in configs.items():
                if stream_id in self.streams.streams:
                    await self.streams.delete(stream_id)
                try:
                    await self.streams.create(stream_id, data)
                except ConfigError as err:
                    return _text(f"Error: {err}", 400)
        return Response(200)

    async def _one(self, request: Request) -> Response:
        stream_id = request.path[len("/streams/") :].strip("/")
        if not stream_id or "/" in stream_id:
            return _text("404 page not found", 404)
        streams = self.streams
        if request.method == "GET":
            entry = streams.streams.get(stream_id)
            if entry is None:
                return _text("Stream not found", 404)
            # the config as posted or read, with every secret hidden (as `echo` shows it)
            return Response.json(orjson.dumps({**entry.info(), "config": scrub_secrets(entry.config)}))
        if request.method == "DELETE":
            async with streams._lock:
                if stream_id not in streams.streams:
                    return _text("Stream not found", 404)
                await streams.delete(stream_id)
            return Response(200)
        if request.method not in ("POST", "PUT"):
            return _text("Verb not supported", 400)
        refused = _too_large(request)
        if refused is not None:
            return refused
        text = request.body.decode("utf-8", "replace")
        try:
            data, lints = await asyncio.to_thread(_parse_body, text, _chilled(request), stream_id)
        except ConfigReadError as err:
            return _text(f"Error: {err}", 400)
        if lints:
            return Response.json(orjson.dumps({"lint_errors": lints}), 400)
        async with streams._lock:
            exists = stream_id in streams.streams
            if request.method == "POST" and exists:
                return _text("Stream already exists", 400)
            if request.method == "PUT" and not exists:
                return _text("Stream not found", 404)
            if exists:
                await streams.delete(stream_id)
            try:
                await streams.create(stream_id, data)
            except ConfigError as err:
                return _text(f"Error: {err}", 400)
        return Response(200)


# -- running ----------------------------------------------------------------------------------------


def _load_stream_files(paths: dict[str, str], chilled: bool) -> tuple[dict[str, LoadedConfig], list[str]]:
    loaded: dict[str, LoadedConfig] = {}
    problems: list[str] = []
    for stream_id, path in paths.items():
        config = read_config(path)
        for lint in config.errors:
            problems.append(f"Config lint error: {lint.render(path)}")
        for key in config.data:
            if key not in STREAM_FIELDS:
                line, column = config.mark((key,))
                problems.append(
                    f"Config lint error: {path}({line},{column}) field {key} is not allowed in a stream config"
                )
        loaded[stream_id] = config
    return loaded, problems


def main(argv: list[str]) -> int:
    # root flags may come before the ``streams`` word (as in OpenMeter's docker-compose)
    argv = [arg for arg in argv if arg != "streams"]
    args = build_parser().parse_args(argv)
    if args.watcher:
        print(
            "--watcher is not supported by benthic: restart the process or use the /streams API",
            file=sys.stderr,
        )
        return 1
    try:
        load_env_files(args.env_file)
        if args.config:
            root = read_config(args.config, overrides=args.set)
        else:
            root = LoadedConfig("<streams>", {})
            for assignment in args.set:  # --set applies to the root config even without -c
                root.data = apply_set(root.data, assignment)
        merge_resource_files(root, args.resources)
        paths = stream_paths(args.paths)
        streams, problems = _load_stream_files(paths, args.chilled)
    except ConfigReadError as err:
        print(err, file=sys.stderr)
        return 1
    problems = [f"Config lint error: {lint.render(root.path)}" for lint in root.errors] + problems
    for key in STREAM_FIELDS - {"tests"}:
        if key in root.data:
            line, column = root.mark((key,))
            problems.append(
                f"Config lint error: {root.path}({line},{column}) field {key} is not allowed in the root config of streams mode"
            )
    if problems:
        for problem in problems:
            print(redact_text(problem), file=sys.stderr)
        if not args.chilled:
            print(
                "shutting down due to stream linter errors, to prevent shutdown run benthic with --chilled",
                file=sys.stderr,
            )
            return 1
    prefix = str(args.prefix_stream_endpoints).lower() not in ("false", "0", "no")
    election, election_problems = election_settings(os.environ)
    missing = kubernetes_missing() if election is not None else None
    if election_problems or missing:
        for problem in election_problems or [missing or ""]:
            print(f"Leader election error: {problem}", file=sys.stderr)
        return 1
    return eventloop.run(_run(root, streams, args, prefix, election))


async def _run(
    root: LoadedConfig,
    loaded: dict[str, LoadedConfig],
    args: argparse.Namespace,
    prefix: bool,
    election: ElectionSettings | None = None,
) -> int:
    data = root.data
    secrets = secret_values(data)
    for config in loaded.values():
        secrets.extend(secret_values(config.data))
    logger = make_logger(data, level_override=args.log_level, secrets=secrets)
    metrics, serve_metrics = make_metrics(data, logger)
    tracing.start(data)  # the root config's tracer serves every stream
    holder: dict[str, StreamManager] = {}

    def readiness() -> list[dict[str, Any]]:
        manager = holder.get("streams")
        if manager is None:
            return []
        return [s for entry in manager.streams.values() for s in entry.stream.statuses()]

    server = await start_http(data, logger, metrics, serve_metrics, readiness, lambda: False)
    strict = bool((data.get("error_handling") or {}).get("strict", False))
    shutdown_timeout = parse_duration_ns(str(data.get("shutdown_timeout") or "20s")) / 1e9
    # with leader election, the scheduled inputs of every stream run only on the leader
    leadership = Leadership(enabled=election is not None)
    elector = LeaseElector(election, leadership, logger, metrics) if election is not None else None
    if elector is not None:
        try:
            await elector.start()
        except LeaderElectionError as err:
            logger.error(f"Service closing due to: {err}")
            if server is not None:
                await server.close()
            return 1
    root_manager = Manager(
        logger=logger, metrics=metrics, http_server=server, strict=strict, leadership=leadership
    )
    try:
        root_manager.add_resources(data)
    except ConfigError as err:
        logger.error(f"Failed to create resources: {err}")
        return 1
    streams = StreamManager(root_manager, logger, shutdown_timeout)
    holder["streams"] = streams
    if not prefix:
        # endpoints of streams go on the shared server unprefixed
        streams.manager = _Unprefixed(root_manager)
    if server is not None:

        async def ready(_: Request) -> Response:
            waiting = streams.not_connected()
            if waiting:
                return _text(f"streams {', '.join(waiting)} are not connected", 503)
            return Response.text("OK")

        server.route("/ready", ready, ("GET",))
        server.route("/benthos/ready", ready, ("GET",))
        if not args.no_api:
            StreamsAPI(server, streams)
            _warn_open_api(data, logger)
    logger.info("Launching benthic in streams mode, use CTRL+C to close")
    for stream_id, config in loaded.items():
        try:
            await streams.create(stream_id, config.data)
        except ConfigError as err:
            logger.error(f"failed to create stream ({stream_id}): {err}")
            await streams.stop_all()
            if server is not None:
                await server.close()
            return 1
        logger.info(f"Created stream {stream_id} from {config.path}", stream=stream_id)
        if server is not None and prefix:
            _route_stream_ready(server, streams, stream_id)

    publisher = MetricsPublisher(data, metrics, logger)
    publisher.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("Received a signal, the service is closing")
    try:
        await asyncio.wait_for(streams.stop_all(), shutdown_timeout + 5)
    except TimeoutError:
        logger.warn("Service failed to close cleanly within allocated time. Exiting forcefully")
        sys.stdout.flush()
        os._exit(1)
    if elector is not None:
        await elector.close()
    await publisher.close()
    await asyncio.to_thread(tracing.shutdown)
    if server is not None:
        await server.close()
    return 0


def _warn_open_api(data: dict[str, Any], logger: Logger) -> None:
    """The streams API lets whoever reaches it run any config: say so when nothing guards it."""
    http = resolved_root(data).get("http") or {}
    host = str(http.get("address") or "0.0.0.0:4195").rpartition(":")[0].strip("[]")
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if not loopback and not (http.get("basic_auth") or {}).get("enabled"):
        logger.warn(
            f"The /streams API on {http.get('address')} accepts stream configs from anyone who can reach "
            "it: set http.basic_auth, bind http.address to 127.0.0.1, or run with --no-api "
            "(see docs/security.md)"
        )


def _route_stream_ready(server: HTTPServer, streams: StreamManager, stream_id: str) -> None:
    async def ready(_: Request) -> Response:
        entry = streams.streams.get(stream_id)
        if entry is None or not entry.active:
            return Response.json(orjson.dumps({"error": "stream terminated", "statuses": []}), 503)
        statuses = entry.stream.statuses()
        ok = all(s.get("connected") for s in statuses)
        return Response.json(orjson.dumps({"statuses": statuses}), 200 if ok else 503)

    server.route(f"/{stream_id}/ready", ready, ("GET",))


class _Unprefixed:
    """A manager whose streams register shared-server endpoints without the ``/<id>`` prefix."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager

    def for_stream(self, stream_id: str) -> Any:
        child = self._manager.for_stream(stream_id)
        child.endpoint_prefix = ""
        return child
