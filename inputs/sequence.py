"""The ``sequence`` input: read child inputs one after another, each until it ends.

As upstream: the next input starts only when the current one has ended (its outstanding
messages keep their own acknowledgements), and the sequence ends after the last one.

``sharded_join`` (upstream's ``messageJoiner`` in benthos' ``input_sequence.go``) merges the
children's JSON objects that share the string at ``id_path``. A later document is merged into the
first one seen for its id (its own id field removed first), objects key by key and clashing values
by ``merge_strategy``; metadata is merged likewise, the later value winning. Each child batch is
acknowledged as soon as it has been merged, so the join's output carries delivery from there on:

- ``full-outer`` (or the old spelling ``full-outter``) emits every joined document once all the
  children have ended;
- ``outer`` (``outter``) emits the joined document each time a message of the *last* child
  arrives, and nothing else.

With ``iterations`` above one, the children are read again from scratch that many times; pass
``n`` keeps only the ids whose XXH64 hash modulo ``iterations`` is ``n``, so that one pass holds a
fraction of the data in memory. A pass ends only once everything it emitted is acknowledged. Each
joined document is its own transaction; a nacked one is sent again a second later.

Where we differ: messages the join cannot use (not a JSON object, or without a string id) are
dropped with a warning (upstream drops them silently). Joined documents of a pass come out in the
order their ids were first seen (upstream's order is Go's random map order).
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Callable
from typing import Any

from inputs._xxh64 import xxh64
from pipeline import spec as s
from pipeline.errors import EndOfInputError, ShutdownError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

JOIN_TYPES = ("none", "full-outer", "outer", "full-outter", "outter")

SPEC = s.ComponentSpec(
    "sequence",
    "input",
    summary="Reads its child inputs in order, moving to the next when one has no more data.",
    categories=("Utility",),
    fields=[
        s.obj(
            "sharded_join",
            [
                s.enum(
                    "type",
                    JOIN_TYPES,
                    "`none` joins nothing. `full-outer` emits one document per id seen in any child, "
                    "after every child has ended. `outer` emits a joined document whenever the last "
                    "child delivers a message, like a left or right outer join. `full-outter` and "
                    "`outter` are old spellings of the same two.",
                    default="none",
                ),
                s.string(
                    "id_path",
                    "Dot path to the field that holds the id documents are joined on; required for a "
                    "join. Messages that are not objects or lack a string id there are dropped.",
                    default="",
                ),
                s.integer(
                    "iterations",
                    "How many passes over the children the join makes, each joining a different share "
                    "of the ids: more passes hold less in memory but read the data more often.",
                    default=1,
                ),
                s.enum(
                    "merge_strategy",
                    ("array", "replace", "keep"),
                    "What to do when two documents both have a value at the same place: `array` "
                    "collects the values into an array (arrays are concatenated), `replace` keeps the "
                    "newer value, `keep` the older one.",
                    default="array",
                ),
            ],
            "Experimental: joins the JSON objects read from the children by an id field, in memory, "
            "optionally in several passes that each handle a share of the ids.",
            advanced=True,
        ),
        s.component_list("inputs", "input", "The inputs to read, in order."),
    ],
)


def _lint(conf: Any) -> list[str]:
    if not conf["inputs"]:
        return ["requires at least one child input"]
    join = conf["sharded_join"]
    if join["type"] == "none":
        return []
    if not join["id_path"]:
        return ["invalid sharded join config: the id path must not be empty"]
    if join["iterations"] <= 0:
        return [f"invalid sharded join config: invalid number of iterations: {join['iterations']}"]
    return []


SPEC.lint = _lint


# -- the join ---------------------------------------------------------------------------------------


def _collect(older: Any, newer: Any) -> Any:
    """``array``: clashing values gathered into one array, arrays spread into it."""
    head = older if isinstance(older, list) else [older]
    tail = newer if isinstance(newer, list) else [newer]
    return [*head, *tail]


MERGE_STRATEGIES: dict[str, Callable[[Any, Any], Any]] = {
    "array": _collect,
    "replace": lambda older, newer: newer,
    "keep": lambda older, newer: older,
}


def _merge(into: dict[str, Any], source: dict[str, Any], clash: Callable[[Any, Any], Any]) -> None:
    for key, value in source.items():
        if key not in into:
            into[key] = value
        elif isinstance(value, dict) and isinstance(into[key], dict):
            _merge(into[key], value, clash)
        else:
            into[key] = clash(into[key], value)


def _path_segments(path: str) -> list[str]:
    # as upstream's dot paths: ``~1`` stands for a dot in a key and ``~0`` for a tilde
    return [part.replace("~1", ".").replace("~0", "~") for part in path.split(".")]


def _lookup(doc: Any, segments: list[str]) -> Any:
    for segment in segments:
        if isinstance(doc, dict):
            if segment not in doc:
                return None
            doc = doc[segment]
        elif isinstance(doc, list):
            try:
                index = int(segment)
            except ValueError:
                return None
            if not 0 <= index < len(doc):
                return None
            doc = doc[index]
        else:
            return None
    return doc


class _Joined:
    __slots__ = ("fields", "metadata")

    def __init__(self, fields: dict[str, Any], metadata: dict[str, Any]) -> None:
        self.fields = fields
        self.metadata = metadata

    def message(self) -> Message:
        return Message.from_structured(copy.deepcopy(self.fields), dict(self.metadata))


class Joiner:
    """One pass at a time: documents of this pass's share of ids, merged by id."""

    def __init__(self, conf: dict[str, Any], logger: Any) -> None:
        self.id_path = conf["id_path"]
        self.segments = _path_segments(conf["id_path"])
        self.iterations = conf["iterations"]
        self.clash = MERGE_STRATEGIES[conf["merge_strategy"]]
        self.emit_on_last = conf["type"] in ("outer", "outter")
        self.iteration = 0
        self.joined: dict[str, _Joined] = {}
        self.logger = logger

    def add(self, batch: list[Message], from_last_input: bool) -> list[Message]:
        """Merge a child's batch; the documents to emit now (``outer``, from the last child)."""
        emit: list[Message] = []
        unusable = 0
        for msg in batch:
            try:
                doc = msg.structured()
            except ValueError:
                doc = None
            ident = _lookup(doc, self.segments) if isinstance(doc, dict) else None
            if not isinstance(ident, str) or not ident:
                unusable += 1
                continue
            if xxh64(ident.encode("utf-8", "surrogatepass")) % self.iterations != self.iteration:
                continue  # another pass joins this id
            doc = copy.deepcopy(doc)
            joined = self.joined.get(ident)
            if joined is None:
                joined = self.joined[ident] = _Joined(doc, dict(msg.metadata))
            else:
                # upstream removes the id by the whole path as one key: a nested id stays and merges
                doc.pop(self.id_path, None)
                _merge(joined.fields, doc, self.clash)
                joined.metadata.update(msg.metadata)
            if self.emit_on_last and from_last_input:
                emit.append(joined.message())
        if unusable:
            self.logger.warn(
                f"Dropped {unusable} message(s) that are not JSON objects with a string at "
                f"'{self.id_path}': the join cannot use them"
            )
        return emit

    def end_pass(self) -> list[Message]:
        """Finish this pass: the documents to emit (``full-outer``); the next pass starts empty."""
        joined, self.joined = self.joined, {}
        self.iteration += 1
        if self.emit_on_last:
            return []
        return [item.message() for item in joined.values()]

    @property
    def finished(self) -> bool:
        return self.iteration >= self.iterations


