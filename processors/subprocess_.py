"""The ``subprocess`` processor: send each message to one long-running program and take its reply.

As upstream: the program starts with the processor and is restarted if it exits. Each message is
written to its stdin in the ``codec_send`` framing and one reply is read from its stdout in the
``codec_recv`` framing: with ``lines`` every line of a message is a separate request and the
replies are joined with newlines. When the program writes to stderr instead of replying, what it
writes (collected for up to a second) becomes the message's error. A reply longer than
``max_buffer`` is an error. Messages go to the program one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.programs import start_program
from pipeline.spec import ComponentSpec, enum, integer, string, string_list

CODECS = ("lines", "length_prefixed_uint32_be", "netstring")

SPEC = ComponentSpec(
    "subprocess",
    "processor",
    summary="Pipes each message through a program that keeps running, and replaces it with the program's reply.",
    description=(
        "The program must flush its output after each reply. Replies are matched to requests in order, so "
        "it must answer every request exactly once."
    ),
    categories=("Integration",),
    fields=[
        string("name", "The program to run.", examples=("cat", "sed")),
        string_list("args", "Arguments for the program.", default=[]),
        integer("max_buffer", "The largest reply accepted, in bytes.", default=65536, advanced=True),
        enum(
            "codec_send",
            CODECS,
            "How requests are framed on the program's stdin.",
            default="lines",
            advanced=True,
        ),
        enum(
            "codec_recv",
            CODECS,
            "How replies are framed on the program's stdout.",
            default="lines",
            advanced=True,
        ),
    ],
)


class SubprocessClosed(Exception):
    pass


async def read_frame(reader: asyncio.StreamReader, codec: str, max_size: int) -> bytes:
    """One reply from the program's stdout; ``IncompleteReadError`` at its end."""
    if codec == "lines":
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise ValueError("bufio.Scanner: token too long") from None
        return line[:-1]
    if codec == "length_prefixed_uint32_be":
        (size,) = struct.unpack(">I", await reader.readexactly(4))
        if size > max_size:
            raise ValueError("bufio.Scanner: token too long")
        return await reader.readexactly(size)
    digits = await reader.readuntil(b":")
    if len(digits) == 1:
        raise ValueError("encountered invalid netstring: netstring starts with colon (':')")
    try:
        size = int(digits[:-1].decode("ascii"), 10)
    except ValueError:
        raise ValueError(
            f"encountered invalid netstring: unable to decode length '{digits[:-1].decode()}'"
        ) from None
    if size > max_size:
        raise ValueError("bufio.Scanner: token too long")
    body = await reader.readexactly(size + 1)
    if body[-1:] != b",":
        raise ValueError("encountered invalid netstring: trailing comma-character is missing")
    return body[:-1]


def frame(codec: str, payload: bytes) -> bytes:
    if codec == "lines":
        return payload + b"\n"
    if codec == "length_prefixed_uint32_be":
        return struct.pack(">I", len(payload)) + payload
    return str(len(payload)).encode() + b":" + payload + b","


class Subprocess:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.argv = [conf["name"], *conf["args"]]
        self.max_buffer = conf["max_buffer"]
        self.codec_send = conf["codec_send"]
        self.codec_recv = conf["codec_recv"]
        self.logger = res.logger
        self.proc: asyncio.subprocess.Process | None = None
        self.replies: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
        self.errors: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.lock = asyncio.Lock()
        self.closed = False

    async def _start(self) -> asyncio.subprocess.Process:
        if self.proc is not None and self.proc.returncode is None:
            return self.proc
        for task in self.tasks:
            task.cancel()
        self.replies = asyncio.Queue()
        self.errors = asyncio.Queue()
        proc = await start_program(
            self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=self.max_buffer + 1,
        )
        self.proc = proc
        assert proc.stdout is not None and proc.stderr is not None
        self.tasks = [
            asyncio.create_task(self._read_replies(proc.stdout, self.replies)),
            asyncio.create_task(self._read_errors(proc.stderr, self.errors)),
        ]
        return proc

    async def _read_replies(self, stdout: asyncio.StreamReader, queue: asyncio.Queue[Any]) -> None:
        while True:
            try:
                queue.put_nowait(await read_frame(stdout, self.codec_recv, self.max_buffer))
            except (asyncio.IncompleteReadError, ConnectionError):
                queue.put_nowait(SubprocessClosed("subprocess closed its output"))
                return
            except ValueError as err:
                self.logger.error(f"Failed to read subprocess output: {err}")
                queue.put_nowait(err)
                return

    async def _read_errors(self, stderr: asyncio.StreamReader, queue: asyncio.Queue[Any]) -> None:
        while True:
            line = await stderr.readline()
            if not line:
                queue.put_nowait(None)
                return
            queue.put_nowait(line)

    async def _send(self, payload: bytes) -> bytes:
        proc = await self._start()
        assert proc.stdin is not None
        try:
            proc.stdin.write(frame(self.codec_send, payload))
            await proc.stdin.drain()
        except (ConnectionError, BrokenPipeError) as err:
            raise ValueError(f"failed to send message to subprocess: {err}") from None
        replies, errors = self.replies, self.errors
        reply_task = asyncio.ensure_future(replies.get())
        error_task = asyncio.ensure_future(errors.get())
        done, _ = await asyncio.wait({reply_task, error_task}, return_when=asyncio.FIRST_COMPLETED)
        if reply_task in done:
            error_task.cancel()
            reply = reply_task.result()
            if isinstance(reply, BaseException):
                raise ValueError(str(reply))
            return reply
        reply_task.cancel()
        first = error_task.result()
        if first is None:
            raise ValueError("subprocess closed its output")
        collected = [first]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        while True:
            try:
                more = await asyncio.wait_for(errors.get(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                break
            if more is None:
                break
            collected.append(more)
        raise ValueError(b"".join(collected).decode("utf-8", "replace"))

    async def _process_one(self, msg: Message) -> None:
        if self.codec_send != "lines":
            msg.content = await self._send(msg.content)
            return
        lines = msg.content.split(b"\n")
        results = []
        for i, line in enumerate(lines):
            if not line and len(lines) > 1 and i == len(lines) - 1:
                results.append(b"")
                continue
            results.append(await self._send(line))
        msg.content = b"\n".join(results)

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        async with self.lock:
            for msg in batch:
                try:
                    await self._process_one(msg)
                except ValueError as err:
                    self.logger.error(f"Failed to send message to subprocess: {err}")
                    msg.error = str(err)
                except OSError as err:
                    msg.error = f"failed to start subprocess: {err}"
        return [batch]

    async def close(self) -> None:
        self.closed = True
        for task in self.tasks:
            task.cancel()
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()


register_processor(SPEC, Subprocess)
