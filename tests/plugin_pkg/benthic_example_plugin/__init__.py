"""An example benthic plugin package: importing it registers its components.

``countdown`` is the input that docs/plugins.md walks through, ``words`` its scanner example;
``flaky_file`` is an output that
fails its first ``failures`` writes and then appends each message to ``path`` (the tests use it
to show that a retried write carries the same bytes). They import the plugin API from
``benthic``; ``legacy.py`` shows that the older ``from pipeline import ...`` still works.
"""

from __future__ import annotations

import asyncio
from typing import Any

from benthic import (
    EndOfInputError,
    Message,
    Resources,
    processor,
    register_input,
    register_output,
    register_scanner,
    spec,
)

COUNTDOWN = spec.ComponentSpec(
    "countdown",
    "input",
    [
        spec.integer("start", "The number to count down from.", default=10),
        spec.duration("interval", "How long to wait between messages.", default="0s"),
        spec.string("prefix", "Text put before each number.", default=""),
    ],
    summary="Emits the numbers from `start` down to 1, then ends.",
)


class CountdownInput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.next = conf["start"]
        self.interval = conf["interval"] or 0.0
        self.prefix = conf["prefix"]
        self.logger = res.logger

    async def connect(self) -> None:
        self.logger.info(f"counting down from {self.next}")

    async def read_batch(self) -> tuple[list[Message], Any]:
        if self.next <= 0:
            raise EndOfInputError()
        if self.interval:
            await asyncio.sleep(self.interval)
        msg = Message(f"{self.prefix}{self.next}".encode(), {"remaining": str(self.next - 1)})
        self.next -= 1

        async def ack(err: BaseException | None) -> None:
            if err is not None:
                self.logger.warn(f"message was not delivered: {err}")

        return [msg], ack

    async def close(self) -> None:
        return None


# auto_replay_nacks=True: the engine replays a nacked batch ahead of new data
register_input(COUNTDOWN, lambda conf, res: (CountdownInput(conf, res), True))


FLAKY = spec.ComponentSpec(
    "flaky_file",
    "output",
    [
        spec.string("path", "The file each delivered message is appended to (one line each)."),
        spec.string("attempts_path", "The file every attempted message is appended to.", default=""),
        spec.integer("failures", "How many writes fail before writes succeed.", default=0),
        spec.duration("delay", "How long each write takes.", default="0s"),
        spec.batching_field(),
    ],
    summary="A test output that fails its first writes.",
)


class FlakyFileOutput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.conf = conf
        self.failures_left = conf["failures"]

    async def connect(self) -> None:
        return None

    async def write_batch(self, batch: list[Message]) -> None:
        if self.conf["delay"]:
            await asyncio.sleep(self.conf["delay"])
        lines = b"".join(m.content + b"\n" for m in batch)
        if self.conf["attempts_path"]:
            with open(self.conf["attempts_path"], "ab") as fh:
                fh.write(lines)
        if self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError(f"simulated failure ({self.failures_left} left)")
        with open(self.conf["path"], "ab") as fh:
            fh.write(lines)

    async def close(self) -> None:
        return None


register_output(FLAKY, lambda conf, res: FlakyFileOutput(conf, res))


@processor("shout", spec.ComponentSpec("shout", "processor", summary="Upper-cases each message."))
def shout(msg: Message, conf: Any) -> Message:
    msg.content = msg.content.upper()
    return msg


WORDS = spec.ComponentSpec(
    "words",
    "scanner",
    [spec.integer("min_length", "Words shorter than this are skipped.", default=1)],
    summary="A message per whitespace-separated word.",
)


class WordsScanner:
    """Reads the whole stream, then hands out one word per call."""

    def __init__(self, conf: dict[str, Any]) -> None:
        self.min_length = conf["min_length"]
        self.words: list[bytes] | None = None

    async def next(self, reader: asyncio.StreamReader) -> list[bytes] | None:
        if self.words is None:
            self.words = [w for w in (await reader.read()).split() if len(w) >= self.min_length]
        return [self.words.pop(0)] if self.words else None


register_scanner(WORDS, lambda conf, source_name: WordsScanner(conf))