# -- the input --------------------------------------------------------------------------------------


class Sequence:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.confs = list(conf["inputs"])
        self.res = res
        self.index = 0
        self.current: Any = None
        self.finished: list[Any] = []
        join = conf["sharded_join"]
        self.joiner = Joiner(join, res.logger) if join["type"] != "none" else None
        self.ready: deque[Message] = deque()  # joined documents waiting to be read
        self.unacked = 0  # joined documents read and not yet acknowledged
        self.acked = asyncio.Event()
        self.pass_emitted = False

    async def _open(self) -> bool:
        if self.index >= len(self.confs):
            return False
        self.current = self.res.build_input(self.confs[self.index], "inputs", self.index)
        await self.current.connect()
        return True

    async def connect(self) -> None:
        if self.current is None and self.index == 0:
            await self._open()

    async def _next_child(self) -> None:
        self.res.logger.info(f"Finished reading input {self.index} of the sequence")
        self.finished.append(self.current)
        self.current = None
        self.index += 1
        await self._open()

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        if self.joiner is not None:
            return await self._read_joined(self.joiner)
        while True:
            if self.current is None:
                raise EndOfInputError()
            try:
                return await self.current.read()  # type: ignore[no-any-return]
            except EndOfInputError:
                await self._next_child()

    async def _read_joined(self, joiner: Joiner) -> tuple[list[Message], AckFn]:
        while True:
            if self.ready:
                msg = self.ready.popleft()
                self.unacked += 1
                return [msg], self._joined_ack(msg)
            if self.current is not None:
                try:
                    batch, ack = await self.current.read()
                except EndOfInputError:
                    await self._next_child()
                    continue
                self.ready.extend(joiner.add(batch, self.index == len(self.confs) - 1))
                await ack(None)  # merged: from here on the joined documents carry it
                continue
            # every child of this pass has ended: emit only once all sent so far are acknowledged
            if self.unacked:
                self.acked.clear()
                await self.acked.wait()
                continue
            if not self.pass_emitted:
                self.res.logger.debug(f"Finished sharded iteration {joiner.iteration}")
                self.ready.extend(joiner.end_pass())
                self.pass_emitted = True
                continue
            if joiner.finished:
                self.res.logger.info(
                    "Finished all sharded iterations and exhausted all sequence inputs, shutting down."
                )
                raise EndOfInputError()
            self.pass_emitted = False
            self.index = 0
            await self._open()

    def _joined_ack(self, msg: Message) -> AckFn:
        async def ack(err: BaseException | None) -> None:
            if err is None:
                self.unacked -= 1
                self.acked.set()
                return
            if isinstance(err, ShutdownError):
                return  # the stream is going down: nothing will read it again
            self.res.logger.error(f"Failed to send joined message: {err}")
            asyncio.get_running_loop().call_later(1.0, self._send_again, msg)

        return ack

    def _send_again(self, msg: Message) -> None:
        self.unacked -= 1
        self.ready.append(msg)
        self.acked.set()

    async def close(self) -> None:
        for child in [*self.finished, *([self.current] if self.current is not None else [])]:
            await child.close()


register_input(SPEC, Sequence)
