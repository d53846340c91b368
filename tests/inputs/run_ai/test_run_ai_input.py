"""The run_ai input as the pipeline sees it: one batch per window, in time order, with
upstream's metadata; nacked windows redelivered; missed windows scraped after a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from benthic.simulators.run_ai import metric_value
from inputs.run_ai.client import POD_METRICS
from inputs.run_ai.schedule import parse_rfc3339
from pipeline.errors import EndOfInputError


def _window_of(batch):
    meta = batch[0].metadata
    return meta["scrape_time"], meta["metrics_time"]


def test_each_read_is_one_window_with_upstreams_metadata_and_values(runai):
    async def scenario():
        async with runai(sim={"workloads": 15}, metrics_offset="30s") as h:
            batch, ack = await h.read()
            eligible = h.sim.fleet.eligible_workloads()
            assert [orjson.loads(m.content)["id"] for m in batch] == [w["id"] for w in eligible]
            meta = batch[0].metadata
            assert set(meta) == {
                "scrape_time",
                "scrape_interval",
                "metrics_offset",
                "resource_type",
                "metrics_time",
            }
            assert meta["scrape_interval"] == "1s" and meta["metrics_offset"] == "30s"
            assert meta["resource_type"] == "workload"
            tick, end = parse_rfc3339(meta["scrape_time"]), parse_rfc3339(meta["metrics_time"])
            assert tick - end == timedelta(seconds=30)
            body = orjson.loads(batch[0].content)
            assert list(body)[:3] == ["resourceType", "tenantId", "type"]
            assert body["metrics"]["timestamp"] == meta["metrics_time"]
            for metric, value in body["metrics"]["values"].items():
                assert value == metric_value(h.sim.fleet.workload(body["id"]), metric, end)
            await ack(None)

    asyncio.run(scenario())


def test_windows_arrive_in_time_order_and_line_up(runai):
    async def scenario():
        async with runai(sim={"workloads": 4}) as h:
            windows = []
            for _ in range(3):
                batch, ack = await h.read()
                windows.append(_window_of(batch))
                await ack(None)
            ends = [parse_rfc3339(end) for _, end in windows]
            assert ends == sorted(ends)
            assert all(b - a == timedelta(seconds=1) for a, b in zip(ends, ends[1:], strict=False))

    asyncio.run(scenario())


def test_a_nacked_window_is_delivered_again_with_the_same_bytes_before_newer_ones(runai):
    async def scenario():
        async with runai(sim={"workloads": 6}) as h:
            first, nack = await h.read()
            await asyncio.sleep(1.5)  # a newer window gets scraped meanwhile
            await nack(RuntimeError("output refused"))
            again, ack = await h.read()
            assert [m.content for m in again] == [m.content for m in first]
            assert [m.metadata for m in again] == [m.metadata for m in first]
            await ack(None)
            newer, ack2 = await h.read()
            assert _window_of(newer)[1] > _window_of(first)[1]
            await ack2(None)

    asyncio.run(scenario())


def test_a_failed_scrape_is_retried_rather_than_losing_the_window(runai):
    async def scenario():
        async with runai(sim={"workloads": 3}, http={"retry_count": 0}) as h:
            h.sim.fail_next("list_workloads", 503)
            batch, ack = await h.read()
            await ack(None)
            assert batch
            assert "Error scraping Run:ai metrics for window" in h.log_text
            assert h.metrics.value("run_ai_scrape_errors", label="", path="root.input") == 1
            # the failed window is the one delivered: nothing was skipped
            first_listing, second_listing = h.sim.records_for("list_workloads")[:2]
            assert first_listing.status == 503 and second_listing.status == 200
            metric_requests = h.sim.records_for("workload_metrics")
            assert metric_requests[0].query["end"] == batch[0].metadata["metrics_time"]

    asyncio.run(scenario())


def test_missed_windows_are_scraped_after_a_restart_with_state_path(runai, tmp_path):
    state = str(tmp_path / "run_ai.state")

    async def scenario():
        async with runai(sim={"workloads": 3}, state_path=state) as h:
            for _ in range(2):
                batch, ack = await h.read()
                await ack(None)
            last_end = parse_rfc3339(batch[0].metadata["metrics_time"])
        assert orjson.loads(open(state, "rb").read())["last_acked_window_end"]
        await asyncio.sleep(2.5)  # "down" for a couple of windows
        async with runai(sim={"workloads": 3}, state_path=state) as h:
            batch, ack = await h.read()
            await ack(None)
            first_end = parse_rfc3339(batch[0].metadata["metrics_time"])
            # the first window after the restart continues where the last delivered one ended
            assert first_end == last_end + timedelta(seconds=1)
            assert "Scraping Run:ai windows missed since" in h.log_text

    asyncio.run(scenario())


def test_pod_mode_scrapes_pods_with_the_pod_metrics_by_default(runai):
    async def scenario():
        async with runai(
            sim={"workloads": 4, "pods_per_workload": 2}, resource_type="pod", page_size=100
        ) as h:
            assert h.input.metric_types == list(POD_METRICS)
            batch, ack = await h.read()
            await ack(None)
            assert [orjson.loads(m.content)["id"] for m in batch] == [
                p["id"] for p in h.sim.fleet.active_pods()
            ]
            assert batch[0].metadata["resource_type"] == "pod"
            pod = h.sim.fleet.active_pods()[0]
            chunks = [
                len(r.query["metricType"].split(","))
                for r in h.sim.records_for("pod_metrics")
                if f"/pods/{pod['id']}/" in r.path
            ]
            assert sorted(chunks) == [1, 9, 9]

    asyncio.run(scenario())


def test_close_stops_the_scheduler_and_ends_a_waiting_read(runai):
    async def scenario():
        async with runai(sim={"workloads": 2}, schedule="0 0 0 1 1 *") as h:
            reader = asyncio.ensure_future(h.input.read_batch())
            await asyncio.sleep(0.1)
            await asyncio.wait_for(h.input.close(), 2)
            with pytest.raises(EndOfInputError):
                await asyncio.wait_for(reader, 2)
            assert h.sim.requests["list_workloads"] == 0

    asyncio.run(scenario())


def test_http_timings_and_scrape_metrics_are_recorded(runai):
    async def scenario():
        async with runai(sim={"workloads": 3}) as h:
            _, ack = await h.read()
            await ack(None)
            text = h.metrics.prometheus_text()
            assert (
                'run_ai_http_request_ns_count{label="",path="root.input",status_code="200",url="/api/v1/token"} 1'
                in text
            )
            assert 'url="/api/v1/workloads/:workloadID/metrics"' in text
            assert 'run_ai_resource_count{label="",path="root.input",type="workload"}' in text
            assert "run_ai_scrape_duration_ns_count" in text

    asyncio.run(scenario())


def test_backfill_after_a_restart_goes_back_no_further_than_the_horizon(runai, tmp_path):
    state = tmp_path / "run_ai.state"
    state.write_text('{"last_acked_window_end": "2020-01-01T00:00:00Z"}')

    async def scenario():
        started = datetime.now(UTC)
        async with runai(sim={"workloads": 2}, state_path=str(state), backfill_horizon="3s") as h:
            batch, ack = await h.read()
            await ack(None)
            tick = parse_rfc3339(batch[0].metadata["scrape_time"])
            assert started - timedelta(seconds=4) <= tick
            assert "Scraping Run:ai windows missed since 2020-01-01T00:00:00Z" in h.log_text
        saved = orjson.loads(state.read_bytes())["last_acked_window_end"]
        assert parse_rfc3339(saved) == parse_rfc3339(batch[0].metadata["metrics_time"])

    asyncio.run(scenario())


def test_with_a_flaky_api_every_event_carries_all_its_metrics_and_held_back_ones_are_retried(runai):
    async def scenario():
        sim = {"workloads": 20, "error_rate": 0.3, "seed": 7}
        async with runai(sim=sim, http={"retry_count": 0}, backfill_horizon="10m") as h:
            batch, ack = await h.read(timeout=60)
            await ack(None)
            end = parse_rfc3339(batch[0].metadata["metrics_time"])
            bodies = [orjson.loads(m.content) for m in batch]
            assert [b["id"] for b in bodies] == [w["id"] for w in h.sim.fleet.eligible_workloads()]
            for body in bodies:
                values = body["metrics"]["values"]
                assert len(values) == 12, f"{body['id']} arrived with only {sorted(values)}"
                for metric, value in values.items():
                    assert value == metric_value(h.sim.fleet.workload(body["id"]), metric, end)
            held_back = h.metrics.value("run_ai_events_held_back", label="", path="root.input")
            assert held_back and held_back > 0
            assert "Holding back" in h.log_text and "until all their metrics are fetched" in h.log_text
            assert {r.status for r in h.sim.records_for("workload_metrics")} & {500, 503}

    asyncio.run(scenario())
