"""The sqlite buffer under concurrent ingest: many clients post at once (so their requests share
group commits), the process is killed with SIGKILL mid-stream, and after a restart every event a
client saw acknowledged with a 2xx is delivered."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.pipeline.conftest import start_cli
from tests.pipeline.test_run import wait_until_serving
from tests.ports import free_port

CLIENTS = 24


def _config(tmp_path: Path, service: int, port: int) -> Path:
    config = tmp_path / "ingest.yaml"
    config.write_text(
        f"""
http:
  address: 127.0.0.1:{service}
input:
  http_server:
    address: 127.0.0.1:{port}
    path: /events
buffer:
  sqlite:
    path: {tmp_path / "buffer.db"}
output:
  file:
    path: {tmp_path / "delivered.txt"}
    codec: lines
"""
    )
    return config


def _delivered(path: Path) -> set[str]:
    return set(path.read_text().split()) if path.exists() else set()


def test_every_acknowledged_event_survives_sigkill_under_concurrent_load(tmp_path: Path) -> None:
    service, port = free_port(), free_port()
    config = _config(tmp_path, service, port)
    proc = start_cli("run", str(config))
    wait_until_serving(service)
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(number: int) -> None:
        with httpx.Client(timeout=5) as http:
            for seq in range(100_000):
                if stop.is_set():
                    return
                event = f"c{number}-e{seq}"
                try:
                    response = http.post(f"http://127.0.0.1:{port}/events", content=event)
                except httpx.HTTPError:
                    return  # the process is gone
                if 200 <= response.status_code < 300:
                    with lock:
                        acked.append(event)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acked) < 1500 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: requests are in flight on every connection
    proc.communicate()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acked) >= 1500

    restarted = start_cli("run", str(config))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not set(acked) <= _delivered(tmp_path / "delivered.txt"):
            time.sleep(0.2)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.communicate(timeout=30)
    missing = set(acked) - _delivered(tmp_path / "delivered.txt")
    assert not missing, f"{len(missing)} acknowledged events were lost, e.g. {sorted(missing)[:5]}"
