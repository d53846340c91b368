"""Leader election: the settings from the environment, the Lease API test server driven by the
real ``kubernetes-asyncio`` client, and electors in one process racing for a Lease on it."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from benthic.simulators.kubernetes import LeaseAPIServer, write_kubeconfig
from pipeline.leader import (
    CHECKPOINTS_ANNOTATION,
    ElectionSettings,
    Leadership,
    LeaseElector,
    election_settings,
)
from pipeline.logs import Logger, LogSink
from pipeline.metrics import Metrics

kubernetes_asyncio = pytest.importorskip("kubernetes_asyncio")
from kubernetes_asyncio import client, config  # noqa: E402
from kubernetes_asyncio.client.exceptions import ApiException  # noqa: E402

NS = "metering"

# -- settings ---------------------------------------------------------------------------------------


def test_election_is_off_unless_leader_election_is_true():
    assert election_settings({}) == (None, [])
    assert election_settings({"LEADER_ELECTION": "false", "LEASE_DURATION": "nonsense"}) == (None, [])


def test_election_settings_default_as_openmeter_and_fall_back_to_pod_metadata(tmp_path):
    ns_file = tmp_path / "namespace"
    ns_file.write_text("from-sa\n")
    settings, problems = election_settings(
        {"LEADER_ELECTION": "true", "K8S_APP_INSTANCE": "collector", "K8S_POD_NAME": "collector-0"},
        namespace_file=str(ns_file),
    )
    assert problems == []
    assert settings == ElectionSettings("collector", "from-sa", "collector-0", 15.0, 10.0, 2.0)


def test_explicit_lease_variables_win_over_pod_metadata():
    settings, _ = election_settings(
        {
            "LEADER_ELECTION": "1",
            "LEASE_LOCK_NAME": "lock",
            "K8S_APP_INSTANCE": "app",
            "LEASE_LOCK_NAMESPACE": "ns-explicit",
            "K8S_NAMESPACE": "ns-pod",
            "LEASE_DURATION": "1m",
            "LEASE_RENEW_DEADLINE": "40s",
            "LEASE_RETRY_PERIOD": "500ms",
        },
        namespace_file="/nonexistent",
    )
    assert settings is not None
    assert (settings.lock_name, settings.namespace) == ("lock", "ns-explicit")
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (60.0, 40.0, 0.5)


def test_bad_election_settings_are_named_one_by_one():
    _, problems = election_settings(
        {"LEADER_ELECTION": "true", "LEASE_DURATION": "15", "LEASE_RETRY_PERIOD": "-2s"},
        namespace_file="/nonexistent",
    )
    text = "\n".join(problems)
    assert "LEASE_LOCK_NAME: the lease lock name is required" in text
    assert "LEASE_LOCK_NAMESPACE: the lease lock namespace is required" in text
    assert 'LEASE_DURATION: time: missing unit in duration "15"' in text
    assert "LEASE_RETRY_PERIOD: must be positive" in text
    _, problems = election_settings({"LEADER_ELECTION": "yes"})
    assert problems == ["LEADER_ELECTION: expected true or false, got 'yes'"]


def test_a_renew_deadline_past_the_lease_duration_is_refused():
    _, problems = election_settings(
        {
            "LEADER_ELECTION": "true",
            "LEASE_LOCK_NAME": "l",
            "LEASE_LOCK_NAMESPACE": "n",
            "LEASE_DURATION": "10s",
            "LEASE_RENEW_DEADLINE": "10s",
            "LEASE_RETRY_PERIOD": "9s",
        }
    )
    assert problems == [
        "LEASE_DURATION (10s) must be greater than LEASE_RENEW_DEADLINE (10s)",
        "LEASE_RENEW_DEADLINE (10s) must be greater than 1.2 x LEASE_RETRY_PERIOD (9s)",
    ]


# -- the Lease API server through the real client ----------------------------------------------------


@asynccontextmanager
async def lease_api(tmp_path: Any) -> AsyncIterator[tuple[LeaseAPIServer, str]]:
    server = LeaseAPIServer()
    await server.start()
    kubeconfig = tmp_path / "kubeconfig"
    write_kubeconfig(kubeconfig, server.url)
    try:
        yield server, str(kubeconfig)
    finally:
        await server.close()


async def _coordination(kubeconfig: str) -> tuple[Any, Any]:
    api_config = client.Configuration()
    await config.load_kube_config(
        config_file=kubeconfig, client_configuration=api_config, persist_config=False
    )
    api_client = client.ApiClient(configuration=api_config)
    return api_client, client.CoordinationV1Api(api_client)


def _lease(name: str, holder: str) -> Any:
    return client.V1Lease(
        metadata=client.V1ObjectMeta(name=name, annotations={"a": "1"}),
        spec=client.V1LeaseSpec(holder_identity=holder, lease_duration_seconds=15),
    )


def test_the_lease_api_server_speaks_kubernetes_to_the_real_client(tmp_path):
    async def scenario() -> None:
        async with lease_api(tmp_path) as (server, kubeconfig):
            api_client, api = await _coordination(kubeconfig)
            try:
                with pytest.raises(ApiException) as missing:
                    await api.read_namespaced_lease("lock", NS)
                assert missing.value.status == 404
                body = json.loads(missing.value.body)
                assert body["kind"] == "Status" and body["reason"] == "NotFound"
                assert body["message"] == 'leases.coordination.k8s.io "lock" not found'
                assert body["details"] == {"name": "lock", "group": "coordination.k8s.io", "kind": "leases"}

                created = await api.create_namespaced_lease(NS, _lease("lock", "a"))
                assert created.metadata.namespace == NS and created.metadata.uid
                first_version = created.metadata.resource_version

                with pytest.raises(ApiException) as exists:
                    await api.create_namespaced_lease(NS, _lease("lock", "b"))
                assert exists.value.status == 409
                assert json.loads(exists.value.body)["reason"] == "AlreadyExists"

                got = await api.read_namespaced_lease("lock", NS)
                got.spec.holder_identity = "b"
                replaced = await api.replace_namespaced_lease("lock", NS, got)
                assert replaced.spec.holder_identity == "b"
                assert int(replaced.metadata.resource_version) > int(first_version)

                got.spec.holder_identity = "c"  # still carries the old resourceVersion
                with pytest.raises(ApiException) as conflict:
                    await api.replace_namespaced_lease("lock", NS, got)
                assert conflict.value.status == 409
                status = json.loads(conflict.value.body)
                assert status["reason"] == "Conflict"
                assert "the object has been modified" in status["message"]

                patched = await api.patch_namespaced_lease(
                    "lock",
                    NS,
                    {"metadata": {"annotations": {"a": None, "b": "2"}}, "spec": {"leaseTransitions": 3}},
                )
                assert patched.metadata.annotations == {"b": "2"}
                assert (patched.spec.holder_identity, patched.spec.lease_transitions) == ("b", 3)

                with pytest.raises(ApiException) as stale_patch:
                    await api.patch_namespaced_lease(
                        "lock",
                        NS,
                        {"metadata": {"resourceVersion": first_version}, "spec": {"holderIdentity": "x"}},
                    )
                assert stale_patch.value.status == 409

                server.outage(60)
                with pytest.raises(ApiException) as down:
                    await api.read_namespaced_lease("lock", NS)
                assert down.value.status == 503
                assert json.loads(down.value.body)["reason"] == "ServiceUnavailable"
                server.outage(0)
                assert (await api.read_namespaced_lease("lock", NS)).spec.holder_identity == "b"
                listed = await api.list_namespaced_lease(NS)
                assert [item.metadata.name for item in listed.items] == ["lock"]
            finally:
                await api_client.close()

    asyncio.run(scenario())


# -- electors racing on the server --------------------------------------------------------------------


class Replica:
    def __init__(self, identity: str, settings: ElectionSettings) -> None:
        self.log = io.StringIO()
        self.metrics = Metrics()
        self.leadership = Leadership(enabled=True)
        self.settings = ElectionSettings(
            settings.lock_name,
            settings.namespace,
            identity,
            settings.lease_duration,
            settings.renew_deadline,
            settings.retry_period,
        )
        self.elector = LeaseElector(
            self.settings, self.leadership, Logger(LogSink(stream=self.log)), self.metrics
        )

    @property
    def status(self) -> float | None:
        return self.metrics.value("leader_election_master_status", lease=self.settings.lock_name)


SHORT = ElectionSettings("lock", NS, "", lease_duration=1.5, renew_deadline=1.0, retry_period=0.2)


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _electing(tmp_path: Any, scenario: Callable[[LeaseAPIServer], Awaitable[None]]) -> None:
    async def run() -> None:
        async with lease_api(tmp_path) as (server, kubeconfig):
            old = os.environ.get("KUBECONFIG")
            os.environ["KUBECONFIG"] = kubeconfig
            try:
                await scenario(server)
            finally:
                if old is None:
                    os.environ.pop("KUBECONFIG", None)
                else:
                    os.environ["KUBECONFIG"] = old

    asyncio.run(run())


def test_one_replica_leads_and_a_release_hands_over_with_its_checkpoints(tmp_path):
    async def scenario(server: LeaseAPIServer) -> None:
        first, second = Replica("pod-0", SHORT), Replica("pod-1", SHORT)
        await first.elector.start()
        await _until(lambda: first.leadership.leading)
        await second.elector.start()
        assert await asyncio.wait_for(first.leadership.lead(), 5) == 1
        await asyncio.sleep(0.6)
        assert not second.leadership.leading
        assert (first.status, second.status) == (1, 0)

        first.leadership.record("root.input", "2026-01-01T00:00:30Z")
        await _until(
            lambda: (
                json.loads(
                    (server.lease(NS, "lock") or {})["metadata"]["annotations"][CHECKPOINTS_ANNOTATION]
                )
                == {"root.input": "2026-01-01T00:00:30Z"}
            )
        )
        await first.elector.close()
        lease = server.lease(NS, "lock") or {}
        assert lease["spec"]["holderIdentity"] == "" and lease["spec"]["leaseDurationSeconds"] == 1
        await asyncio.wait_for(second.leadership.lead(), 5)
        # a release does not wait for the lease to expire: pod-1 took over a lease nobody held,
        # which is what pod-0 wrote on closing (after an expiry, the version before would name pod-0)
        holders = server.holders(NS, "lock")
        assert holders[holders.index("pod-1") - 1] == ""
        assert holders[: holders.index("pod-1") - 1] == ["pod-0"] * (holders.index("pod-1") - 1)
        assert second.leadership.checkpoint("root.input") == "2026-01-01T00:00:30Z"
        assert (server.lease(NS, "lock") or {})["spec"]["leaseTransitions"] == 1
        assert "Acquired lease metering/lock" in second.log.getvalue()
        assert "Lost lease metering/lock (released on shutdown)" in first.log.getvalue()
        assert first.metrics.value("leader_election_transitions", lease="lock") == 2
        await second.elector.close()

    _electing(tmp_path, scenario)


def test_a_replica_restarted_under_its_old_name_waits_for_its_old_lease_to_expire(tmp_path):
    async def scenario(server: LeaseAPIServer) -> None:
        old_life = Replica("pod-0", SHORT)
        await old_life.elector.start()
        await _until(lambda: old_life.leadership.leading)
        old_life.elector._task.cancel()  # type: ignore[union-attr]  # dies without releasing
        await old_life.elector._api_client.close()
        renewed = (server.lease(NS, "lock") or {})["spec"]["renewTime"]
        new_life = Replica("pod-0", SHORT)
        await new_life.elector.start()
        await asyncio.sleep(0.5)
        assert not new_life.leadership.leading  # the old life's lease is not taken as its own
        await asyncio.wait_for(new_life.leadership.lead(), 5)
        assert (server.lease(NS, "lock") or {})["spec"]["renewTime"] != renewed
        await new_life.elector.close()

    _electing(tmp_path, scenario)


def test_an_api_outage_stops_the_leader_at_the_renew_deadline_and_it_recovers_afterwards(tmp_path):
    async def scenario(server: LeaseAPIServer) -> None:
        replica = Replica("pod-0", SHORT)
        await replica.elector.start()
        await asyncio.wait_for(replica.leadership.lead(), 5)
        server.outage(3.0)
        down_at = time.monotonic()  # every renewal that succeeded was sent before this (one loop)
        # the safety property: the gate is open only before the renew deadline of the last
        # renewal, so it is shut before another replica could take the lease. Each check is
        # stamped before it is made, so a late wake-up on a loaded machine only makes a check
        # later (and so more likely shut), never an open gate look earlier than it was.
        last_open = down_at

        def shut() -> bool:
            nonlocal last_open
            checked_at = time.monotonic()
            if replica.leadership.leading:
                last_open = max(last_open, checked_at)
                return False
            return True

        await _until(shut)
        print(f"last seen leading {last_open - down_at:.2f}s into the outage")
        assert last_open - down_at < SHORT.renew_deadline
        await _until(lambda: replica.status == 0)  # the gauge follows the gate
        assert await asyncio.wait_for(replica.leadership.lead(), 10) == 2  # a new term, by itself
        await replica.elector.close()

    _electing(tmp_path, scenario)
