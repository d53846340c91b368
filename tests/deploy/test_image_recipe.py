"""The container recipe without a container builder: deploy/install.sh installs benthic from a copy
of what the Containerfile copies into a fresh virtual environment in a temporary directory, and
deploy/entrypoint.sh starts it there as it starts in the image (as a non-root user, without
write access to the system's CA store). Then the baked presets run against servers on 127.0.0.1,
and a certificate mounted in the CA directory is what makes an HTTPS sink trusted."""

from __future__ import annotations

import difflib
import http.server
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
import trustme

from tests.e2e.conftest import Simulator
from tests.e2e.sink import RecordingSink
from tests.ports import free_port
from tests.shared import UPSTREAM_CONFIGS

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CONTAINERFILE = DEPLOY / "Containerfile"


@dataclass
class Installed:
    root: Path
    prefix: Path  # the image's /opt/benthic
    home: Path  # the image's /etc/benthic (work directory, presets)

    @property
    def entrypoint(self) -> Path:
        return self.prefix / "bin" / "benthic-entrypoint"

    @property
    def benthic(self) -> Path:
        return self.prefix / "bin" / "benthic"


def containerfile_copies() -> list[tuple[list[str], str]]:
    """The (sources, destination) of each COPY line of the Containerfile."""
    copies = []
    for line in CONTAINERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            *sources, destination = line.split()[1:]
            copies.append((sources, destination))
    return copies


