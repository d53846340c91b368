"""Schedules, windows and the metadata strings the mapping reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inputs.run_ai.schedule import Schedule, Window, schedule_problem
from tests.pipeline.conftest import run_cli

NOW = datetime(2025, 4, 14, 12, 0, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "interval"),
    [
        ("*/30 * * * * *", "30s"),
        ("0 * * * * *", "1m0s"),
        ("0 0 * * * *", "1h0m0s"),
        ("@hourly", "1h0m0s"),
        ("@every 45s", "45s"),
        ("@every 1m30s", "1m30s"),
        ("@every 500ms", "1s"),  # robfig raises sub-second intervals to one second
        ("@every 2.7s", "2s"),  # and drops the fraction
        ("CRON_TZ=Europe/Budapest 0 0 * * * *", "1h0m0s"),
    ],
)
def test_scrape_interval_metadata_is_a_go_duration_string(schedule, interval):
    sched = Schedule(schedule)
    window = Window(sched.next_after(NOW), sched.interval_ns(NOW), 0)
    assert window.metadata("workload")["scrape_interval"] == interval


def test_ticks_fall_on_the_schedule_not_when_a_timer_fired():
    assert Schedule("*/30 * * * * *").next_after(NOW) == datetime(2025, 4, 14, 12, 0, 30, tzinfo=UTC)
    # @every is aligned to the epoch, so that replicas and restarts agree on windows
    assert Schedule("@every 30s").next_after(NOW) == datetime(2025, 4, 14, 12, 0, 30, tzinfo=UTC)
    assert Schedule("@hourly").next_after(NOW) == datetime(2025, 4, 14, 13, 0, 0, tzinfo=UTC)


def test_window_ends_offset_before_the_tick_and_spans_one_interval():
    sched = Schedule("*/30 * * * * *")
    tick = sched.next_after(NOW)
    window = Window(tick, sched.interval_ns(NOW), 30 * 1_000_000_000)
    assert (window.start, window.end) == (
        datetime(2025, 4, 14, 11, 59, 30, tzinfo=UTC),
        datetime(2025, 4, 14, 12, 0, 0, tzinfo=UTC),
    )
    assert window.metadata("workload") == {
        "scrape_time": "2025-04-14T12:00:30Z",
        "scrape_interval": "30s",
        "metrics_offset": "30s",
        "resource_type": "workload",
        "metrics_time": "2025-04-14T12:00:00Z",
    }


def test_consecutive_windows_share_their_boundary():
    sched = Schedule("0 * * * * *")
    first = sched.next_after(NOW)
    second = sched.next_after(first)
    interval = sched.interval_ns(NOW)
    assert Window(first, interval, 0).end == Window(second, interval, 0).start


def test_a_five_field_crontab_is_refused_with_a_hint():
    problem = schedule_problem("*/5 * * * *")
    assert problem is not None
    assert "expected exactly 6 fields, found 5" in problem
    assert "'0 */5 * * * *'" in problem


@pytest.mark.parametrize(
    "schedule", ["@every", "@every soon", "@fortnightly", "61 * * * * *", "CRON_TZ=Nowhere/Land @hourly"]
)
def test_unusable_schedules_are_refused(schedule):
    assert schedule_problem(schedule) is not None


def test_lint_reports_page_size_schedule_and_pod_metric_mistakes(tmp_path):
    config = tmp_path / "run_ai.yaml"
    config.write_text(
        "input:\n"
        "  run_ai:\n"
        "    url: http://127.0.0.1:1\n"
        "    app_id: app\n"
        "    app_secret: secret\n"
        "    schedule: '*/5 * * * *'\n"
        "    page_size: 50\n"
        "    resource_type: pod\n"
        "    metrics: [CPU_LIMIT_CORES, GPU_UTILIZATION]\n"
        "output:\n"
        "  drop: {}\n"
    )
    done = run_cli("lint", str(config))
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "page_size must be between 100 and 500" in out
    assert "expected exactly 6 fields, found 5" in out
    assert "CPU_LIMIT_CORES is a workload metric" in out
    assert "secret" not in out.replace("app_secret", "")


def test_an_empty_url_or_credentials_fail_lint_at_their_lines(tmp_path: Path) -> None:
    config = tmp_path / "empty.yaml"
    config.write_text(
        "input:\n  run_ai:\n    url: '${RUNAI_URL:}'\n    app_id: '${RUNAI_APP_ID:}'\n    app_secret: ''\n"
        "output:\n  drop: {}\n"
    )
    # run_cli leaves the RUNAI_ variables of the environment out
    done = run_cli("lint", str(config))
    assert done.returncode == 1
    assert (
        f"{config}(3,5) url: the Run:ai base URL must start with http:// or https://, got ''" in done.stderr
    )
    assert f"{config}(4,5) app_id: must not be empty" in done.stderr
    assert f"{config}(5,5) app_secret: must not be empty" in done.stderr
