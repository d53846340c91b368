"""The ``parquet`` input: reads Parquet files one after another, a structured message per row.

As upstream: ``paths`` may be globs (``**`` matches any number of directories); rows come in
batches of ``batch_count`` (the last batch of a file may be smaller); the input ends after the
last file. The values are those of ``pipeline/parquet_rows.py`` without logical type handling:
TIMESTAMP columns stay integers and UUID columns 16 bytes, as upstream's input gives them. A
file that cannot be opened or whose rows do not decode is reported with its path and the input
moves on to the next file; the rows read before the fault were delivered. Files are read with
Apache Arrow (the ``parquet`` extra), a batch at a time, so a large file is not held in memory.
"""

from __future__ import annotations

import asyncio
import glob
from collections.abc import Iterator
from typing import Any

from pipeline import spec as s
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.parquet_rows import RowReader, require_pyarrow
from pipeline.plugin import AckFn, register_input
from pipeline.resources import Resources

SPEC = s.ComponentSpec(
    "parquet",
    "input",
    [
        s.string_list(
            "paths",
            "Parquet files to read, one after another; glob patterns are allowed, `**` included.",
            examples=(["/tmp/foo.parquet"], ["/tmp/bar/*.parquet"], ["/tmp/data/**/*.parquet"]),
        ),
        s.integer(
            "batch_count",
            "How many rows make one batch; the last batch of a file may hold fewer.",
            default=1,
            advanced=True,
            check=lambda v: None if int(v) >= 1 else f"batch_size must be >0, got {v}",
        ),
        s.auto_replay_nacks_field(),
    ],
    summary="Reads Parquet files and emits each row as a structured message.",
    description="Needs the `parquet` extra: `pip install 'benthic[parquet]'`.",
    categories=("Local",),
    status="experimental",
    requires=("pyarrow", "parquet"),
)


async def _ack(err: BaseException | None) -> None:
    return None


class ParquetInput:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        require_pyarrow("input parquet")
        self.logger = res.logger
        self.batch_count = int(conf["batch_count"])
        self.paths: list[str] = []
        for pattern in conf["paths"]:
            matches = sorted(glob.glob(pattern, recursive=True))
            self.paths.extend(matches if matches or glob.has_magic(pattern) else [pattern])
        if not self.paths:
            self.logger.warn(f"Paths {conf['paths']} did not match any files")
        self.path = ""
        self.batches: Iterator[list[dict[str, Any]]] | None = None
        self.carry: list[dict[str, Any]] = []
        self.fault: ValueError | None = None

    async def connect(self) -> None:
        return None

    def _next_rows(self) -> list[dict[str, Any]] | None:
        """The next batch of rows, opening the next file when one ends; None after the last. A
        batch may span row groups, never files; the rows read before a fault are sent before the
        fault is reported."""
        while True:
            if self.fault is not None and not self.carry:
                fault, self.fault = self.fault, None
                raise fault
            if self.batches is None and not self.carry:
                if not self.paths:
                    return None
                self.path = self.paths.pop(0)
                try:
                    self.batches = RowReader(self.path, self.batch_count, logical_types=False).batches()
                except Exception as err:  # OSError, or Arrow's own error types for a bad file
                    raise ValueError(f"opening Parquet file {self.path}: {err}") from None
                self.logger.debug(f"Consuming parquet data from file '{self.path}'")
            while len(self.carry) < self.batch_count and self.batches is not None:
                try:
                    self.carry.extend(next(self.batches))
                except StopIteration:
                    self.batches = None
                except Exception as err:  # Arrow's own error types for a corrupt page
                    self.batches = None
                    self.fault = ValueError(f"reading Parquet file {self.path}: {err}")
            rows, self.carry = self.carry[: self.batch_count], self.carry[self.batch_count :]
            if rows:
                return rows

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        rows = await asyncio.to_thread(self._next_rows)
        if rows is None:
            raise EndOfInputError()
        return [Message.from_structured(row) for row in rows], _ack

    async def close(self) -> None:
        self.batches = None


register_input(SPEC, lambda conf, res: (ParquetInput(conf, res), conf["auto_replay_nacks"]))
