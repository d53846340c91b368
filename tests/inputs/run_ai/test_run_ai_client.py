"""The run_ai input's conversation with Run:ai, checked against the simulator over HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest
from run_ai_helpers import a_past_window

from benthic.simulators.run_ai import metric_value
from inputs.run_ai.client import MAX_LIST_PAGES, WORKLOAD_FILTER, WORKLOAD_METRICS, RunAIError, WindowScrape
from inputs.run_ai.schedule import rfc3339_seconds


def test_token_is_requested_with_openmeters_body_and_reused_across_requests(runai):
    async def scenario():
        async with runai(sim={"workloads": 12}, connect=False) as h:
            window = a_past_window()
            await h.client.scrape("workload", window, WORKLOAD_METRICS, 500)
            await h.client.scrape("workload", window, WORKLOAD_METRICS, 500)
            tokens = h.sim.records_for("token")
            assert len(tokens) == 1
            assert tokens[0].body == (
                b'{"grantType":"app_token","AppId":"simulated-app","AppSecret":"simulated-secret"}'
            )
            issued = orjson.loads(h.sim.records_for("token")[0].body)
            assert issued["AppId"] == h.sim.app_id
            # every API call carried that one bearer token
            auths = {r.authorization for r in h.sim.records if r.endpoint != "token"}
            assert len(auths) == 1 and next(iter(auths)).startswith("Bearer ")

    asyncio.run(scenario())


def test_concurrent_requests_share_one_token_fetch(runai):
    async def scenario():
        async with runai(sim={"workloads": 60}, connect=False, max_concurrency=32) as h:
            bodies = await h.client.scrape("workload", a_past_window(), WORKLOAD_METRICS, 500)
            assert bodies
            assert h.sim.requests["token"] == 1

    asyncio.run(scenario())


def test_token_is_renewed_before_it_expires(runai):
    async def scenario():
        async with runai(sim={"workloads": 3, "token_ttl": 1.0}, connect=False) as h:
            window = a_past_window()
            await h.client.scrape("workload", window, WORKLOAD_METRICS, 500)
            await asyncio.sleep(1.1)
            await h.client.scrape("workload", window, WORKLOAD_METRICS, 500)
            assert h.sim.requests["token"] == 2
            # the expired token was never sent: no 401 at all
            assert not [r for r in h.sim.records if r.status == 401]

    asyncio.run(scenario())


def test_a_401_renews_the_token_and_repeats_the_request_once(runai):
    async def scenario():
        async with runai(sim={"workloads": 5}, connect=False) as h:
            window = a_past_window()
            first = await h.client.scrape("workload", window, WORKLOAD_METRICS, 500)
            h.sim.revoke_tokens()
            second = await h.client.scrape("workload", window, WORKLOAD_METRICS, 500)
            assert first == second
            rejected = [r for r in h.sim.records if r.status == 401]
            # the listing request met the revoked token, was repeated with a new one
            assert [r.endpoint for r in rejected] == ["list_workloads"]
            assert h.sim.requests["token"] == 2

    asyncio.run(scenario())


def test_workload_pages_advance_by_page_length_and_drop_workloads_without_running_pods(runai):
    async def scenario():
        async with runai(sim={"workloads": 420, "seed": 7}, connect=False) as h:
            found = await h.client.list_workloads(100)
            expected = [w["id"] for w in h.sim.fleet.eligible_workloads()]
            assert [r.id for r in found] == expected  # every eligible workload once, in order
            pages = h.sim.records_for("list_workloads")
            offsets = [int(r.query["offset"]) for r in pages]
            assert len(pages) == 4
            assert offsets == [0, 100, 200, 300]
            assert all(r.query["limit"] == "100" and r.query["filterBy"] == WORKLOAD_FILTER for r in pages)
            # the page before the last one held workloads with no running pods, and still the
            # next offset counted them: no overlap, no duplicates
            assert len(found) == len({r.id for r in found})
            assert h.metrics.value(
                "run_ai_resource_count", label="", path="root.input", type="workload"
            ) == len(expected)

    asyncio.run(scenario())


def test_workload_filter_is_sent_as_one_escaped_query_value(runai):
    async def scenario():
        async with runai(sim={"workloads": 2}, connect=False) as h:
            await h.client.list_workloads(500)
            raw = h.sim.records_for("list_workloads")[0].raw_query
            assert raw.startswith("filterBy=phase%21%3DCreating%2Cphase%21%3DInitializing%2C")
            assert raw.endswith("&limit=500&offset=0")

    asyncio.run(scenario())


def test_twelve_metrics_are_asked_for_in_chunks_of_nine_and_three(runai):
    async def scenario():
        async with runai(sim={"workloads": 8}, connect=False) as h:
            window = a_past_window(offset_s=30)
            bodies = await h.client.scrape("workload", window, WORKLOAD_METRICS, 500)
            requests = h.sim.records_for("workload_metrics")
            assert len(requests) == 2 * len(bodies)
            by_workload: dict[str, list[list[str]]] = {}
            for r in requests:
                by_workload.setdefault(r.path.split("/")[4], []).append(r.query["metricType"].split(","))
                assert r.query["numberOfSamples"] == "1"
                assert r.query["start"] == rfc3339_seconds(window.start)
                assert r.query["end"] == rfc3339_seconds(window.end)
            for chunks in by_workload.values():
                assert sorted(len(c) for c in chunks) == [3, 9]
                assert sorted(sum(chunks, [])) == sorted(WORKLOAD_METRICS)
            assert "metricType=CPU_LIMIT_CORES%2CCPU_MEMORY_LIMIT_BYTES%2C" in requests[0].raw_query

    asyncio.run(scenario())


def test_each_value_is_the_last_sample_of_its_window(runai):
    async def scenario():
        async with runai(sim={"workloads": 6}, connect=False) as h:
            window = a_past_window(offset_s=30)
            bodies = await h.client.scrape("workload", window, WORKLOAD_METRICS, 500)
            for body in bodies:
                for metric, value in body["metrics"]["values"].items():
                    assert value == metric_value(h.sim.fleet.workload(body["id"]), metric, window.end)
                assert list(body["metrics"]["values"]) == sorted(WORKLOAD_METRICS)
                assert body["metrics"]["timestamp"] == rfc3339_seconds(window.end)

    asyncio.run(scenario())


def test_missing_samples_become_zero_and_non_finite_values_are_dropped_with_a_warning(runai):
    async def scenario():
        async with runai(sim={"workloads": 4}, connect=False) as h:
            first = h.sim.fleet.eligible_workloads()[0]["id"]
            h.sim.overrides[(first, "GPU_UTILIZATION")] = "NaN"
            h.sim.overrides[(first, "CPU_USAGE_CORES")] = "+Inf"
            h.sim.overrides[(first, "POD_COUNT")] = None  # no samples at all
            bodies = await h.client.scrape("workload", a_past_window(), WORKLOAD_METRICS, 500)
            values = next(b for b in bodies if b["id"] == first)["metrics"]["values"]
            assert "GPU_UTILIZATION" not in values and "CPU_USAGE_CORES" not in values
            assert values["POD_COUNT"] == 0
            assert len(values) == 10
            assert "Dropping non-finite Run:ai metric value NaN of GPU_UTILIZATION" in h.log_text
            assert "level=warning" in h.log_text

    asyncio.run(scenario())


def test_a_workload_with_a_failed_metric_request_is_held_back_not_sent_partially(runai):
    async def scenario():
        async with runai(
            sim={"workloads": 5}, connect=False, max_concurrency=1, http={"retry_count": 0}
        ) as h:
            eligible = [w["id"] for w in h.sim.fleet.eligible_workloads()]
            assert len(eligible) >= 3
            # requests go one at a time in listing order: both chunks of the first workload fail,
            # then the 9-type chunk of the second one
            h.sim.fail_next("workload_metrics", 400, 400, 400)
            scrape = WindowScrape("workload", a_past_window(), WORKLOAD_METRICS)
            await h.client.fetch(scrape, 500)
            assert [b["id"] for b in scrape.bodies()] == eligible[2:]
            assert [r.id for r in scrape.incomplete()] == eligible[:2]
            assert scrape.pending == [(0, 0), (0, 1), (1, 0)]
            assert f"workload {eligible[0]}): status 400" in h.log_text
            assert "level=error" in h.log_text
            # the next round asks only for what is missing, and completes both
            before = len(h.sim.records_for("workload_metrics"))
            await h.client.fetch(scrape, 500)
            assert len(h.sim.records_for("workload_metrics")) - before == 3
            bodies = scrape.bodies()
            assert [b["id"] for b in bodies] == eligible
            assert all(len(b["metrics"]["values"]) == 12 for b in bodies)

    asyncio.run(scenario())


def test_rate_limits_and_server_errors_are_retried_honouring_retry_after(runai):
    async def scenario():
        async with runai(sim={"workloads": 2}, connect=False, http={"retry_count": 3}) as h:
            h.sim.fail_next("list_workloads", 429, retry_after=0)
            h.sim.fail_next("list_workloads", 503)
            h.sim.fail_next("workload_metrics", 500)
            bodies = await h.client.scrape("workload", a_past_window(), WORKLOAD_METRICS, 500)
            assert len(bodies) == len(h.sim.fleet.eligible_workloads())
            statuses = [r.status for r in h.sim.records_for("list_workloads")]
            assert statuses == [429, 503, 200]

    asyncio.run(scenario())


def test_retry_count_bounds_the_attempts_and_the_error_names_path_status_and_body(runai):
    async def scenario():
        async with runai(sim={"workloads": 2}, connect=False, http={"retry_count": 1}) as h:
            h.sim.fail_next("list_workloads", 503, 503, 503)
            with pytest.raises(RunAIError) as caught:
                await h.client.list_workloads(500)
            assert len(h.sim.records_for("list_workloads")) == 2
            message = str(caught.value)
            assert "GET /api/v1/workloads" in message
            assert "status 503" in message
            assert "simulated failure 503" in message

    asyncio.run(scenario())


def test_an_unreachable_run_ai_is_reported_with_the_path(runai):
    async def scenario():
        async with runai(
            sim={"workloads": 1}, connect=False, http={"retry_count": 1, "retry_wait_time": "10ms"}
        ) as h:
            h.client.base_url = "http://127.0.0.1:1"
            with pytest.raises(RunAIError) as caught:
                await h.client.list_workloads(500)
            assert "POST /api/v1/token" in str(caught.value)
            assert "dial tcp 127.0.0.1:1: connect: connection refused" in str(caught.value)

    asyncio.run(scenario())


def test_the_secret_and_the_token_never_appear_in_logs_or_errors(runai):
    async def scenario():
        secret = "s3cr3t-value-123"
        async with runai(sim={"workloads": 3, "app_secret": secret}, connect=False, app_secret=secret) as h:
            # a token endpoint that echoes the secret back in its error body
            h.sim.fail_next("token", 500, 500, body=f"bad credentials {secret}".encode())
            with pytest.raises(RunAIError) as caught:
                await h.client.list_workloads(500)
            assert secret not in str(caught.value)
            assert "***" in str(caught.value)
            await h.client.scrape("workload", a_past_window(), WORKLOAD_METRICS, 500)
            token = h.client._token
            assert token
            h.sim.revoke_tokens()
            h.sim.fail_next("workload_metrics", 400, body=f"token {token} rejected".encode())
            await h.client.scrape("workload", a_past_window(), WORKLOAD_METRICS, 500)
            log = h.log_text
            assert secret not in log
            assert token not in log
            assert "level=debug" in log  # the log was at its most verbose

    asyncio.run(scenario())


def test_pods_are_listed_in_full_without_completed_ones_and_scraped_per_pod(runai):
    async def scenario():
        async with runai(
            sim={"workloads": 10, "pods_per_workload": 3}, connect=False, resource_type="pod"
        ) as h:
            window = a_past_window()
            metrics = ["CPU_USAGE_CORES", "GPU_UTILIZATION_PER_GPU"]
            bodies = await h.client.scrape("pod", window, metrics, 100)
            listing = h.sim.records_for("list_pods")[0]
            assert listing.query == {"completed": "false", "limit": "100", "offset": "0", "verbosity": "full"}
            active = h.sim.fleet.active_pods()
            assert [b["id"] for b in bodies] == [p["id"] for p in active]
            first = bodies[0]
            assert (
                first["resourceType"] == "pod"
                and first["workloadName"]
                and first["requestedNodePool"] is None
            )
            request = h.sim.records_for("pod_metrics")[0]
            assert (
                request.path == f"/api/v1/workloads/{active[0]['workloadId']}/pods/{active[0]['id']}/metrics"
            )
            # per-GPU series overwrite each other: the last GPU's value is kept (as upstream)
            from benthic.simulators.run_ai import gpu_count

            last_gpu = gpu_count(active[0]) - 1
            expected = metric_value(active[0], "GPU_UTILIZATION_PER_GPU", window.end, last_gpu)
            assert first["metrics"]["values"]["GPU_UTILIZATION_PER_GPU"] == expected

    asyncio.run(scenario())


def test_simulator_rejects_more_than_nine_metric_types_and_unknown_ones(runai):
    async def scenario():
        async with runai(sim={"workloads": 2}, connect=False) as h:
            wid = h.sim.fleet.eligible_workloads()[0]["id"]
            end = rfc3339_seconds(datetime.now(UTC))
            params = {"start": end, "end": end, "numberOfSamples": "1"}
            with pytest.raises(RunAIError, match="at most 9 metric types"):
                await h.client.get_json(
                    f"/api/v1/workloads/{wid}/metrics",
                    {**params, "metricType": ",".join(WORKLOAD_METRICS)},
                    "t",
                )
            with pytest.raises(RunAIError, match="invalid value 'GPU_SM_ACTIVITY_PER_GPU'"):
                await h.client.get_json(
                    f"/api/v1/workloads/{wid}/metrics",
                    {**params, "metricType": "GPU_SM_ACTIVITY_PER_GPU"},
                    "t",
                )

    asyncio.run(scenario())


def test_a_listing_whose_next_never_ends_on_the_same_page_stops_with_a_clear_error(runai):
    async def scenario():
        async with runai(sim={"workloads": 8, "paging_fault": "stuck"}, connect=False) as h:
            with pytest.raises(RunAIError) as caught:
                await h.client.list_workloads(3)
            assert "GET /api/v1/workloads (workloads page at offset 3): the listing does not advance" in str(
                caught.value
            )
            assert len(h.sim.records_for("list_workloads")) == 2

    asyncio.run(scenario())


def test_a_listing_that_never_runs_out_of_pages_stops_after_the_page_limit(runai):
    async def scenario():
        async with runai(sim={"workloads": 2, "paging_fault": "endless"}, connect=False) as h:
            with pytest.raises(RunAIError) as caught:
                await h.client.list_workloads(5)
            assert f"the listing did not end after {MAX_LIST_PAGES} pages" in str(caught.value)
            assert len(h.sim.records_for("list_workloads")) == MAX_LIST_PAGES

    asyncio.run(scenario())


def test_workloads_without_an_id_or_with_a_field_of_the_wrong_type_are_rejected_with_a_warning(runai):
    async def scenario():
        async with runai(sim={"workloads": 12}, connect=False) as h:
            eligible = h.sim.fleet.eligible_workloads()
            assert len(eligible) >= 5
            no_id, string_pods, fraction, bad_time, good = eligible[:5]
            no_id.pop("id")
            string_pods["runningPods"] = "3"
            fraction["requestedPods"] = {"count": 2.5}
            bad_time["createdAt"] = "yesterday"
            bodies = await h.client.scrape("workload", a_past_window(), WORKLOAD_METRICS, 500)
            ids = [b["id"] for b in bodies]
            assert good["id"] in ids
            assert not {string_pods["id"], fraction["id"], bad_time["id"], ""} & set(ids)
            assert len(ids) == len(eligible) - 4
            log = h.log_text
            assert "Leaving a workload out of the Run:ai listing" in log and "the workload has no id" in log
            assert (
                f"Leaving workload {string_pods['id']} out of the Run:ai listing (workloads page at offset 0): "
                "json: cannot unmarshal string into Go struct field Workload.runningPods of type int"
            ) in log
            assert (
                "cannot unmarshal number 2.5 into Go struct field Workload.requestedPods.count of type int"
                in log
            )
            assert 'Workload.createdAt: parsing time \\"yesterday\\"' in log
            assert (
                h.metrics.value("run_ai_resources_rejected", label="", path="root.input", type="workload")
                == 4
            )

    asyncio.run(scenario())


def test_a_pod_without_an_id_or_with_a_bad_container_list_is_rejected_and_the_rest_scraped(runai):
    async def scenario():
        async with runai(sim={"workloads": 6}, connect=False) as h:
            pods = h.sim.fleet.active_pods()
            assert len(pods) >= 3
            pods[0].pop("id")
            pods[1]["containers"] = "not a list"
            metrics = ["CPU_USAGE_CORES"]
            bodies = await h.client.scrape("pod", a_past_window(), metrics, 100)
            assert [b["id"] for b in bodies] == [p["id"] for p in pods[2:]]
            assert "the pod has no id" in h.log_text
            assert (
                "json: cannot unmarshal string into Go struct field Pod.containers of type []struct"
                in h.log_text
            )
            assert h.metrics.value("run_ai_resources_rejected", label="", path="root.input", type="pod") == 2

    asyncio.run(scenario())
