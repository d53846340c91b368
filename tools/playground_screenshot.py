"""Take docs/playground.png: the seed's Run:ai mapping (examples/run_ai.yaml) over a sample
workload message in ``benthic blobl server``, in headless Chromium; and docs/playground-error.png:
the same mapping with a misspelt method, marked where it is.

    .venv/bin/python tools/playground_screenshot.py

Needs the ``test`` extra (selenium) and Debian's ``chromium`` and ``chromium-driver``.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ports import free_port  # noqa: E402

# a workload message as the run_ai input emits it (docs/run_ai.md), and its metadata
WORKLOAD = {
    "resourceType": "workload",
    "tenantId": 1001,
    "type": "runai-job",
    "name": "llm-train",
    "id": "497f6eca-6276-4993-bfeb-53cbbbba6f08",
    "clusterId": "71f69d83-ba66-4822-adf5-55ce55efd210",
    "projectName": "proj-1",
    "projectId": "1",
    "departmentName": "dept-1",
    "departmentId": "1",
    "runningPods": 1,
    "allocatedResources": {"gpu": 2, "gpuMemory": "80Gi", "cpu": 8, "cpuMemory": "32G"},
    "phase": "Running",
    "metrics": {
        "timestamp": "2025-04-14T12:00:00Z",
        "values": {
            "CPU_LIMIT_CORES": 8,
            "CPU_USAGE_CORES": 3.2,
            "GPU_ALLOCATION": 2,
            "GPU_UTILIZATION": 87.5,
        },
    },
}
METADATA = {
    "scrape_time": "2025-04-14T12:00:30Z",
    "scrape_interval": "30s",
    "metrics_offset": "30s",
    "resource_type": "workload",
    "metrics_time": "2025-04-14T12:00:00Z",
}


def seed_mapping() -> str:
    config = yaml.safe_load((REPO / "examples" / "run_ai.yaml").read_text())
    return str(config["pipeline"]["processors"][0]["mapping"])


def link_fragment(mapping: str) -> str:
    state = {
        "mapping": mapping,
        "input": json.dumps(WORKLOAD, indent=2),
        "metadata": json.dumps(METADATA, indent=2),
    }
    encoded = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
    return "j." + encoded


def main() -> int:
    docs = REPO / "docs"
    mapping = seed_mapping()
    typo = mapping.replace("gpu.number(0)", "gpu.numbr(0)", 1)
    shots = [(docs / "playground.png", mapping, "ok"), (docs / "playground-error.png", typo, "parse-error")]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benthic.cli", "blobl", "server", "--no-open", "--port", str(port)], cwd=REPO
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        with tempfile.TemporaryDirectory(prefix="benthic-chromium-") as profile:
            options = Options()
            options.binary_location = shutil.which("chromium") or "chromium"
            for flag in (
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1600,1240",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
            ):
                options.add_argument(flag)
            driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
            try:
                for out, text, state in shots:
                    driver.get("about:blank")
                    driver.get(url + "#" + link_fragment(text))
                    WebDriverWait(driver, 30).until(
                        lambda d, state=state: (
                            d.find_element("id", "status").get_attribute("data-state") == state
                        )
                    )
                    driver.save_screenshot(str(out))
                    print(f"wrote {out}")
            finally:
                driver.quit()
    finally:
        server.terminate()
        server.wait(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