def clean_env(**extra: str) -> dict[str, str]:
    """A container-like environment: no repository on the path, no proxies, no CA overrides."""
    keep = ("HOME", "LANG", "LC_ALL", "TZ")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("image")
    src = root / "src"
    # exactly what the Containerfile copies into the build, from this checkout
    for sources, destination in containerfile_copies():
        target = src / destination.removeprefix("/src").lstrip("/")
        for source in sources:
            if (REPO / source).is_dir():
                shutil.copytree(
                    REPO / source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(REPO / source, target / source)
    installed = Installed(root, root / "opt" / "benthic", root / "etc" / "benthic")
    result = subprocess.run(
        ["sh", str(src / "deploy" / "install.sh"), str(src)],
        env={
            **clean_env(),
            "BENTHIC_PREFIX": str(installed.prefix),
            "BENTHIC_HOME": str(installed.home),
            "PYTHON": sys.executable,
            **{k: v for k, v in os.environ.items() if k.startswith("PIP_")},
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return installed


class Started:
    """A process started through the entrypoint, its output in a file."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.log_path = cwd.parent / f"benthic-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd)

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_ok(self, url: str, timeout: float = 30.0) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            assert self.popen.poll() is None, f"exited with {self.popen.returncode}:\n{self.output[-3000:]}"
            try:
                response = httpx.get(url, timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{url} not 200 within {timeout}s:\n{self.output[-3000:]}"
            time.sleep(0.1)

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        self._log.close()
        return self.popen.wait()


class TLSSink:
    """An HTTPS server on 127.0.0.1 with a certificate from a test CA; records POSTed bodies."""

    def __init__(self, ca: trustme.CA) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        received = threading.Condition()
        self.received = received
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with received:
                    sink.bodies.append(body)
                    sink.headers.append({k.lower(): v for k, v in self.headers.items()})
                    received.notify_all()
                self.send_response(204)
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for_bodies(self, count: int, timeout: float = 30.0) -> list[bytes]:
        with self.received:
            assert self.received.wait_for(lambda: len(self.bodies) >= count, timeout), self.bodies
            return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def test_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_sink(test_ca: trustme.CA) -> Iterator[TLSSink]:
    sink = TLSSink(test_ca)
    yield sink
    sink.close()


def ca_dir_with(root: Path, ca: trustme.CA, name: str = "private-ca.crt") -> Path:
    ca_dir = root / "ca-certificates"
    ca_dir.mkdir(exist_ok=True)
    ca.cert_pem.write_to_path(str(ca_dir / name))
    return ca_dir


def fetch_through_entrypoint(installed: Installed, url: str, env: dict[str, str], cwd: Path) -> str:
    """GET ``url`` with httpx's defaults, as benthic's HTTP clients do, in the installed Python."""
    code = (
        "import sys, httpx\n"
        "try:\n"
        f"    print(httpx.get({url!r}, timeout=10).status_code)\n"
        "except httpx.ConnectError as err:\n"
        "    print('ConnectError', err)\n"
    )
    result = subprocess.run(
        [str(installed.entrypoint), str(installed.prefix / "bin" / "python"), "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip() + "\n" + result.stderr


# -- the recipe ------------------------------------------------------------------------------------------


def test_the_containerfile_copies_every_package_the_install_needs() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {source for sources, _ in containerfile_copies() for source in sources}
    assert packages | {"pyproject.toml", "README.md", "deploy"} <= copied


def test_the_containerfile_runs_the_install_script_and_the_entrypoint_as_a_non_root_user() -> None:
    text = CONTAINERFILE.read_text()
    assert re.search(r"^FROM docker\.io/library/python:\$\{PYTHON_VERSION\}-slim$", text, re.M)
    assert re.search(r"^ARG PYTHON_VERSION=3\.1[12]$", text, re.M)
    assert "RUN sh /src/deploy/install.sh /src" in text
    user = re.search(r"^USER (\S+)$", text, re.M)
    assert user and not user.group(1).startswith(("0", "root"))
    assert re.search(r"^EXPOSE 4195$", text, re.M)
    assert re.search(r"^WORKDIR /etc/benthic$", text, re.M)
    assert 'ENTRYPOINT ["/opt/benthic/bin/benthic-entrypoint", "/opt/benthic/bin/benthic"]' in text


def test_the_install_lays_out_benthic_the_presets_and_the_entrypoint(installed: Installed) -> None:
    for name in ("run-ai", "http-server"):
        baked = installed.home / "presets" / name / "config.yaml"
        assert baked.read_bytes() == (DEPLOY / "presets" / name / "config.yaml").read_bytes()
    assert (installed.home / "cloudevents.spec.json").read_bytes() == (
        DEPLOY / "presets" / "cloudevents.spec.json"
    ).read_bytes()
    result = subprocess.run(
        [str(installed.entrypoint), str(installed.benthic), "--version"],
        env=clean_env(BENTHIC_CA_DIR=str(installed.root / "no-such-dir")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.startswith("Version: "), result.stderr
    # the package runs from the environment, not from this checkout
    location = subprocess.run(
        [str(installed.prefix / "bin" / "python"), "-c", "import pipeline; print(pipeline.__file__)"],
        env=clean_env(),
        cwd=installed.root,
        capture_output=True,
        text=True,
    )
    assert location.stdout.startswith(str(installed.prefix)), location.stdout + location.stderr


def test_the_install_brings_the_kubernetes_extra_where_the_project_defines_it(installed: Installed) -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    if "kubernetes" not in extras:
        pytest.skip("this checkout has no kubernetes extra yet (leader election lands with it)")
    result = subprocess.run(
        [str(installed.prefix / "bin" / "python"), "-c", "import kubernetes_asyncio"],
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_presets_are_the_seed_config_and_openmeters_preset() -> None:
    upstream = UPSTREAM_CONFIGS / "openmeter"
    http_server = DEPLOY / "presets" / "http-server" / "config.yaml"
    assert (
        http_server.read_bytes()
        == (upstream / "collector/benthos/presets/http-server/config.yaml").read_bytes()
    )
    schema = DEPLOY / "presets" / "cloudevents.spec.json"
    assert schema.read_bytes() == (upstream / "cloudevents.spec.json").read_bytes()
    # the seed's config with exactly the two lines a deployment needs
    seed = (REPO / "examples" / "run_ai.yaml").read_text().splitlines()
    preset = (DEPLOY / "presets" / "run-ai" / "config.yaml").read_text().splitlines()
    diff = [line for line in difflib.ndiff(seed, preset) if line[:1] in "+-"]
    assert diff == [
        "+     state_path: '${RUNAI_STATE_PATH:}'",
        "-         Authorization: 'Bearer $KONNECT_SYSTEM_ACCESS_TOKEN'",
        "+         Authorization: 'Bearer ${KONNECT_SYSTEM_ACCESS_TOKEN}'",
    ]


# -- CA injection ----------------------------------------------------------------------------------------


def test_a_mounted_ca_is_what_makes_the_https_server_trusted(
    installed: Installed, test_ca: trustme.CA, tls_sink: TLSSink, tmp_path: Path
) -> None:
    env = clean_env(BENTHIC_CA_DIR=str(tmp_path / "ca-certificates"), TMPDIR=str(tmp_path))
    untrusted = fetch_through_entrypoint(installed, tls_sink.url, env, tmp_path)
    assert untrusted.startswith("ConnectError") and "CERTIFICATE_VERIFY_FAILED" in untrusted

    ca_dir_with(tmp_path, test_ca)
    trusted = fetch_through_entrypoint(installed, tls_sink.url, env, tmp_path)
    assert trusted.startswith("200"), trusted
    assert f"trusting 1 certificate(s) from {tmp_path / 'ca-certificates'}" in trusted
    # public roots stay trusted: the mounted CA is added to the system bundle, not put in its place
    bundle = (tmp_path / "benthic-ca-bundle.pem").read_text()
    assert bundle.count("BEGIN CERTIFICATE") > 1
    assert test_ca.cert_pem.bytes().decode().strip() in bundle


def test_a_config_map_mounted_ca_counts_once_and_a_non_pem_file_is_skipped(
    installed: Installed, test_ca: trustme.CA, tls_sink: TLSSink, tmp_path: Path
) -> None:
    # the layout a ConfigMap volume has: visible names are links into a hidden, timestamped dir
    ca_dir = tmp_path / "ca-certificates"
    data = ca_dir / "..2026_12_04_10_00_00.000000001"
    data.mkdir(parents=True)
    test_ca.cert_pem.write_to_path(str(data / "private-ca.crt"))
    (data / "broken.crt").write_text("not a certificate\n")
    (ca_dir / "..data").symlink_to(data.name)
    (ca_dir / "private-ca.crt").symlink_to("..data/private-ca.crt")
    (ca_dir / "broken.crt").symlink_to("..data/broken.crt")
    env = clean_env(BENTHIC_CA_DIR=str(ca_dir), TMPDIR=str(tmp_path))
    output = fetch_through_entrypoint(installed, tls_sink.url, env, tmp_path)
    assert output.startswith("200"), output
    assert f"skipping {ca_dir / 'broken.crt'}: not a PEM certificate" in output
    assert "trusting 1 certificate(s)" in output


# -- the presets, started as the image starts them -----------------------------------------------------


def test_the_http_server_preset_serves_health_and_forwards_to_an_https_sink_trusted_at_start(
    installed: Installed, test_ca: trustme.CA, tls_sink: TLSSink, tmp_path: Path
) -> None:
    service_port, ingest_port = free_port(), free_port()
    env = clean_env(
        BENTHIC_CA_DIR=str(ca_dir_with(tmp_path, test_ca)),
        TMPDIR=str(tmp_path),
        OPENMETER_URL=tls_sink.url,
        OPENMETER_TOKEN="deploy-test-token",
        BUFFER_PATH=str(tmp_path / "buffer.db"),
        LOG_LEVEL="INFO",
    )
    argv = [
        str(installed.entrypoint),
        str(installed.benthic),
        "-c",
        str(installed.home / "presets" / "http-server" / "config.yaml"),
        "--set",
        f"http.address=127.0.0.1:{service_port}",
        "--set",
        f"input.http_server.address=127.0.0.1:{ingest_port}",
    ]
    # the image's work directory: the preset finds cloudevents.spec.json there
    process = Started(argv, env, cwd=installed.home)
    try:
        process.wait_until_ok(f"http://127.0.0.1:{service_port}/ping")
        process.wait_until_ok(f"http://127.0.0.1:{service_port}/ready")
        event = {
            "specversion": "1.0",
            "id": "deploy-1",
            "source": "deploy-test",
            "type": "request",
            "subject": "customer-1",
        }
        response = httpx.post(
            f"http://127.0.0.1:{ingest_port}/api/v1/events",
            content=orjson.dumps(event),
            headers={"Content-Type": "application/cloudevents+json"},
            timeout=30,
        )
        assert response.status_code == 204, response.text
        body = tls_sink.wait_for_bodies(1)[0]
        assert [e["id"] for e in orjson.loads(body)] == ["deploy-1"]
        assert tls_sink.headers[0]["authorization"] == "Bearer deploy-test-token"
        metrics = httpx.get(f"http://127.0.0.1:{service_port}/metrics", timeout=5).text
        assert "openmeter_event_received" in metrics
    finally:
        code = process.stop()
    assert code == 0, process.output[-3000:]
    assert "trusting 1 certificate(s)" in process.output
    assert "deploy-test-token" not in process.output


def test_the_run_ai_preset_scrapes_the_simulator_and_delivers_to_the_sink(
    installed: Installed, tmp_path: Path
) -> None:
    simulator = Simulator("--workloads", "3")
    service_port = free_port()
    try:
        with RecordingSink() as sink:
            env = clean_env(
                **simulator.env(),
                OPENMETER_URL=sink.base_url,
                KONNECT_SYSTEM_ACCESS_TOKEN="konnect-test-token",
                RUNAI_STATE_PATH=str(tmp_path / "run_ai.state"),
                LOG_LEVEL="INFO",
                TMPDIR=str(tmp_path),
            )
            argv = [
                str(installed.entrypoint),
                str(installed.benthic),
                "-c",
                str(installed.home / "presets" / "run-ai" / "config.yaml"),
                "--set",
                f"http.address=127.0.0.1:{service_port}",
                # one scrape a second instead of every 30 s: the test waits for one window
                "--set",
                "input.run_ai.schedule=* * * * * *",
                "--set",
                "input.run_ai.metrics_offset=0s",
            ]
            process = Started(argv, env, cwd=tmp_path)
            try:
                process.wait_until_ok(f"http://127.0.0.1:{service_port}/ready")
                events = sink.wait_for_events(3, timeout=30)
                assert {e["source"] for e in events} == {"run_ai"}
                assert sink.accepted()[0].header("authorization") == "Bearer konnect-test-token"
            finally:
                code = process.stop()
            assert code == 0, process.output[-3000:]
            assert (tmp_path / "run_ai.state").exists()
            assert "konnect-test-token" not in process.output
    finally:
        simulator.stop()
