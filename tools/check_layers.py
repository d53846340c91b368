"""Check benthic's layering rules (DESIGN.md) on every module, imports inside functions included.

    python tools/check_layers.py            # prints each breach, exits 1 if there is any

The layers, lowest first::

    mapping_lang  <-  pipeline (and the benthic package's __init__)  <-  inputs / processors /
    outputs  <-  benthic.* (the CLI, the demo, the config unit-test runner, the simulators)

Rules:
- a module imports nothing from a layer above its own;
- a component package (inputs, processors, outputs) never imports another component package;
- no import circles between modules (an import of ``a.b`` counts as an edge to ``a.b`` only, not
  to the package ``a`` that Python also initialises; an import under ``if TYPE_CHECKING:`` is for
  the type checker alone, never runs, and so counts for the layers but not for circles);
- an import inside a function body says why on its line or the line above (an optional
  dependency, or a start-up cost that was measured): a comment is required;
- no module is longer than ``MAX_LINES``.

Dynamic imports by name (the registry loading the built-in packages, entry points) are not
imports in this sense: that is how a third-party plugin is loaded too.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mapping_lang", "pipeline", "inputs", "processors", "outputs", "benthic")
COMPONENT_PACKAGES = ("inputs", "processors", "outputs")
MAX_LINES = 1000


@dataclass(frozen=True)
class Breach:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def layer(module: str) -> int:
    """0 for the language, 1 for the runtime, 2 for components, 3 for what uses components."""
    top = module.split(".")[0]
    if top == "mapping_lang":
        return 0
    if top == "pipeline" or module == "benthic":
        return 1
    if top in COMPONENT_PACKAGES:
        return 2
    return 3  # benthic.cli, benthic.demo, benthic.unit_tests, benthic.simulators...


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "build" in path.relative_to(ROOT).parts:
                continue
            found[module_name(path)] = path
    return found


def imported_names(node: ast.Import | ast.ImportFrom, current: str, is_package: bool) -> list[str]:
    """The first-party modules an import statement reaches (``from a import b`` may name module
    ``a.b``; the caller keeps the longest name that is a real module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = current.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def function_depth_imports(tree: ast.Module) -> set[int]:
    """Line numbers of imports nested in a function body."""
    nested: set[int] = set()
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    nested.add(node.lineno)
    return nested


def type_checking_imports(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:``."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for inner in ast.walk(child):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        found.add(inner.lineno)
    return found


def has_comment(lines: list[str], lineno: int) -> bool:
    here = lines[lineno - 1]
    above = lines[lineno - 2] if lineno >= 2 else ""
    return "#" in here or "#" in above  # on the import, or on the line before (a comment, a try:)


def check() -> tuple[list[Breach], dict[str, set[str]]]:
    modules = all_modules()
    breaches: list[Breach] = []
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for current, path in modules.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        rel = str(path.relative_to(ROOT))
        if len(lines) > MAX_LINES:
            breaches.append(Breach(rel, 1, f"{len(lines)} lines; a module stays under {MAX_LINES}"))
        tree = ast.parse(source, filename=rel)
        nested = function_depth_imports(tree)
        typing_only = type_checking_imports(tree)
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if node.lineno in nested and not has_comment(lines, node.lineno):
                breaches.append(
                    Breach(rel, node.lineno, "import inside a function without a comment saying why")
                )
            targets = {t for n in imported_names(node, current, is_package) if (t := resolve(n, modules))}
            # ``from a import b`` where b is a module: keep a.b, drop the bare package a
            targets = {t for t in targets if not any(o != t and o.startswith(t + ".") for o in targets)}
            for target in targets:
                if target == current:
                    continue
                if node.lineno not in typing_only:
                    graph[current].add(target)
                if layer(target) > layer(current):
                    breaches.append(
                        Breach(
                            rel,
                            node.lineno,
                            f"{current} (layer {layer(current)}) imports {target} "
                            f"(layer {layer(target)}), which is above it",
                        )
                    )
                top, target_top = current.split(".")[0], target.split(".")[0]
                if top in COMPONENT_PACKAGES and target_top in COMPONENT_PACKAGES and top != target_top:
                    breaches.append(
                        Breach(
                            rel,
                            node.lineno,
                            f"component package {top} imports component package "
                            f"{target_top}; what they share belongs in pipeline/",
                        )
                    )
    return breaches, graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main() -> int:
    breaches, graph = check()
    for cycle in cycles(graph):
        breaches.append(Breach(cycle[0].replace(".", "/"), 0, "import circle: " + " -> ".join(cycle)))
    for breach in breaches:
        print(breach)
    if breaches:
        print(f"{len(breaches)} breach(es) of the layering rules (DESIGN.md)")
        return 1
    print(f"layers ok: {len(graph)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
