"""The ``run_ai`` input: scrapes Run:ai workload or pod metrics on a schedule.

Config-compatible with OpenMeter's collector plugin of the same name (every field, default and
metadata string), with its defects fixed (see ``docs/run_ai.md``). Each scheduled tick covers
one time window; ``read_batch`` hands out one batch per window, one message per resource, oldest
window first. A nacked window is delivered again, ahead of newer ones, with the same bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from inputs.run_ai.client import (
    POD_METRICS,
    WORKLOAD_METRICS,
    WORKLOAD_ONLY_METRICS,
    HTTPSettings,
    RunAIClient,
    WindowScrape,
)
from inputs.run_ai.resources import encode_body
from inputs.run_ai.schedule import (
    Schedule,
    ScrapedWindow,
    Window,
    WindowQueue,
    parse_rfc3339,
    rfc3339_nano,
    rfc3339_seconds,
    schedule_problem,
    sleep_until,
)
from pipeline.durations import format_duration_ns
from pipeline.errors import EndOfInputError
from pipeline.http.tls import tls_context, tls_problems
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input
from pipeline.resources import Resources
from pipeline.spec import (
    ComponentSpec,
    duration,
    enum,
    integer,
    obj,
    string,
    string_list,
    tls_fields,
)

F_URL = "url"
F_APP_ID = "app_id"
F_APP_SECRET = "app_secret"
F_RESOURCE_TYPE = "resource_type"
F_PAGE_SIZE = "page_size"
F_METRICS = "metrics"
F_SCHEDULE = "schedule"
F_METRICS_OFFSET = "metrics_offset"
F_HTTP = "http"
F_MAX_CONCURRENCY = "max_concurrency"
F_STATE_PATH = "state_path"
F_BACKFILL_HORIZON = "backfill_horizon"
F_TLS = "tls"

DEFAULT_SCHEDULE = "*/30 * * * * *"
POD_ONLY_METRICS = frozenset(POD_METRICS) - frozenset(WORKLOAD_METRICS)
# Scraping pauses while this many windows wait for delivery (memory stays bounded when the output
# is down); the windows it skips are scraped once delivery resumes, up to the backfill horizon.
MAX_UNDELIVERED_WINDOWS = 8


def _page_size_problem(value: int) -> str | None:
    return None if 100 <= value <= 500 else f"page_size must be between 100 and 500, got {value}"


def _lint(conf: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    url = conf.get(F_URL) or ""
    if not url.startswith(("http://", "https://")):
        # the documented config reads it from ${RUNAI_URL:}, which is empty until the variable is set
        problems.append(f"url: the Run:ai base URL must start with http:// or https://, got '{url}'")
    for name in (F_APP_ID, F_APP_SECRET):
        if not conf.get(name):
            problems.append(f"{name}: must not be empty")
    schedule = conf.get(F_SCHEDULE) or ""
    problem = schedule_problem(schedule)
    if problem:
        problems.append(problem)
    metrics = conf.get(F_METRICS)
    if metrics is not None and conf.get(F_RESOURCE_TYPE) == "pod":
        workload_only = [m for m in metrics if m in WORKLOAD_ONLY_METRICS]
        if workload_only:
            listed = ", ".join(workload_only)
            what = "is a workload metric" if len(workload_only) == 1 else "are workload metrics"
            problems.append(
                f"metrics: {listed} {what}, which the pod metrics endpoint rejects; with resource_type: pod "
                "list pod metrics (or leave metrics unset for the pod default)"
            )
    problems.extend(tls_problems(conf.get(F_TLS), F_TLS))
    offset = conf.get(F_METRICS_OFFSET)
    if offset is not None and offset < 0:
        problems.append("metrics_offset: must not be negative")
    horizon = conf.get(F_BACKFILL_HORIZON)
    if horizon is not None and horizon <= 0:
        problems.append("backfill_horizon: must be positive")
    return problems


def _warn(conf: dict[str, Any]) -> list[str]:
    metrics = conf.get(F_METRICS)
    if metrics is None or conf.get(F_RESOURCE_TYPE) != "workload":
        return []
    pod_only = [m for m in metrics if m in POD_ONLY_METRICS]
    if not pod_only:
        return []
    # a warning, not an error: upstream accepts the config, Run:ai then fails those chunks
    return [
        f"metrics: {', '.join(pod_only)} {'is a pod metric' if len(pod_only) == 1 else 'are pod metrics'}; "
        "the workload metrics endpoint rejects every request (chunk of up to 9 types) that contains them"
    ]


def spec() -> ComponentSpec:
    return ComponentSpec(
        "run_ai",
        "input",
        summary="Collects Run:ai usage metrics on a schedule.",
        description=(
            "Scrapes Run:ai workload or pod metrics on a schedule and emits one message per resource per "
            "scrape window, as OpenMeter's `run_ai` collector input does. Each message is the resource "
            "(OpenMeter's field subset) plus `metrics.timestamp` (the window end) and `metrics.values`, with the "
            "metadata `scrape_time`, `scrape_interval`, `metrics_offset`, `resource_type` and `metrics_time`. "
            "Each read returns the messages of one window, oldest window first; a rejected window is "
            "delivered again with the same content."
        ),
        status="beta",
        categories=("Services",),
        fields=[
            string(F_URL, "Run:ai base URL, e.g. `https://<tenant>.run.ai`."),
            string(F_APP_ID, "Run:ai application ID."),
            string(F_APP_SECRET, "Run:ai application secret.", secret=True),
            enum(
                F_RESOURCE_TYPE,
                ("workload", "pod"),
                "Whether metrics are collected per workload or per pod.",
                default="workload",
            ),
            integer(
                F_PAGE_SIZE,
                "Number of resources requested per listing page (100 to 500).",
                default=500,
                check=_page_size_problem,
            ),
            string_list(
                F_METRICS,
                "Run:ai metric types to collect. Unset or empty: the 12 workload metrics, or every pod metric "
                "when `resource_type` is `pod`.",
                optional=True,
                examples=(list(WORKLOAD_METRICS),),
            ),
            string(
                F_SCHEDULE,
                "When to scrape: a cron expression with a seconds field first (6 fields), a descriptor such as "
                "`@hourly`, or `@every <duration>`. A `CRON_TZ=<zone>` prefix sets the zone (default UTC).",
                default=DEFAULT_SCHEDULE,
                examples=("*/30 * * * * *", "@every 30s"),
            ),
            duration(
                F_METRICS_OFFSET,
                "Shifts the queried window back in time so that late metrics are included.",
                default="0s",
            ),
            obj(
                F_HTTP,
                [
                    duration("timeout", "Timeout of each request attempt.", default="30s"),
                    integer(
                        "retry_count",
                        "Retries after a failed attempt (transport error, 429 or 5xx).",
                        default=1,
                        check=lambda v: None if v >= 0 else "retry_count must not be negative",
                    ),
                    duration(
                        "retry_wait_time",
                        "Base wait of the exponential backoff between retries.",
                        default="100ms",
                    ),
                    duration(
                        "retry_max_wait_time",
                        "Cap of the backoff wait (a `Retry-After` header is honoured beyond it).",
                        default="1s",
                    ),
                ],
                "HTTP client settings.",
            ),
            integer(
                F_MAX_CONCURRENCY,
                "Metric requests in flight at once during a scrape (upstream sends them one by one).",
                default=16,
                advanced=True,
                check=lambda v: None if v >= 1 else "max_concurrency must be at least 1",
            ),
            string(
                F_STATE_PATH,
                "A file where the end of the last delivered window is kept, so that windows missed while the "
                "process was down are scraped after a restart (up to `backfill_horizon`). Empty: no state.",
                default="",
                advanced=True,
            ),
            duration(
                F_BACKFILL_HORIZON,
                "How far back windows are still scraped: windows missed while down (with `state_path`), and "
                "windows whose scrape failed or was held back while the output was failing. Older ones are "
                "skipped with an error log.",
                default="1h",
                advanced=True,
            ),
            tls_fields(F_TLS),
        ],
        lint=_lint,
        warn=_warn,
        examples=[
            (
                "Workload metrics every 30 seconds",
                "input:\n  run_ai:\n    url: '${RUNAI_URL:}'\n    app_id: '${RUNAI_APP_ID:}'\n"
                "    app_secret: '${RUNAI_APP_SECRET:}'\n    schedule: '*/30 * * * * *'\n    metrics_offset: '30s'\n",
            )
        ],
    )


def _metric_types(conf: dict[str, Any]) -> list[str]:
    metrics = conf.get(F_METRICS)
    if not metrics:  # unset or empty: the default list for the resource type
        return list(POD_METRICS if conf[F_RESOURCE_TYPE] == "pod" else WORKLOAD_METRICS)
    # a type listed twice would be asked for twice
    return list(dict.fromkeys(metrics))


class RunAIInput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        problems = _lint(conf)
        page_problem = _page_size_problem(conf[F_PAGE_SIZE])
        if page_problem:
            problems.insert(0, "page size must be between 100 and 500")
        if problems:
            raise ValueError("; ".join(problems))
        self.res = res
        self.log = res.logger
        self.resource_type: str = conf[F_RESOURCE_TYPE]
        self.page_size: int = conf[F_PAGE_SIZE]
        self.metric_types = _metric_types(conf)
        self.schedule = Schedule(conf[F_SCHEDULE])
        self.interval_ns = self.schedule.interval_ns(datetime.now(UTC))
        self.offset_ns = round((conf[F_METRICS_OFFSET] or 0.0) * 1e9)
        self.horizon = timedelta(seconds=conf[F_BACKFILL_HORIZON] or 0.0)
        http_conf = conf[F_HTTP]
        self.client = RunAIClient(
            conf[F_URL],
            conf[F_APP_ID],
            conf[F_APP_SECRET],
            http=HTTPSettings(
                timeout=http_conf["timeout"],
                retry_count=http_conf["retry_count"],
                retry_wait_time=http_conf["retry_wait_time"],
                retry_max_wait_time=http_conf["retry_max_wait_time"],
            ),
            logger=res.logger,
            metrics=res.metrics,
            max_concurrency=conf[F_MAX_CONCURRENCY],
            verify=tls_context(conf.get(F_TLS)) or True,
        )
        self.queue = WindowQueue(conf[F_STATE_PATH] or None, on_state_error=lambda msg: self.log.error(msg))
        self._scraper: asyncio.Task[None] | None = None
        self._closed = False
        # leader election: only the leader scrapes, and a new term resumes where the Lease's
        # checkpoint (the end of the last delivered window) says
        self.leadership = res.leadership
        stream = res.manager.stream_name
        self._checkpoint_key = f"{stream}/{res.path}" if stream else res.path
        self._queue_term: int | None = None if self.leadership.enabled else self.leadership.term
        self._scrape_duration = res.metrics.timer("run_ai_scrape_duration_ns")
        self._scrape_errors = res.metrics.counter("run_ai_scrape_errors")
        # resources whose event for a window waits for a retry of its failed metric requests
        self._held_back = res.metrics.counter("run_ai_events_held_back")
        # resources left out of a window that fell past the horizon before they were complete
        self._abandoned = res.metrics.counter("run_ai_events_abandoned")

    # -- lifecycle --------------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._scraper is not None:
            return
        now = datetime.now(UTC)
        cursor = now
        try:
            last_end = self.queue.load_state()
        except (OSError, ValueError) as err:
            self.log.error(f"Ignoring unreadable run_ai state file {self.queue.state_path}: {err}")
            last_end = None
        if last_end is not None:
            # ticks after the last delivered window's tick, but none older than the horizon
            last_tick = last_end + timedelta(microseconds=self.offset_ns // 1000)
            cursor = max(last_tick, now - self.horizon)
            if cursor < now:
                self.log.info(f"Scraping Run:ai windows missed since {rfc3339_seconds(last_end)}")
        self.log.info(
            f"Scraping Run:ai {self.resource_type}s on schedule '{self.schedule.expression}' "
            f"(interval {format_duration_ns(self.interval_ns)}, offset {format_duration_ns(self.offset_ns)})"
        )
        self._scraper = asyncio.create_task(self._scrape_loop(cursor), name="run_ai scheduler")

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while True:
            scraped = await self.queue.get()
            if scraped is None:
                raise EndOfInputError()
            if self.leadership.leading and self.leadership.term == self._queue_term:
                break
            # the lease was lost since the scrape: hold the window back (a new term starts over
            # from the Lease's checkpoint, so another leader may be scraping it already)
            await self.queue.ack(scraped, RuntimeError("not the leader"))
            await self.leadership.wait_changed(timeout=1.0)
        if scraped.deliveries > 1:
            self.log.debug(f"Redelivering Run:ai window {scraped.window} (delivery {scraped.deliveries})")
        batch = [Message(body, dict(scraped.metadata)) for body in scraped.bodies]

        async def ack(err: BaseException | None) -> None:
            await self.queue.ack(scraped, err)
            self._record_checkpoint()

        return batch, ack

    async def close(self) -> None:
        self._closed = True
        if self._scraper is not None:
            self._scraper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._scraper
        await self.queue.close()
        await self.client.close()

    # -- scraping ---------------------------------------------------------------------------------

    async def _scrape_loop(self, cursor: datetime) -> None:
        """Scrape the windows of successive ticks, one at a time, in time order."""
        while not self._closed:
            if not (self.leadership.leading and self.leadership.term == self._queue_term):
                # a follower waits here, without calling Run:ai; a new leader resumes at once
                term = await self.leadership.lead()
                if term != self._queue_term:
                    cursor = await self._resume(term)
            tick = self.schedule.next_after(cursor)
            oldest = datetime.now(UTC) - self.horizon
            if tick < oldest:
                # fell behind by more than the horizon (a long outage): say so once, move on
                self.log.error(
                    f"Skipping Run:ai windows with ticks from {rfc3339_seconds(tick)} to "
                    f"{rfc3339_seconds(oldest)}: older than backfill_horizon"
                )
                cursor = oldest
                continue
            await sleep_until(tick)
            term = await self.leadership.lead()  # confirmed after the tick
            if term != self._queue_term:
                cursor = await self._resume(term)
                continue
            await self.queue.wait_for_room(MAX_UNDELIVERED_WINDOWS)
            if not self._leads(term):
                continue
            window = Window(tick, self.interval_ns, self.offset_ns)
            try:
                scraped = await self._scrape_until_done(window)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a bug must not silently stop the schedule
                self.log.error(f"Run:ai scrape of window {window} failed unexpectedly: {err!r}")
                await asyncio.sleep(1.0)
                continue
            if not self._leads(term):
                continue  # lost the lease during the scrape: the window is the next term's
            if scraped is not None:
                await self.queue.put(scraped)
                self._record_checkpoint()
            cursor = tick

    def _leads(self, term: int) -> bool:
        return self.leadership.leading and self.leadership.term == term

    async def _resume(self, term: int) -> datetime:
        """Start a term of leadership: forget windows of an earlier term and return the cursor
        after the last delivered window (the Lease's checkpoint, else the state file), or now."""
        now = datetime.now(UTC)
        recorded = self.leadership.checkpoint(self._checkpoint_key)
        last_end = None
        if recorded:
            with contextlib.suppress(ValueError):
                last_end = parse_rfc3339(recorded)
        if last_end is None:
            try:
                last_end = self.queue.load_state()
            except (OSError, ValueError) as err:
                self.log.error(f"Ignoring unreadable run_ai state file {self.queue.state_path}: {err}")
        await self.queue.restart_at(last_end)
        self._queue_term = term
        if last_end is None:
            self.log.info("Leading: scraping Run:ai from the next scheduled window")
            return now
        last_tick = last_end + timedelta(microseconds=self.offset_ns // 1000)
        self.log.info(f"Leading: scraping Run:ai windows after {rfc3339_seconds(last_end)}")
        return max(last_tick, now - self.horizon)

    def _record_checkpoint(self) -> None:
        """Keep the end of the last delivered window on the Lease (leaders only)."""
        watermark = self.queue.watermark
        if watermark is not None and self.leadership.enabled and self._leads(self._queue_term or 0):
            self.leadership.record(self._checkpoint_key, rfc3339_nano(watermark))

    async def _scrape_until_done(self, window: Window) -> ScrapedWindow | None:
        """Scrape a window in rounds until every listed resource has all its metrics: a failed
        listing is retried whole, a failed metric request alone (what was fetched is kept). Gives
        up when the window falls past the horizon: the complete resources are delivered then, and
        the incomplete ones are reported as abandoned."""
        scrape = WindowScrape(self.resource_type, window, self.metric_types)
        failures = 0
        started = time.perf_counter_ns()
        while True:
            if not self.leadership.leading:
                return None
            if self._too_old(window):
                return self._give_up(scrape)
            try:
                await self.client.fetch(scrape, self.page_size)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                failures += 1
                self._scrape_errors.incr()
                wait = self._retry_wait(failures)
                self.log.error(
                    f"Error scraping Run:ai metrics for window {window}: {err}; retrying in {wait:.1f}s"
                )
                await asyncio.sleep(wait)
                continue
            incomplete = scrape.incomplete()
            if incomplete:
                failures += 1
                self._held_back.incr(len(incomplete))
                wait = self._retry_wait(failures)
                assert scrape.resources is not None
                self.log.warn(
                    f"Holding back {len(incomplete)} of {len(scrape.resources)} Run:ai {self.resource_type}s "
                    f"of window {window} until all their metrics are fetched: {len(scrape.pending)} metric "
                    f"requests failed (first: {scrape.failures[0] if scrape.failures else 'unknown'}); "
                    f"retrying them in {wait:.1f}s",
                    held_back=",".join(r.id for r in incomplete[:10]),
                )
                await asyncio.sleep(wait)
                continue
            self._scrape_duration.timing(time.perf_counter_ns() - started)
            bodies = scrape.bodies()
            self.log.debug(f"Scraped {len(bodies)} Run:ai {self.resource_type}s for window {window}")
            return ScrapedWindow(
                window, [encode_body(b) for b in bodies], window.metadata(self.resource_type)
            )

    def _give_up(self, scrape: WindowScrape) -> ScrapedWindow | None:
        horizon = format_duration_ns(round(self.horizon.total_seconds() * 1e9))
        window = scrape.window
        bodies = scrape.bodies()
        if scrape.resources is None or not bodies:
            self.log.error(f"Skipping Run:ai window {window}: older than backfill_horizon {horizon}")
            if scrape.resources is not None:
                self._abandoned.incr(len(scrape.incomplete()))
            return None
        incomplete = scrape.incomplete()
        self._abandoned.incr(len(incomplete))
        self.log.error(
            f"Giving up on {len(incomplete)} Run:ai {self.resource_type}s of window {window}: their "
            f"metrics could not all be fetched before it became older than backfill_horizon {horizon}; "
            f"delivering the {len(bodies)} complete ones",
            abandoned=",".join(r.id for r in incomplete[:10]),
        )
        return ScrapedWindow(window, [encode_body(b) for b in bodies], window.metadata(self.resource_type))

    def _retry_wait(self, failures: int) -> float:
        return min(30.0, max(1.0, self.interval_ns / 1e9 / 2), 0.5 * 2**failures) * (
            0.5 + random.random() / 2
        )

    def _too_old(self, window: Window) -> bool:
        return window.tick < datetime.now(UTC) - self.horizon


def _build(conf: dict[str, Any], res: Resources) -> tuple[RunAIInput, bool]:
    # the input redelivers nacked windows itself (in time order), so the engine need not keep copies
    return RunAIInput(conf, res), False


register_input(spec(), _build)
