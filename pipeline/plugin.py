"""The plugin API: what a component is, and how it is registered.

Shaped like Redpanda Connect's Python SDK (``redpanda_connect``): async ``connect()``,
``read_batch() -> (batch, ack)`` and ``close()`` for inputs; ``process(batch) -> list[batch]``
for processors; ``connect()``, ``write_batch(batch)`` and ``close()`` for outputs. Built-in
components register through exactly these functions.

A constructor is called as ``ctor(conf, res)``: ``conf`` is the component's config with every
default filled in (durations as float seconds), ``res`` the component's ``Resources`` (its
logger and metrics carrying its ``label`` and ``path``, and access to shared resources).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pipeline.errors import BackoffError, BaseError, BatchError, EndOfInputError, NotConnectedError
from pipeline.message import Message
from pipeline.registry import REGISTRY
from pipeline.spec import ComponentSpec

if TYPE_CHECKING:
    from pipeline.resources import Resources

__all__ = [
    "AckFn",
    "BackoffError",
    "BaseError",
    "BatchBuffer",
    "Cache",
    "EndOfInputError",
    "Input",
    "NotConnectedError",
    "Output",
    "Processor",
    "batch_input",
    "batch_output",
    "batch_processor",
    "input",
    "output",
    "processor",
    "register_buffer",
    "register_cache",
    "register_input",
    "register_output",
    "register_processor",
    "register_rate_limit",
    "RateLimit",
]

AckFn = Callable[[BaseException | None], Awaitable[None]]


async def _noop_ack(_: BaseException | None) -> None:
    return None


@runtime_checkable
class Input(Protocol):
    async def connect(self) -> None: ...

    async def read_batch(self) -> tuple[list[Message], AckFn]: ...

    async def close(self) -> None: ...


@runtime_checkable
class Processor(Protocol):
    async def process(self, batch: list[Message]) -> list[list[Message]]: ...

    async def close(self) -> None: ...


@runtime_checkable
class Output(Protocol):
    async def connect(self) -> None: ...

    async def write_batch(self, batch: list[Message]) -> None: ...

    async def close(self) -> None: ...


class BatchBuffer(Protocol):
    """A buffer between input and pipeline. ``write`` takes a batch and its ack (it may return
    before calling the ack, as a buffer that commits writes in groups does); ``read`` hands back a
    batch and an ack to call when the batch was delivered downstream."""

    async def connect(self) -> None: ...

    async def write(self, batch: list[Message], ack: AckFn) -> None: ...

    async def read(self) -> tuple[list[Message], AckFn]: ...

    async def end_of_input(self) -> None: ...

    async def close(self) -> None: ...


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Set only if absent; return False when the key already existed."""
        ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...


class RateLimit(Protocol):
    async def access(self) -> float:
        """Take one access: 0 when it is granted now, else the seconds to wait before asking
        again (as upstream's ``Access`` returns a duration)."""
        ...

    async def close(self) -> None: ...


# -- registration -----------------------------------------------------------------------------------


def register_input(spec: ComponentSpec, ctor: Callable[[Any, Resources], Any]) -> None:
    """``ctor(conf, res)`` returns an ``Input``, or ``(input, auto_replay_nacks)``: when true the
    engine keeps each batch and replays it after a nack, ahead of new data."""
    spec.kind = "input"
    REGISTRY.register(spec, ctor)


def register_processor(spec: ComponentSpec, ctor: Callable[[Any, Resources], Processor]) -> None:
    spec.kind = "processor"
    REGISTRY.register(spec, ctor)


def register_output(
    spec: ComponentSpec, ctor: Callable[[Any, Resources], Output], *, max_in_flight: int = 1
) -> None:
    """Outputs whose spec has a ``max_in_flight`` field get that many concurrent ``write_batch``
    calls; others get ``max_in_flight`` (0 = as many as callers send: for wrapper outputs). A
    ``batching`` field in the spec gives the output a batch policy, applied by the engine."""
    spec.kind = "output"
    REGISTRY.register(spec, ctor, max_in_flight=max_in_flight)


def register_buffer(spec: ComponentSpec, ctor: Callable[[Any, Resources], BatchBuffer | None]) -> None:
    """``ctor(conf, res)`` returns a ``BatchBuffer``, or None for no buffer (the ``none`` buffer)."""
    spec.kind = "buffer"
    REGISTRY.register(spec, ctor)


def register_cache(spec: ComponentSpec, ctor: Callable[[Any, Resources], Cache]) -> None:
    spec.kind = "cache"
    REGISTRY.register(spec, ctor)


def register_rate_limit(spec: ComponentSpec, ctor: Callable[[Any, Resources], RateLimit]) -> None:
    spec.kind = "rate_limit"
    REGISTRY.register(spec, ctor)


def register_scanner(spec: ComponentSpec, ctor: Callable[[Any, str], Any]) -> None:
    """A scanner cuts the byte stream of an input (``stdin``, ``file``, ``socket``...) into
    messages. ``ctor(conf, source_name)`` returns an object whose ``async next(reader)`` gives the
    next messages (``bytes`` or ``Message``) read from an ``asyncio.StreamReader``, or None at the
    end; ``source_name`` is the file name or equivalent (``switch`` chooses by it)."""
    spec.kind = "scanner"
    REGISTRY.register(spec, ctor)


# -- decorators for the simple cases ---------------------------------------------------------------


def _spec(name: str, kind: str, spec: ComponentSpec | None) -> ComponentSpec:
    if spec is None:
        return ComponentSpec(name, kind)
    spec.name = name
    spec.kind = kind
    return spec


