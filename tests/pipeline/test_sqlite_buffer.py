"""The sqlite buffer keeps what it acknowledged across restarts and crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.builder import Manager
from pipeline.errors import EndOfInputError
from pipeline.message import Message

REPO = Path(__file__).resolve().parents[2]


def buffer_at(path: Path, **extra: object):
    return Manager().build_buffer({"sqlite": {"path": str(path), **extra}}, "root.buffer")


async def store(buffer, batch: list[Message]) -> list[BaseException | None]:
    acks: list[BaseException | None] = []

    async def ack(err: BaseException | None) -> None:
        acks.append(err)

    await buffer.write(batch, ack)
    return acks


def test_a_stored_batch_is_acked_and_read_back_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "buffer.db"

    async def first_run() -> list[BaseException | None]:
        buffer = buffer_at(db)
        await buffer.connect()
        acks = await store(buffer, [Message(b'{"id":"1"}', {"Content-Type": "application/json", "n": 3})])
        await buffer.close()
        return acks

    async def second_run() -> list[Message]:
        buffer = buffer_at(db)
        await buffer.connect()
        batch, ack = await buffer.read()
        await ack(None)
        await buffer.end_of_input()
        with pytest.raises(EndOfInputError):
            await buffer.read()
        await buffer.close()
        return batch

    assert asyncio.run(first_run()) == [None]
    batch = asyncio.run(second_run())
    assert [m.content for m in batch] == [b'{"id":"1"}']
    assert batch[0].metadata == {"Content-Type": "application/json", "n": 3}

    async def third_run() -> None:
        buffer = buffer_at(db)
        await buffer.end_of_input()
        with pytest.raises(EndOfInputError):
            await buffer.read()
        await buffer.close()

    asyncio.run(third_run())  # the delivered batch was deleted


def test_a_nacked_batch_is_delivered_again_before_newer_ones(tmp_path: Path) -> None:
    async def run() -> list[bytes]:
        buffer = buffer_at(tmp_path / "b.db")
        await store(buffer, [Message(b"first")])
        await store(buffer, [Message(b"second")])
        seen = []
        batch, ack = await buffer.read()
        seen.append(batch[0].content)
        await ack(RuntimeError("sink down"))
        for _ in range(2):
            batch, ack = await buffer.read()
            seen.append(batch[0].content)
            await ack(None)
        await buffer.end_of_input()
        with pytest.raises(EndOfInputError):
            await buffer.read()
        await buffer.close()
        return seen

    assert asyncio.run(run()) == [b"first", b"first", b"second"]


def test_post_processors_split_a_row_and_it_is_deleted_once_every_part_is_delivered(tmp_path: Path) -> None:
    db = tmp_path / "split.db"

    async def run() -> list[list[bytes]]:
        buffer = buffer_at(db, post_processors=[{"split": {"size": 2}}])
        await store(buffer, [Message(str(i).encode()) for i in range(5)])
        parts = []
        acks = []
        for _ in range(3):
            batch, ack = await buffer.read()
            parts.append([m.content for m in batch])
            acks.append(ack)
        for ack in acks[:2]:
            await ack(None)
        await buffer.close()  # the last part was never acked
        return parts

    assert asyncio.run(run()) == [[b"0", b"1"], [b"2", b"3"], [b"4"]]

    async def after_restart() -> int:
        buffer = buffer_at(db)
        batch, ack = await buffer.read()
        await ack(None)
        await buffer.close()
        return len(batch)

    assert asyncio.run(after_restart()) == 5  # the whole row comes back: at least once


def test_what_was_acked_survives_the_process_being_killed(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    writer = textwrap.dedent(
        f"""
        import asyncio, sys, time
        from pipeline.builder import Manager
        from pipeline.message import Message

        async def main():
            buffer = Manager().build_buffer({{"sqlite": {{"path": {str(db)!r}}}}}, "root.buffer")
            async def ack(err):
                print("acked" if err is None else f"nacked {{err}}", flush=True)
            for i in range(20):
                await buffer.write([Message(b"event-%d" % i)], ack)
            await asyncio.sleep(60)  # killed here, without closing anything (acks come after commits)

        asyncio.run(main())
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", writer], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acked = [proc.stdout.readline().strip() for _ in range(20)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert acked == ["acked"] * 20

    async def drain() -> list[bytes]:
        buffer = buffer_at(db)
        await buffer.end_of_input()
        seen = []
        while True:
            try:
                batch, ack = await buffer.read()
            except EndOfInputError:
                break
            seen.extend(m.content for m in batch)
            await ack(None)
        await buffer.close()
        return seen

    assert asyncio.run(drain()) == [b"event-%d" % i for i in range(20)]


def test_the_buffer_file_is_private_to_its_owner(tmp_path: Path) -> None:
    db = tmp_path / "private.db"

    async def run() -> None:
        buffer = buffer_at(db)
        await buffer.connect()
        await buffer.close()

    asyncio.run(run())
    assert db.stat().st_mode & 0o077 == 0
