"""The ``sequence`` input: read child inputs one after another, each until it ends.

As upstream: the next input starts only when the current one has ended (its outstanding
messages keep their own acknowledgements), and the sequence ends after the last one. Where we
differ: ``sharded_join`` (merging documents from the children by an id before emitting them) is
not implemented; any join type other than ``none`` fails lint rather than being ignored.
"""

from __future__ import annotations

from typing import Any

from pipeline import spec as s
from pipeline.errors import EndOfInputError
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
                    "How documents with the same id are merged; `none` merges nothing.",
                    default="none",
                ),
                s.string("id_path", "Dot path of the id that documents are joined on.", default=""),
                s.integer("iterations", "How many passes the join makes over the data.", default=1),
                s.enum(
                    "merge_strategy",
                    ("array", "replace", "keep"),
                    "How clashing values are merged.",
                    default="array",
                ),
            ],
            "Joins documents from the inputs by id before emitting them (not supported by benthic).",
            advanced=True,
        ),
        s.component_list("inputs", "input", "The inputs to read, in order."),
    ],
)


def _lint(conf: Any) -> list[str]:
    if conf["sharded_join"]["type"] != "none":
        return ["sharded_join is not supported by benthic: only type none is accepted"]
    return []


SPEC.lint = _lint


class Sequence:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.confs = list(conf["inputs"])
        self.res = res
        self.index = 0
        self.current: Any = None
        self.finished: list[Any] = []

    async def _open(self) -> bool:
        if self.index >= len(self.confs):
            return False
        self.current = self.res.build_input(self.confs[self.index], "inputs", self.index)
        await self.current.connect()
        return True

    async def connect(self) -> None:
        if self.current is None and self.index == 0:
            await self._open()

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while True:
            if self.current is None:
                raise EndOfInputError()
            try:
                return await self.current.read()  # type: ignore[no-any-return]
            except EndOfInputError:
                self.res.logger.info(f"Finished reading input {self.index} of the sequence")
                self.finished.append(self.current)
                self.current = None
                self.index += 1
                await self._open()

    async def close(self) -> None:
        for child in [*self.finished, *([self.current] if self.current is not None else [])]:
            await child.close()


register_input(SPEC, Sequence)