def input(
    name: str, spec: ComponentSpec | None = None
) -> Callable[[Callable[..., AsyncIterator[Message]]], Any]:
    """An async generator ``gen(conf, res)`` yielding messages; each becomes a batch of one, and
    nacked messages are replayed by the engine. The generator ending ends the input."""

    def wrap(gen: Callable[..., AsyncIterator[Message]]) -> Any:
        register_input(
            _spec(name, "input", spec), lambda conf, res: (_GeneratorInput(gen(conf, res), False), True)
        )
        return gen

    return wrap


def batch_input(
    name: str, spec: ComponentSpec | None = None
) -> Callable[[Callable[..., AsyncIterator[list[Message]]]], Any]:
    """Like ``input``, yielding batches."""

    def wrap(gen: Callable[..., AsyncIterator[list[Message]]]) -> Any:
        register_input(
            _spec(name, "input", spec), lambda conf, res: (_GeneratorInput(gen(conf, res), True), True)
        )
        return gen

    return wrap


class _GeneratorInput:
    def __init__(self, gen: AsyncIterator[Any], batched: bool) -> None:
        self._gen = gen
        self._batched = batched

    async def connect(self) -> None:
        return None

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        try:
            item = await self._gen.__anext__()
        except StopAsyncIteration:
            raise EndOfInputError() from None
        batch = list(item) if self._batched else [item]
        return batch, _noop_ack

    async def close(self) -> None:
        aclose = getattr(self._gen, "aclose", None)
        if aclose is not None:
            await aclose()


def processor(name: str, spec: ComponentSpec | None = None) -> Callable[[Callable[..., Any]], Any]:
    """``fn(msg, conf)`` returning a message, ``None`` (filter it) or a list of messages; sync or
    async. An exception flags the message as errored and passes it on unchanged."""

    def wrap(fn: Callable[..., Any]) -> Any:
        register_processor(_spec(name, "processor", spec), lambda conf, res: _MessageProcessor(fn, conf))
        return fn

    return wrap


class _MessageProcessor:
    def __init__(self, fn: Callable[..., Any], conf: Any) -> None:
        self._fn = fn
        self._conf = conf
        self._async = inspect.iscoroutinefunction(fn)

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        for msg in batch:
            try:
                result = self._fn(msg, self._conf)
                if self._async:
                    result = await result
            except Exception as err:
                msg.error = str(err)
                out.append(msg)
                continue
            if result is None:
                continue
            if isinstance(result, list):
                out.extend(result)
            else:
                out.append(result)
        return [out] if out else []

    async def close(self) -> None:
        return None


def batch_processor(name: str, spec: ComponentSpec | None = None) -> Callable[[Callable[..., Any]], Any]:
    """``fn(batch, conf) -> list[batch]``; sync or async."""

    def wrap(fn: Callable[..., Any]) -> Any:
        class _BatchProcessor:
            def __init__(self, conf: Any) -> None:
                self._conf = conf

            async def process(self, batch: list[Message]) -> list[list[Message]]:
                result = fn(batch, self._conf)
                if inspect.isawaitable(result):
                    result = await result
                return list(result)

            async def close(self) -> None:
                return None

        register_processor(_spec(name, "processor", spec), lambda conf, res: _BatchProcessor(conf))
        return fn

    return wrap


def output(
    name: str, spec: ComponentSpec | None = None, *, max_in_flight: int = 1
) -> Callable[[Callable[..., Any]], Any]:
    """``async fn(msg, conf)`` called once per message of a batch. A message whose call raises
    fails on its own (a ``BatchError`` names it): the rest of the batch is still written, and only
    the failed messages are sent again, as upstream writes a batch to a one-message output. A
    ``NotConnectedError`` stops the batch there (the engine reconnects before the next attempt)."""

    def wrap(fn: Callable[..., Awaitable[None]]) -> Any:
        class _MessageOutput:
            def __init__(self, conf: Any) -> None:
                self._conf = conf

            async def connect(self) -> None:
                return None

            async def write_batch(self, batch: list[Message]) -> None:
                if len(batch) == 1:
                    await fn(batch[0], self._conf)
                    return
                problem: BatchError | None = None
                for index, msg in enumerate(batch):
                    try:
                        await fn(msg, self._conf)
                    except NotConnectedError as err:
                        if index == 0 and problem is None:
                            raise
                        problem = (problem or BatchError(batch, err)).failed_from(index, err)
                        break
                    except Exception as err:
                        problem = (problem or BatchError(batch, err)).failed(index, err)
                if problem is not None:
                    raise problem

            async def close(self) -> None:
                return None

        register_output(
            _spec(name, "output", spec), lambda conf, res: _MessageOutput(conf), max_in_flight=max_in_flight
        )
        return fn

    return wrap


def batch_output(
    name: str, spec: ComponentSpec | None = None, *, max_in_flight: int = 1
) -> Callable[[Callable[..., Any]], Any]:
    """``async fn(batch, conf)`` called once per batch; raising nacks it."""

    def wrap(fn: Callable[..., Awaitable[None]]) -> Any:
        class _BatchOutput:
            def __init__(self, conf: Any) -> None:
                self._conf = conf

            async def connect(self) -> None:
                return None

            async def write_batch(self, batch: list[Message]) -> None:
                await fn(batch, self._conf)

            async def close(self) -> None:
                return None

        register_output(
            _spec(name, "output", spec), lambda conf, res: _BatchOutput(conf), max_in_flight=max_in_flight
        )
        return fn

    return wrap
