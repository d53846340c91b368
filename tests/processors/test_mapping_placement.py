"""Where the ``mapping`` processor runs a mapping: a bounded one on the event loop, in slices that
let other tasks run; one that can compute for long in a worker thread (``mapping_lang.cost``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from mapping_lang import library
from pipeline.builder import Manager
from pipeline.message import Message


async def _process_while_ticking(mapping: str, batch: list[Message]) -> tuple[list[list[Message]], int]:
    """Process ``batch`` while another task counts how often the event loop lets it run."""
    stage = Manager().build_processor({"mapping": mapping}, "root.pipeline.processors.0")
    ticks = 0
    stop = False

    async def tick() -> None:
        nonlocal ticks
        while not stop:
            await asyncio.sleep(0)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    started = ticks
    result = await stage.process(batch)
    stop = True
    await ticker
    return result, ticks - started


def test_a_bounded_mapping_over_a_large_batch_lets_the_event_loop_run_meanwhile():
    batch = [Message(b'{"n":%d}' % i) for i in range(30_000)]
    result, ticks = asyncio.run(_process_while_ticking('root = {"n": this.n + 1, "id": uuid_v4()}', batch))
    assert [m.structured()["n"] for m in result[0][:3]] == [1, 2, 3]
    assert len(result[0]) == 30_000
    # 30,000 messages take far longer than one slice: the loop ran other tasks in between
    assert ticks >= 2


def test_a_large_message_is_mapped_in_a_worker_thread_even_by_a_bounded_mapping():
    # numbers longer than a double keeps are parsed in Python to keep their exact text: seconds
    # for a few MB, which must not stop the event loop
    numbers = b",".join(b"1.2345678901234567890123" for _ in range(400_000))
    batch = [Message(b'{"a":[' + numbers + b"]}")]
    result, ticks = asyncio.run(_process_while_ticking("root = this.a.length()", batch))
    assert result[0][0].content == b"400000"
    # on the loop the other task would run twice at most (a slice's end and the batch's); in a
    # worker thread it runs each time the parse hands the GIL over, every few milliseconds
    assert ticks >= 10


def test_a_bounded_mapping_runs_on_the_loop_and_an_unbounded_one_in_a_worker_thread():
    seen: list[str] = []

    @library.function("test_thread_name_probe", impure=True)
    def probe(ctx: Any) -> Any:
        seen.append(threading.current_thread().name)
        return 1

    try:
        # a plugin is never assumed bounded: its mapping runs in a worker thread
        result, _ = asyncio.run(_process_while_ticking("root = test_thread_name_probe()", [Message(b"{}")]))
    finally:
        del library.FUNCTIONS["test_thread_name_probe"]
    assert result[0][0].content == b"1"
    assert seen and seen[0].startswith("benthic-worker-")

    thread_of = threading.current_thread().name
    names: list[str] = []
    batch = [Message(b'{"n":1}')]

    async def run_bounded() -> None:
        stage = Manager().build_processor({"mapping": "root = this.n"}, "root.pipeline.processors.0")
        names.append(threading.current_thread().name)
        await stage.process(batch)

    asyncio.run(run_bounded())
    assert names == [thread_of]


def test_a_failing_bounded_mapping_flags_the_message_and_keeps_the_rest():
    batch = [Message(b'{"n":1}'), Message(b'{"n":"x"}'), Message(b'{"n":3}')]
    result, _ = asyncio.run(_process_while_ticking("root = this.n.number() * 2", batch))
    out = result[0]
    assert [m.content for m in out] == [b"2", b'{"n":"x"}', b"6"]
    assert out[1].error is not None and "x" in out[1].error
