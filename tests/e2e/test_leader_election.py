"""Three replicas of the documented Run:ai config elect a leader on a Lease (the Lease API test
server), and through a kill -9, a SIGTERM and an API outage bill every eligible (workload, window)
exactly once.

Each replica is ``benthic run`` as a subprocess with LEADER_ELECTION=true and short LEASE_*
durations, talking to a Run:ai simulator of its own (the same fleet: values are a pure function of
resource, metric and time), so that a simulator's request count tells what its replica asked.
The config is ``examples/run_ai.yaml`` with one mapping appended that copies the window end
(``metrics_time``) into the event: the seed's ids are ``uuid_v4()``, so the test needs the window
to count events per (workload, window). Its schedule is shortened from 30 s to 10 s windows so that
the six windows the scenario spans take a minute, not three; the lease timings are unchanged and
still short next to a window, so each failover still lands inside or across a tick as before.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from benthic.simulators.kubernetes import LeaseAPIServer, write_kubeconfig
from benthic.simulators.run_ai import RunAISimulator, generate_fleet
from tests.e2e.conftest import REPO, SEED_CONFIG, Process, benthic_argv, run_benthic
from tests.e2e.sink import RecordingSink
from tests.ports import free_port

pytest.importorskip("kubernetes_asyncio")

NAMESPACE, LOCK = "metering", "run-ai-collector"
LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 3.0, 2.0, 0.5
WORKLOADS, SEED = 10, 7
WINDOW = 10  # seconds: the test copy's schedule, */10 (the seed's is */30)
APP_ID, APP_SECRET = "leader-e2e", "leader-e2e-secret"


class InThread:
    """An asyncio server object (``start()``/``close()``) on an event loop of its own thread."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> Any:
            server = make()
            await server.start()
            return server

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(30)

    def call(self, fn: Callable[[], Any]) -> Any:
        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Replica:
    def __init__(
        self, name: str, config: Path, kubeconfig: Path, sink: RecordingSink, simulator: InThread
    ) -> None:
        self.name = name
        self.config, self.kubeconfig, self.sink, self.simulator = config, kubeconfig, sink, simulator
        self.port = free_port()
        self.process: Process | None = None
        self.lives: list[Process] = []

    def start(self) -> None:
        env = {
            "RUNAI_URL": self.simulator.server.url,
            "RUNAI_APP_ID": APP_ID,
            "RUNAI_APP_SECRET": APP_SECRET,
            "OPENMETER_URL": self.sink.base_url,
            "LEADER_ELECTION": "true",
            "LEASE_LOCK_NAME": LOCK,
            "LEASE_LOCK_NAMESPACE": NAMESPACE,
            "K8S_POD_NAME": self.name,
            "LEASE_DURATION": f"{LEASE_DURATION}s",
            "LEASE_RENEW_DEADLINE": f"{RENEW_DEADLINE}s",
            "LEASE_RETRY_PERIOD": f"{int(RETRY_PERIOD * 1000)}ms",
            "KUBECONFIG": str(self.kubeconfig),
        }
        argv = benthic_argv("run", "--set", f"http.address=127.0.0.1:{self.port}", str(self.config))
        self.process = Process(argv, env)
        self.lives.append(self.process)

    def get(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return response.status, response.read().decode()

    def runai_requests(self) -> int:
        return int(self.simulator.call(lambda: sum(self.simulator.server.requests.values())))

    @property
    def log(self) -> str:
        return self.process.output if self.process is not None else ""


def _until(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(step)


def _windowed_seed_config(path: Path) -> None:
    data = yaml.safe_load(SEED_CONFIG.read_text())
    data["input"]["run_ai"]["schedule"] = f"*/{WINDOW} * * * * *"
    data["pipeline"]["processors"].append({"mapping": 'root = this\nroot.data.window = meta("metrics_time")'})
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _sleep_until_into_window(seconds: float) -> None:
    """Sleep until ``seconds`` after the next tick of the schedule (every ``WINDOW`` seconds)."""
    now = datetime.now(UTC)
    tick = now.replace(second=(now.second // WINDOW) * WINDOW, microsecond=0) + timedelta(seconds=WINDOW)
    target = tick + timedelta(seconds=seconds)
    if target - now > timedelta(seconds=WINDOW):
        target -= timedelta(seconds=WINDOW)
    time.sleep(max(0.0, (target - now).total_seconds()))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, Any]]:
    api = InThread(LeaseAPIServer)
    kubeconfig = tmp_path / "kubeconfig"
    write_kubeconfig(kubeconfig, api.server.url)
    config = tmp_path / "run_ai.yaml"
    _windowed_seed_config(config)
    sims = [
        InThread(lambda: RunAISimulator(workloads=WORKLOADS, seed=SEED, app_id=APP_ID, app_secret=APP_SECRET))
        for _ in range(3)
    ]
    with RecordingSink() as sink:
        replicas = [Replica(f"collector-{i}", config, kubeconfig, sink, sims[i]) for i in range(3)]
        try:
            yield {"api": api, "sink": sink, "replicas": replicas}
        finally:
            for replica in replicas:
                for life in replica.lives:
                    if replica.process is life and life.returncode is None:
                        life.stop(20)
                for life in replica.lives:
                    life.cleanup()
            for sim in sims:
                sim.close()
            api.close()


def test_replicas_fail_over_on_kill_sigterm_and_api_outage_billing_each_window_once(cluster):
    api: InThread = cluster["api"]
    sink: RecordingSink = cluster["sink"]
    replicas: list[Replica] = cluster["replicas"]
    eligible = {w["name"] for w in generate_fleet(WORKLOADS, 2, SEED).eligible_workloads()}
    assert eligible

    def spec() -> dict[str, Any]:
        lease = api.call(lambda: api.server.lease(NAMESPACE, LOCK)) or {}
        return dict(lease.get("spec") or {})

    def holder() -> str:
        return str(spec().get("holderIdentity") or "")

    def taken_over_from(new: str) -> str:
        """Who held the lease in the version just before ``new`` last took it: the old leader's
        name after an expiry, ``""`` after a release."""
        holders = api.call(lambda: api.server.holders(NAMESPACE, LOCK))
        start = max(i for i, h in enumerate(holders) if h == new and (i == 0 or holders[i - 1] != new))
        return holders[start - 1] if start > 0 else ""

    def leader() -> Replica:
        name = _until(holder, 30, "a leader")
        return next(r for r in replicas if r.name == name)

    def windows_delivered() -> set[str]:
        return {e["data"]["window"] for e in sink.events()}

    def wait_for_new_window(after: set[str]) -> None:
        try:
            _until(lambda: windows_delivered() - after, 45, "a newly delivered window", step=0.2)
        except AssertionError:
            logs = "\n".join(f"--- {r.name}\n{r.log[-3000:]}" for r in replicas)
            raise AssertionError(f"no new window delivered after {sorted(after)}\n{logs}") from None

    def takeover(old: str, started: float) -> float:
        _until(lambda: holder() not in ("", old), 30, f"a new leader after {old}")
        return time.monotonic() - started

    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.process.wait_for_output(r"Starting leader election", timeout=30)  # type: ignore[union-attr]
    first = leader()
    followers = [r for r in replicas if r is not first]
    for replica in replicas:  # everyone is healthy, leader or not
        assert replica.get("/ping")[0] == 200
        _until(lambda r=replica: r.get("/ready")[0] == 200, 30, f"{replica.name} ready")
    _until(lambda: first.runai_requests() > 0, 45, "the leader to scrape")
    metrics = {r.name: r.get("/metrics")[1] for r in replicas}
    assert f'leader_election_master_status{{lease="{LOCK}"}} 1' in metrics[first.name]
    for follower in followers:
        assert f'leader_election_master_status{{lease="{LOCK}"}} 0' in metrics[follower.name]
        assert follower.runai_requests() == 0  # not even a token
    wait_for_new_window(set())

    # kill -9 of the leader, mid-window: a follower leads once the lease expires
    _sleep_until_into_window(3)
    seen = windows_delivered()
    killed_at = time.monotonic()
    first.process.kill()  # type: ignore[union-attr]
    took_kill = takeover(first.name, killed_at)  # once the lease expires (polled, 30 s at most)
    print(f"\ntakeover after kill -9: {took_kill:.2f}s")
    second = leader()
    assert taken_over_from(second.name) == first.name  # it waited for the lease to expire
    scraped_in_first_life = first.runai_requests()
    first.start()  # back under its old name, as a StatefulSet brings it
    first.process.wait_for_output(r"Starting leader election", timeout=30)  # type: ignore[union-attr]
    time.sleep(LEASE_DURATION + 2 * RETRY_PERIOD)
    assert holder() == second.name  # it rejoined as a follower
    assert "Acquired lease" not in first.log
    assert first.runai_requests() == scraped_in_first_life
    wait_for_new_window(seen)

    # SIGTERM of the leader: it releases the lease after draining, a standby takes over at once
    _sleep_until_into_window(3)
    seen = windows_delivered()
    second.process.popen.terminate()  # type: ignore[union-attr]
    # measured from the release (the drain before it takes what a loaded machine makes it take)
    second.process.wait_for_output(r"Released lease", timeout=30)  # type: ignore[union-attr]
    took_term = takeover(second.name, time.monotonic())
    assert second.process.wait(30) == 0  # type: ignore[union-attr]
    print(f"takeover after the SIGTERM'd leader released: {took_term:.2f}s")
    third = leader()
    assert taken_over_from(third.name) == ""  # released: nobody waited for it to expire
    wait_for_new_window(seen)

    # API outage across a tick: the leader stops before the renew deadline, nobody scrapes,
    # and a leader emerges by itself afterwards
    _sleep_until_into_window(WINDOW - 3)
    outage = RENEW_DEADLINE + LEASE_DURATION + 2.0
    transitions = spec().get("leaseTransitions", 0)
    api.call(lambda: api.server.outage(outage))
    down_at = time.monotonic()
    third.process.wait_for_output(r"Lost lease .* \(could not renew", timeout=RENEW_DEADLINE + 5)  # type: ignore[union-attr]
    stepped_down = time.monotonic() - down_at
    requests_during = [r.runai_requests() for r in replicas]
    time.sleep(max(0.0, outage - (time.monotonic() - down_at)))
    assert [r.runai_requests() for r in replicas] == requests_during  # nobody scraped the tick
    back_at = time.monotonic()
    _until(lambda: spec().get("leaseTransitions", 0) > transitions, 30, "a leader acquiring after the outage")
    took_outage = time.monotonic() - back_at
    print(f"leader stepped down {stepped_down:.2f}s into the outage; a leader {took_outage:.2f}s after it")
    for replica in replicas:
        election = [line for line in replica.log.splitlines() if "lease" in line.lower() or "Leading" in line]
        print(f"--- {replica.name}\n" + "\n".join(line[:200] for line in election[-6:]))
    for _ in range(3):
        wait_for_new_window(windows_delivered())

    for replica in replicas:
        if replica.process is not None and replica.process.returncode is None:
            replica.process.stop(30)

    # every (workload, window) exactly once, no window missing between the first and the last
    counts = Counter((e["subject"], e["data"]["window"]) for e in sink.events())
    windows = sorted({window for _, window in counts})
    print(f"windows billed: {len(windows)} ({windows[0]} .. {windows[-1]})")
    ends = [datetime.fromisoformat(w.replace("Z", "+00:00")) for w in windows]
    assert all(b - a == timedelta(seconds=WINDOW) for a, b in zip(ends, ends[1:], strict=False)), windows
    twice = {key: n for key, n in counts.items() if n > 1}
    assert not twice, f"billed more than once: {twice}"
    missing = [(name, w) for w in windows for name in eligible if (name, w) not in counts]
    assert not missing, f"never billed: {missing}"
    assert {name for name, _ in counts} == eligible
    assert len(windows) >= 6


# -- start-up errors ----------------------------------------------------------------------------------

ELECTION_ENV = {
    **{"RUNAI_URL": "http://127.0.0.1:9", "RUNAI_APP_ID": "app", "RUNAI_APP_SECRET": "secret"},
    "LEADER_ELECTION": "true",
    "LEASE_LOCK_NAME": LOCK,
    "LEASE_LOCK_NAMESPACE": NAMESPACE,
}


def test_run_and_lint_refuse_bad_lease_settings_naming_the_variable():
    env = {**ELECTION_ENV, "LEASE_RENEW_DEADLINE": "10", "LEASE_LOCK_NAME": ""}
    for command in ("run", "lint"):
        result = run_benthic(command, str(SEED_CONFIG), env=env)
        assert result.returncode == 1
        assert 'LEASE_RENEW_DEADLINE: time: missing unit in duration "10"' in result.stderr
        assert "LEASE_LOCK_NAME: the lease lock name is required" in result.stderr


def test_run_without_the_kubernetes_extra_says_how_to_install_it(tmp_path):
    # a package of that name that fails to import stands in for an image built without the extra
    shadow = tmp_path / "kubernetes_asyncio"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = {**ELECTION_ENV, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    result = run_benthic("run", str(SEED_CONFIG), env=env)
    assert result.returncode == 1
    assert "pip install 'benthic[kubernetes]'" in result.stderr


def test_run_with_an_unreadable_kubeconfig_exits_naming_it(tmp_path):
    kubeconfig = tmp_path / "missing-kubeconfig"
    result = run_benthic("run", str(SEED_CONFIG), env={**ELECTION_ENV, "KUBECONFIG": str(kubeconfig)})
    assert result.returncode == 1
    assert f"cannot reach the Kubernetes API through kubeconfig {kubeconfig}" in result.stdout + result.stderr
