"""Fixtures for the playground: the real ``benthic blobl server`` as a subprocess and a headless
Chromium driven through selenium (Debian's ``chromium`` and ``chromium-driver``).

    def test_something(playground, browser):
        server = playground()                  # --no-open --port <free port>, waits until it serves
        browser.get(server.url)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
START_SECONDS = 30


@dataclass
class Playground:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Playground]]:
    """Starts servers (stopped when the module's tests are done): ``playground(*flags)``."""
    started: list[Playground] = []
    tmp_path = tmp_path_factory.mktemp("playground")

    def start(*flags: str, cwd: Path = REPO, program: list[str] | None = None) -> Playground:
        port = free_port()
        log = tmp_path / f"playground-{port}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [
                    *(program or [sys.executable, "-m", "benthic.cli"]),
                    "blobl",
                    "server",
                    "--no-open",
                    "--port",
                    str(port),
                    *flags,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=_env(),
            )
        server = Playground(process, f"http://127.0.0.1:{port}/", log)
        started.append(server)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the playground exited ({process.returncode}):\n{server.output()}")
            try:
                with urllib.request.urlopen(server.url, timeout=2):
                    return server
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise AssertionError(f"the playground did not serve within {START_SECONDS}s:\n{server.output()}")

    yield start
    for server in started:
        server.stop()


def chromium_options() -> Any:
    from selenium.webdriver.chrome.options import Options  # test-only dependency

    options = Options()
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary:
        options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
    ):
        options.add_argument(flag)
    return options


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.skip("chromedriver is not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver  # test-only dependency
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="benthic-chromium-") as profile:
        options = chromium_options()
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            yield driver
        finally:
            driver.quit()
