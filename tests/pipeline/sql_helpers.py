"""What the SQL component tests share: real sqlite files made and read with Python's own sqlite3,
configs run in process the way ``benthic run`` runs them (the output writes a file), and lint of a
config as ``benthic lint`` reports it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from pipeline.config import read_config
from tests.processors.flow_helpers import run_config as run_in_process

# A last processor that shows each message as a user would inspect it: payload, error, metadata.
REPORT_LINE = '    - mapping: \'root = {"content": content().string(), "error": error()}\'\n'


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """The rows ``sql`` reads from the database file ``db`` now."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def seed(db: Path, *statements: str) -> Path:
    """``db`` after running ``statements`` on it (committed)."""
    conn = sqlite3.connect(db)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()
    return db


def run_to_file(tmp_path: Path, config: str) -> list[Any]:
    """Run ``config``, whose output block is added here (a file of lines), to the end of its
    input; the lines written, parsed when they are JSON."""
    out = tmp_path / "out.txt"
    return run_in_process(config.replace("@OUT@", str(out)), out)


def file_output(indent: str = "  ") -> str:
    return f"{indent}file: {{path: '@OUT@', codec: lines}}\n"


def lint_problems(tmp_path: Path, config: str) -> list[str]:
    """What ``benthic lint`` reports for ``config``, one ``file(line,col) text`` each."""
    path = tmp_path / "lint.yaml"
    path.write_text(config)
    return [lint.render("lint.yaml") for lint in read_config(str(path), env={}).lints]
