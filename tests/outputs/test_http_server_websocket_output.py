"""The ``http_server`` output's websocket endpoint (``ws_path``, ``/get/ws`` by default), run
through the real CLI, read by the ``websockets`` client library on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.pipeline.conftest import start_cli
from tests.ports import free_port


def _config(tmp_path: Path, port: int, count: int, extra: str = "", batch: int = 1) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(
        "http:\n  enabled: false\n"
        f"input:\n  generate:\n    count: {count}\n    batch_size: {batch}\n    interval: ''\n"
        "    mapping: 'root = \"m\" + counter().string()'\n"
        f"output:\n  http_server:\n    address: 127.0.0.1:{port}\n{extra}"
    )
    return config


def ws_connect(url: str) -> ClientConnection:
    deadline = time.monotonic() + 30
    while True:
        try:
            return connect(url, open_timeout=10)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_default_ws_path_sends_every_message_of_every_batch_as_binary(tmp_path: Path):
    port = free_port()
    proc = start_cli("run", str(_config(tmp_path, port, 4, batch=2)))
    try:
        with ws_connect(f"ws://127.0.0.1:{port}/get/ws") as ws:
            received = [ws.recv(timeout=30) for _ in range(4)]
        assert received == [b"m1", b"m2", b"m3", b"m4"]
        proc.communicate(timeout=30)
        assert proc.returncode == 0  # every batch was delivered, so the run ended
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_a_client_that_leaves_does_not_stop_delivery_to_the_next(tmp_path: Path):
    port = free_port()
    config = _config(tmp_path, port, 3, extra="    ws_path: /feed\n")
    config.write_text(config.read_text().replace("interval: ''", "interval: 500ms"))
    proc = start_cli("run", str(config))
    try:
        with ws_connect(f"ws://127.0.0.1:{port}/feed") as first:
            taken = [first.recv(timeout=30)]  # then leaves; its session stops taking batches
        with ws_connect(f"ws://127.0.0.1:{port}/feed") as second:
            while b"m3" not in taken:
                try:
                    taken.append(second.recv(timeout=30))
                except ConnectionClosed:
                    pytest.fail(f"closed after {taken}")
        assert taken == [b"m1", b"m2", b"m3"]
        proc.communicate(timeout=30)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_an_oversized_client_message_closes_the_connection(tmp_path: Path):
    port = free_port()
    config = tmp_path / "idle.yaml"  # an input no one feeds: the client only sends
    config.write_text(
        f"http:\n  enabled: false\ninput:\n  http_server:\n    address: 127.0.0.1:{free_port()}\n"
        f"output:\n  http_server:\n    address: 127.0.0.1:{port}\n"
    )
    proc = start_cli("run", str(config))
    try:
        with ws_connect(f"ws://127.0.0.1:{port}/get/ws") as ws:
            ws.send(b"x" * (2 * 1024 * 1024))
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        proc.kill()
        proc.communicate()
