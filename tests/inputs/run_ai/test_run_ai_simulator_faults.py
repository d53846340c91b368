"""The input against a misbehaving Run:ai: bad credentials, random faults, TLS."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess

import pytest
from run_ai_helpers import a_past_window

from benthic.simulators.run_ai import RunAISimulator
from inputs.run_ai.client import WORKLOAD_METRICS, RunAIError


def test_wrong_credentials_are_reported_as_a_401_from_the_token_endpoint(runai):
    async def scenario():
        async with runai(sim={"workloads": 2}, connect=False, app_secret="not-the-secret") as h:
            with pytest.raises(RunAIError) as caught:
                await h.client.list_workloads(500)
            assert caught.value.status == 401
            assert "failed to refresh token: POST /api/v1/token: status 401" in str(caught.value)
            assert "invalid application credentials" in str(caught.value)
            assert "not-the-secret" not in str(caught.value)

    asyncio.run(scenario())


def test_requests_without_a_valid_token_are_refused(runai):
    async def scenario():
        async with runai(sim={"workloads": 2}, connect=False) as h:
            import httpx

            async with httpx.AsyncClient() as plain:
                missing = await plain.get(f"{h.sim.url}/api/v1/workloads")
                forged = await plain.get(
                    f"{h.sim.url}/api/v1/workloads", headers={"Authorization": "Bearer a.b.c"}
                )
            assert missing.status_code == 401 and forged.status_code == 401

    asyncio.run(scenario())


def test_a_flaky_run_ai_still_yields_complete_windows_with_enough_retries(runai):
    async def scenario():
        sim = {
            "workloads": 20,
            "error_rate": 0.2,
            "rate_limit_rate": 0.1,
            "retry_after": 0,
            "token_failure_rate": 0.2,
        }
        http = {"retry_count": 12, "retry_wait_time": "1ms", "retry_max_wait_time": "5ms"}
        async with runai(sim=sim, connect=False, http=http) as h:
            bodies = await h.client.scrape("workload", a_past_window(), WORKLOAD_METRICS, 500)
            assert [b["id"] for b in bodies] == [w["id"] for w in h.sim.fleet.eligible_workloads()]
            assert all(len(b["metrics"]["values"]) == 12 for b in bodies)
            statuses = {r.status for r in h.sim.records}
            assert {429, 200} <= statuses and statuses & {500, 503}

    asyncio.run(scenario())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls_settings_are_honoured(runai, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(str(cert), str(key))

    async def scenario():
        async with RunAISimulator(workloads=3, ssl=server_ctx) as sim:
            assert sim.url.startswith("https://")
            trusted = {"enabled": True, "root_cas_file": str(cert)}
            async with runai(sim={"workloads": 1}, connect=False, url=sim.url, tls=trusted) as h:
                assert len(await h.client.list_workloads(500)) == len(sim.fleet.eligible_workloads())
            async with runai(sim={"workloads": 1}, connect=False, url=sim.url, http={"retry_count": 0}) as h:
                with pytest.raises(RunAIError, match="CERTIFICATE_VERIFY_FAILED|ConnectError"):
                    await h.client.list_workloads(500)

    asyncio.run(scenario())
