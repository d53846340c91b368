"""Shared end-to-end fixtures: the benthic CLI as a subprocess, the Run:ai simulator
and a recording OpenMeter-compatible sink.

    def test_something(benthic, simulator, sink):
        proc = benthic("run", "examples/run_ai.yaml", env={"RUNAI_URL": simulator.url, ...})
        proc.wait_for_output("Output type http_client is now active")
        sink.wait_for_events(3)
        proc.stop()                       # SIGTERM, then waits; proc.returncode, proc.output

Processes started through these fixtures are stopped (and killed if they do not stop) at the end
of the test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # so that ``tests.e2e.sink`` imports however pytest was started
    sys.path.insert(0, str(REPO))

from tests.e2e.sink import RecordingSink  # noqa: E402

SEED_CONFIG = REPO / "examples" / "run_ai.yaml"


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: ours, with the repo importable and no proxies."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class Process:
    """A subprocess whose combined output is written to a file (no pipe can fill and block it)."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None, cwd: Path | str = REPO) -> None:
        self.argv = argv
        self._log = tempfile.NamedTemporaryFile(prefix="benthic-e2e-", suffix=".log", delete=False)
        self.log_path = Path(self._log.name)
        self.popen = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=base_env(env),
            cwd=str(cwd),
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def wait_for_output(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Wait until the output matches ``pattern`` (a regular expression); return the match."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            found = regex.search(self.output)
            if found:
                return found
            if self.popen.poll() is not None:
                found = regex.search(self.output)
                if found:
                    return found
                raise AssertionError(
                    f"process exited ({self.popen.returncode}) before printing {pattern!r}:\n{self.output[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {pattern!r} in the output within {timeout}s:\n{self.output[-4000:]}"
                )
            time.sleep(0.05)

    def wait(self, timeout: float = 30.0) -> int:
        return self.popen.wait(timeout)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait (SIGKILL after ``timeout``); return the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.wait()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)

    def cleanup(self) -> None:
        self.kill()
        self._log.close()
        self.log_path.unlink(missing_ok=True)


def benthic_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "benthic.cli", *args]


@pytest.fixture
def benthic() -> Iterator[Any]:
    """Start ``python -m benthic.cli <args>`` with extra env; stopped at the end of the test."""
    started: list[Process] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Process:
        proc = Process(benthic_argv(*args), env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.cleanup()


def run_benthic(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion and capture its output."""
    return subprocess.run(
        benthic_argv(*args), env=base_env(env), cwd=str(REPO), capture_output=True, text=True, timeout=timeout
    )


# what the documented configs read from the environment (they do not lint without it: the
# Run:ai URL and credentials default to empty strings)
RUNAI_LINT_ENV = {
    "RUNAI_URL": "http://127.0.0.1:9",
    "RUNAI_APP_ID": "app",
    "RUNAI_APP_SECRET": "secret",
}


class Simulator:
    """The Run:ai API simulator as a subprocess; ``url`` is its base URL."""

    APP_ID = "benthic-e2e"
    APP_SECRET = "e2e-secret"

    def __init__(self, *extra_args: str) -> None:
        self.process = Process(
            benthic_argv(
                "simulate",
                "run_ai",
                "--port",
                "0",
                "--app-id",
                self.APP_ID,
                "--app-secret",
                self.APP_SECRET,
                *extra_args,
            )
        )
        found = self.process.wait_for_output(r"listening on (http://127\.0\.0\.1:\d+)", timeout=30)
        self.url = found.group(1)

    def env(self) -> dict[str, str]:
        return {"RUNAI_URL": self.url, "RUNAI_APP_ID": self.APP_ID, "RUNAI_APP_SECRET": self.APP_SECRET}

    def stop(self) -> None:
        self.process.stop(10)
        self.process.cleanup()


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    sim = Simulator()
    yield sim
    sim.stop()


@pytest.fixture
def sink() -> Iterator[RecordingSink]:
    with RecordingSink() as recording:
        yield recording


@pytest.fixture(scope="session")
def seed_config_runs() -> None:
    """The documented config must lint (warnings allowed) before the tests that run it say more."""
    result = run_benthic("lint", str(SEED_CONFIG), env=RUNAI_LINT_ENV, timeout=60)
    assert result.returncode == 0, f"examples/run_ai.yaml does not lint:\n{result.stderr or result.stdout}"
