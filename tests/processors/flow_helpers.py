"""Running a config the way ``benthic run`` does, in process: the built stream reads its input to
the end and the test reads what the file output wrote."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml

from pipeline.builder import Manager


def run_config(text: str, out: Path) -> list[Any]:
    """Build and run the YAML config ``text`` (its output writes ``out``); the lines written."""
    data = yaml.safe_load(text)

    async def main() -> None:
        stream = Manager().build_stream(data)
        try:
            await stream.run()
        finally:
            await stream.close()

    asyncio.run(main())
    if not out.exists():
        return []
    lines = out.read_text().splitlines()
    out_lines: list[Any] = []
    for line in lines:
        try:
            out_lines.append(json.loads(line))
        except ValueError:
            out_lines.append(line)
    return out_lines
