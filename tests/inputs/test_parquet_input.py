"""The ``parquet`` input, run through the real CLI on Parquet files written by pyarrow."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.component_runs import run_config


def _write(path: Path, ids: list[int]) -> None:
    table = pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "at": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * len(ids), pa.timestamp("ms", tz="UTC")),
            "key": pa.array([uuid.UUID(int=i).bytes for i in ids], pa.binary(16)).cast(pa.uuid()),
            "name": pa.array([f"row {i}" for i in ids], pa.string()),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=1)  # a batch of the input spans row groups
    path.write_bytes(out.getvalue())


def test_files_matched_by_a_glob_are_read_in_batches_and_a_broken_one_is_skipped(tmp_path: Path):
    data = tmp_path / "data"
    (data / "deeper").mkdir(parents=True)
    _write(data / "a.parquet", [1, 2, 3])
    _write(data / "deeper" / "b.parquet", [4])
    broken = data / "c.parquet"
    broken.write_bytes(b"PAR1 this is not really parquet PAR1")
    config = f"""
input:
  parquet:
    paths: [{json.dumps(str(data / "**" / "*.parquet"))}]
    batch_count: 2
pipeline:
  threads: 1
  processors:
    - mapping: 'root = this.merge({{"batch": batch_size(), "index": batch_index()}})'
output:
  stdout: {{}}
"""
    result = run_config(tmp_path, config)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["batch"], r["index"]) for r in rows] == [(1, 2, 0), (2, 2, 1), (3, 1, 0), (4, 1, 0)]
    # as upstream's input: no logical type handling, so the stored integer and the 16 bytes
    assert rows[0]["at"] == 1704067200000 and rows[0]["name"] == "row 1"
    assert rows[0]["key"] == "AAAAAAAAAAAAAAAAAAAAAQ=="
    assert f"opening Parquet file {broken}" in result.stderr
