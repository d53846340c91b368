"""The ``csv`` input: read CSV files row by row, as structured messages.

As upstream: ``paths`` may be globs; with ``parse_header_row`` the first row names the columns
and each later row becomes an object, otherwise each row is an array of strings. ``batch_count``
rows make one batch. Each message carries ``header`` (the column names, when parsed), ``path``,
``mod_time_unix`` and ``mod_time`` metadata. A row with a different number of fields than the
header is an error that ends that file (logged), as Go's CSV reader does. ``delete_on_finish``
removes a file once all of its rows were acknowledged. Where we differ: ``lazy_quotes`` maps to
Python's tolerant quote handling, which accepts the same stray quotes in practice.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import io
import os
from typing import Any

from pipeline import spec as s
from pipeline.errors import EndOfInputError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "csv",
    "input",
    summary="Reads CSV files and emits each row as a structured message.",
    categories=("Local",),
    fields=[
        s.string_list("paths", "Files to read; glob patterns are expanded.", examples=(["./data/*.csv"],)),
        s.boolean("parse_header_row", "Use the first row as column names and emit objects.", default=True),
        s.string("delimiter", "The field separator, one character.", default=","),
        s.boolean(
            "lazy_quotes", "Accept quotes that appear in unquoted fields.", default=False, advanced=True
        ),
        s.boolean(
            "delete_on_finish",
            "Remove each file once all its rows were read and acknowledged.",
            default=False,
            advanced=True,
        ),
        s.integer("batch_count", "How many rows make one batch.", default=1, advanced=True),
        s.auto_replay_nacks_field(),
    ],
)


def _lint(conf: Any) -> list[str]:
    if len(conf["delimiter"]) != 1:
        return ["delimiter value must be exactly one character"]
    if conf["batch_count"] < 1:
        return ["batch_count must be at least 1"]
    return []


SPEC.lint = _lint


class _File:
    def __init__(self, path: str, delete: bool, logger: Any) -> None:
        self.path = path
        self.delete = delete
        self.logger = logger
        self.pending = 0
        self.finished = False
        self.failed = False

    def ack_fn(self) -> AckFn:
        self.pending += 1

        async def ack(err: BaseException | None) -> None:
            self.pending -= 1
            self.failed = self.failed or err is not None
            self._maybe_delete()

        return ack

    def finish(self) -> None:
        self.finished = True
        self._maybe_delete()

    def _maybe_delete(self) -> None:
        if self.delete and self.finished and self.pending == 0 and not self.failed:
            self.delete = False
            try:
                os.remove(self.path)
            except OSError as err:
                self.logger.error(f"Failed to delete consumed file {self.path}: {err}")


class CsvInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.logger = res.logger
        self.paths: list[str] = []
        for pattern in conf["paths"]:
            self.paths.extend(sorted(glob.glob(pattern, recursive=True)) or [pattern])
        self.rows: Any = None
        self.header: list[str] | None = None
        self.meta: dict[str, Any] = {}
        self.current: _File | None = None

    async def connect(self) -> None:
        return None

    def _open_next(self) -> bool:
        while self.paths:
            path = self.paths.pop(0)
            try:
                with open(path, "rb") as fh:
                    text = fh.read().decode("utf-8", "replace")
                mtime = os.stat(path).st_mtime
            except OSError as err:
                self.logger.error(f"Failed to consume file {path}: {err}")
                continue
            self.rows = csv.reader(
                io.StringIO(text, newline=""),
                delimiter=self.conf["delimiter"],
                strict=not self.conf["lazy_quotes"],
            )
            self.current = _File(path, self.conf["delete_on_finish"], self.logger)
            when = dt.datetime.fromtimestamp(mtime, dt.UTC).astimezone()
            self.meta = {
                "path": path,
                "mod_time_unix": int(mtime),
                "mod_time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
            }
            self.header = None
            self.width: int | None = None
            if self.conf["parse_header_row"]:
                try:
                    self.header = next(self.rows)
                except (StopIteration, csv.Error):
                    self._end_file()
                    continue
                self.width = len(self.header)
            return True
        return False

    def _end_file(self) -> None:
        if self.current is not None:
            self.current.finish()
        self.rows = None
        self.current = None

    def _message(self, row: list[str]) -> Message:
        meta = dict(self.meta)
        if self.header is not None:
            meta["header"] = list(self.header)
            return Message.from_structured(dict(zip(self.header, row, strict=False)), meta)
        return Message.from_structured(list(row), meta)

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while True:
            if self.rows is None and not self._open_next():
                raise EndOfInputError()
            assert self.current is not None
            batch: list[Message] = []
            try:
                for row in self.rows:
                    if self.width is None:
                        self.width = len(row)
                    elif len(row) != self.width:
                        line = self.rows.line_num
                        raise csv.Error(f"record on line {line}: wrong number of fields")
                    batch.append(self._message(row))
                    if len(batch) >= self.conf["batch_count"]:
                        break
                else:
                    ack = self.current.ack_fn() if batch else None
                    self._end_file()
                    if ack is not None:
                        return batch, ack
                    continue
            except csv.Error as err:
                self.logger.error(f"Failed to read {self.current.path}: {err}")
                self.current.failed = True  # a broken file is kept on disk
                ack = self.current.ack_fn() if batch else None
                self._end_file()
                if ack is not None:
                    return batch, ack
                continue
            return batch, self.current.ack_fn()

    async def close(self) -> None:
        return None


register_input(SPEC, lambda conf, res: (CsvInput(conf, res), conf["auto_replay_nacks"]))
