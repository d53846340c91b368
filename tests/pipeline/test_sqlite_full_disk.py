"""The sqlite buffer on a real full disk (a 1 MiB tmpfs): clients are refused while it is full,
deletes of delivered rows are retried instead of crashing, writes are accepted again once space
returns, and nothing delivered is delivered again after a restart."""

from __future__ import annotations

import errno
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.sink import RecordingSink
from tests.pipeline.conftest import start_cli
from tests.pipeline.test_run import wait_until_serving
from tests.ports import free_port


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 1 MiB tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write until the filesystem has no byte left."""
    with path.open("wb", buffering=0) as fh:
        block = b"\0" * 4096
        while True:
            try:
                fh.write(block)
            except OSError as err:
                assert err.errno == errno.ENOSPC
                break
        for size in (512, 64, 1):
            with_room = True
            while with_room:
                try:
                    fh.write(b"\0" * size)
                except OSError:
                    with_room = False


def _post(port: int, body: bytes) -> int:
    try:
        return httpx.post(f"http://127.0.0.1:{port}/post", content=body, timeout=10).status_code
    except httpx.HTTPError:
        return 0


def test_a_full_disk_refuses_clients_retries_deletes_and_recovers(tmp_path: Path, small_disk: Path):
    sink = RecordingSink(path="/events", status=503).start()
    service, port = free_port(), free_port()
    database = small_disk / "buffer.db"
    config = tmp_path / "buffered.yaml"
    config.write_text(f"""
http: {{address: 127.0.0.1:{service}}}
input:
  http_server:
    address: 127.0.0.1:{port}
    path: /post
buffer:
  sqlite:
    path: {database}
output:
  http_client:
    url: http://127.0.0.1:{sink.port}/events
    verb: POST
    retries: 0
    max_in_flight: 1
""")
    # most of the disk is taken by something else: freeing it later is "space returns"
    (small_disk / "filler").write_bytes(b"\0" * 600 * 1024)
    proc = start_cli("run", str(config))
    try:
        wait_until_serving(service)
        accepted = 0
        while True:  # the sink refuses everything: rows pile up until the disk is full
            status = _post(port, b'{"pad":"' + b"x" * 4000 + b'"}')
            if status != 200:
                break
            accepted += 1
            assert accepted < 1000, "the 1 MiB disk never filled"
        assert accepted > 10
        _fill(small_disk / "topping")
        sink.status = 202  # the sink recovers: every row is delivered, but no delete can be written
        assert sink.wait_for(lambda s: sum(r.accepted for r in s.requests) >= accepted, timeout=60)
        time.sleep(1.0)
        metrics = httpx.get(f"http://127.0.0.1:{service}/metrics", timeout=5).text
        (small_disk / "filler").unlink()  # space returns
        (small_disk / "topping").unlink()
        deadline = time.monotonic() + 60
        while _post(port, b'{"after":"space returned"}') != 200:
            assert time.monotonic() < deadline, "writes stayed refused after space returned"
            time.sleep(0.5)
        assert sink.wait_for(lambda s: sum(r.accepted for r in s.requests) >= accepted + 1, timeout=60)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        sink.stop()
        if proc.returncode is None or proc.returncode < 0:
            out, err = proc.communicate(timeout=10)
            print(
                "benthic logs (without write refusals):",
                "\n".join(line for line in (out + err).splitlines() if "Failed to write" not in line),
            )
    logs = stdout + stderr
    assert "Traceback" not in logs
    assert "Failed to delete delivered rows from the buffer" in logs
    assert "buffer_delete_error" in metrics
    assert proc.returncode == 0, logs
    bodies = [r.body for r in sink.accepted()]
    assert len(bodies) == len(set(bodies)) + (accepted - 1)  # the padded events are alike
    with sqlite3.connect(database) as db:  # nothing left to deliver again after a restart
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
