"""Fixtures for the engine's tests: running the real CLI as a subprocess (to its end, or started
and left running), and the example plugin package installed into a private directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli_env(extra: dict[str, str] | None = None, pythonpath: list[str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNAI_", "OPENMETER_"))}
    paths = [*(pythonpath or []), str(REPO)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra or {})
    return env


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: str | None = None,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benthic.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
        cwd=cwd,
        input=input.decode() if input is not None else None,
    )


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """The CLI started with its output captured; the test stops it (``terminate`` or a signal,
    then ``communicate``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "benthic.cli", *args],
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/plugin_pkg pip-installed into a private target directory (found via PYTHONPATH)."""
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(REPO / "tests" / "plugin_pkg"),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path_factory.mktemp("plugin-build"),
    )
    return str(target)
