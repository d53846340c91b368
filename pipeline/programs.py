"""Starting a program for a component (``command``, the ``subprocess`` input, processor and output).

Upstream starts programs with Go's ``os/exec``, whose errors users see in their logs: a program
that is not on ``PATH`` is ``exec: "name": executable file not found in $PATH``, and one that
cannot be run is ``fork/exec path: permission denied`` and the like. Python's own error text for a
missing program leaves the name out on some versions, so the text is written here instead.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any


class ProgramStartError(RuntimeError):
    """A program could not be started; the text is Go's wording of why."""


def start_error_text(name: str, err: OSError) -> str:
    """Why ``name`` could not be started, in ``os/exec``'s words."""
    if "/" not in name and shutil.which(name) is None:
        return f'exec: "{name}": executable file not found in $PATH'
    reason = err.strerror or str(err)
    return f"fork/exec {name}: {reason[:1].lower()}{reason[1:]}"


async def start_program(argv: list[str], **options: Any) -> asyncio.subprocess.Process:
    """``asyncio.create_subprocess_exec(*argv, **options)``, failing with a
    :class:`ProgramStartError` that names the program."""
    try:
        return await asyncio.create_subprocess_exec(*argv, **options)
    except OSError as err:
        raise ProgramStartError(start_error_text(argv[0], err)) from None
