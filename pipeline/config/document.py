"""What reading a config produces: the parsed tree with the position of every node, and its lints.

A lint prints as ``<file>(<line>,<col>) <message>``, upstream's format, which editors and CI
tooling match. A problem that stops the file being read at all is a ``ConfigReadError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Lint:
    line: int
    column: int
    message: str
    level: str = "error"  # error | warning
    source: str | None = None  # the file, when not the main config (a -r resource file)

    def render(self, path: str) -> str:
        return f"{self.source or path}({self.line},{self.column}) {self.message}"


@dataclass
class LoadedConfig:
    path: str
    data: Any
    marks: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)
    lints: list[Lint] = field(default_factory=list)
    lint_disabled: bool = False

    @property
    def errors(self) -> list[Lint]:
        return [lint for lint in self.lints if lint.level == "error"]

    @property
    def warnings(self) -> list[Lint]:
        return [lint for lint in self.lints if lint.level == "warning"]

    def mark(self, path: tuple[Any, ...]) -> tuple[int, int]:
        """The (line, column) of a config path, falling back to its nearest known parent."""
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path[:-1]
        return self.marks.get((), (1, 1))
