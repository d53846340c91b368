"""Measure benthic against Redpanda Connect's own material, reproducibly.

Given a checkout of upstream's repository (github.com/redpanda-data/connect), this lints:

- every config under ``config/`` (outside ``config/test``, which is run instead, and outside the
  template directories); a config beside a ``templates/`` directory is linted with those
  templates (``-t``), through the CLI;
- every YAML block in ``docs/modules/**/*.adoc`` that is a config: a mapping whose top-level keys
  are all root config keys and include ``input``, ``pipeline``, ``output`` or a resource list.
  Blocks opening with ``# Common config fields``, ``# All config fields`` or ``# Config
  fields`` are the generated field references of a component page; they are counted apart from the written examples;

and runs ``benthic test`` on each ``config/test`` target (a config with ``tests:`` or a
``<name>_benthos_test.yaml`` beside it). Lint runs in this process through the library with
``--skip-env-var-check``'s meaning (docs use ``${VARS}`` a user would set), tests run through the
CLI. The failures are grouped by cause: a component needing an outside service, a component
benthic refuses by design, a placeholder in the docs, a component benthic does not have, and
other lint problems (benthic's own gaps).

    python tools/upstream_material.py /tmp/rpc [--details]

The upstream checkout is read only; nothing of it is copied into this repository.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.config import read_config  # noqa: E402 - after the repository is on the path
from pipeline.errors import ConfigReadError  # noqa: E402

ROOT_KEYS = {
    "http",
    "input",
    "buffer",
    "pipeline",
    "output",
    "input_resources",
    "processor_resources",
    "output_resources",
    "cache_resources",
    "rate_limit_resources",
    "logger",
    "metrics",
    "tracer",
    "shutdown_delay",
    "shutdown_timeout",
    "tests",
    "redpanda",
}
CONFIG_KEYS = {
    "input",
    "pipeline",
    "output",
    "input_resources",
    "processor_resources",
    "output_resources",
    "cache_resources",
    "rate_limit_resources",
}
# upstream's doc categories of components that talk to a service benthic cannot stand in for
SERVICE_CATEGORIES = {"Services", "AWS", "GCP", "Azure", "AI", "Social", "SpiceDB", "Network", "Integration"}
# components whose pages carry no categories but that need an outside service
SERVICE_NAMES = re.compile(
    r"^(aws_|gcp_|azure_|kafka|redpanda|sql|mongodb|cassandra|couchbase|memcached|redis|slack|"
    r"salesforce|sentry|bigquery|influxdb|statsd|jaeger|open_telemetry|otlp|schema_registry|"
    r"ristretto|google_|jira|discord|twitter)"
)
# an SQL driver other than sqlite: the component is there, the database server it talks to is not
SERVER_DRIVER = re.compile(r"driver \w+ is not available")
# components benthic refuses on purpose, with a reason in docs/compatibility.md
REFUSED = re.compile(r"is not supported by benthic")
MISSING = re.compile(r"unable to infer (\w+) type from candidates: \[([\w-]+)\]")
MISSING_TEST = re.compile(r"(?:unable to infer \w+ type from candidates: \[|component )([\w-]+)")
PLACEHOLDER_LINE = re.compile(r"No default \(required\)|TODO|<[a-z_ ]+>|\bxxx\b", re.I)


@dataclass
class Problem:
    where: str
    message: str
    line_text: str = ""


@dataclass
class Result:
    origin: str  # "config", "docs example", "docs field reference", "config/test"
    name: str
    problems: list[Problem] = field(default_factory=list)
    cause: str = ""


def service_components(upstream: Path) -> set[str]:
    pages = upstream / "docs" / "modules" / "components" / "pages"
    found = set()
    for page in pages.glob("*/*.adoc"):
        head = page.read_text(encoding="utf-8", errors="replace")[:400]
        match = re.search(r"^:categories: \[(.*)\]", head, re.M)
        categories = set(re.findall(r'"(\w+)"', match.group(1))) if match else set()
        if categories & SERVICE_CATEGORIES or SERVICE_NAMES.match(page.stem):
            found.add(page.stem)
    return found


# -- finding the material ---------------------------------------------------------------------------


def doc_blocks(upstream: Path) -> list[tuple[Path, int, str]]:
    """(file, first line of the block, text) of every YAML block in the docs."""
    blocks = []
    fence = re.compile(r"^```ya?ml[ \t]*\n(.*?)^```", re.S | re.M)
    listing = re.compile(r"^\[source, *ya?ml[^\]\n]*\]\n-{4,}\n(.*?)^-{4,}$", re.S | re.M)
    for page in sorted((upstream / "docs" / "modules").glob("**/*.adoc")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for pattern in (fence, listing):
            for match in pattern.finditer(text):
                first_line = text.count("\n", 0, match.start(1)) + 1
                blocks.append((page, first_line, match.group(1)))
    return blocks


def is_config(text: str) -> bool:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and set(data) <= ROOT_KEYS and bool(set(data) & CONFIG_KEYS)


def config_files(upstream: Path) -> list[Path]:
    found = []
    for path in sorted((upstream / "config").rglob("*.y*ml")):
        rel = path.relative_to(upstream / "config").parts
        if rel[0] == "test" or "templates" in rel or "template_examples" in rel:
            continue
        if is_config(path.read_text(encoding="utf-8", errors="replace")):
            found.append(path)
    return found


def test_targets(upstream: Path) -> list[Path]:
    targets = []
    for path in sorted((upstream / "config" / "test").rglob("*.yaml")):
        if path.name.endswith("_benthos_test.yaml"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        companion = path.with_name(path.stem + "_benthos_test.yaml")
        if re.search(r"^tests:", text, re.M) or companion.exists():
            targets.append(path)
    return targets


# -- running benthic --------------------------------------------------------------------------------


def lint_text(name: str, text: str, first_line: int) -> list[Problem]:
    padded = "\n" * (first_line - 1) + text
    try:
        loaded = read_config(name, text=padded, skip_env_check=True)
    except ConfigReadError as err:
        return [Problem(name, str(err))]
    lines = padded.split("\n")
    return [
        Problem(
            f"{name}:{lint.line}", lint.message, lines[lint.line - 1] if 0 < lint.line <= len(lines) else ""
        )
        for lint in loaded.errors
    ]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benthic.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


def lint_file(upstream: Path, path: Path) -> list[Problem]:
    templates = next((d / "templates" for d in path.parents if (d / "templates").is_dir()), None)
    rel = str(path.relative_to(upstream))
    if templates is None:
        return lint_text(rel, path.read_text(encoding="utf-8", errors="replace"), 1)
    result = cli("lint", "--skip-env-var-check", "-t", f"{templates}/*.yaml", rel, cwd=upstream)
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    problems = []
    for text in (result.stdout + result.stderr).splitlines():
        match = re.search(r"\((\d+),\d+\) (.*)", text)
        if match:
            line = int(match.group(1))
            problems.append(
                Problem(f"{rel}:{line}", match.group(2), lines[line - 1] if 0 < line <= len(lines) else "")
            )
        elif text.strip():
            problems.append(Problem(rel, text.strip()))
    return problems


def run_test(upstream: Path, path: Path) -> list[Problem]:
    rel = str(path.relative_to(upstream))
    result = cli("test", rel, cwd=upstream)
    if result.returncode == 0:
        return []
    lines = [t.strip() for t in (result.stdout + result.stderr).splitlines() if t.strip()]
    details = [t for t in lines if not t.startswith(("Test '", "Failures:", "---"))]
    return [Problem(rel, line) for line in (details or lines[-1:])[:8]]


# -- causes -----------------------------------------------------------------------------------------


def classify(result: Result, services: set[str]) -> str:
    messages = [p.message for p in result.problems]
    for message in messages:
        for match in MISSING.finditer(message):
            if match.group(2) in services or SERVICE_NAMES.match(match.group(2)):
                return "needs an outside service"
        if result.origin == "config/test":
            for name in MISSING_TEST.findall(message):
                if name in services or SERVICE_NAMES.match(name):
                    return "needs an outside service"
    if any(SERVER_DRIVER.search(m) for m in messages):
        return "needs an outside service"
    if any(REFUSED.search(m) for m in messages):
        return "refused by benthic by design"
    if any(MISSING.search(m) for m in messages):
        return "benthic gap: missing component"
    if any("already defined at line" in m for m in messages):
        return "docs error: invalid YAML"
    if all(is_placeholder(result, p) for p in result.problems):
        return "docs placeholder values"
    return "benthic gap: lint"


def is_placeholder(result: Result, problem: Problem) -> bool:
    """A problem on a value the docs leave for the reader to fill: an unset ``${VAR}``, a
    ``No default (required)`` field, or (in a field reference) a list or string left empty."""
    line = problem.line_text
    if PLACEHOLDER_LINE.search(line) or "${" in line or "required environment variables" in problem.message:
        return True
    if result.origin == "docs field reference":
        # the field reference shows defaults: ``outputs: []``, ``check: ""``, ``network: ""``
        return bool(re.search(r':\s*(\[\]|""|\{\}|null)?\s*(#.*)?$', line))
    return False


def normalise(message: str) -> str:
    """A lint message with the particulars (names, numbers, quoted values) masked, for grouping."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "'…'", message)
    text = re.sub(r"\b\d+\b", "N", text)
    return text[:140]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("upstream", type=Path, help="a checkout of github.com/redpanda-data/connect")
    parser.add_argument("--details", action="store_true", help="list every failing config and its problems")
    args = parser.parse_args()
    upstream: Path = args.upstream.resolve()
    services = service_components(upstream)
    results: list[Result] = []

    for path in config_files(upstream):
        results.append(Result("config", str(path.relative_to(upstream)), lint_file(upstream, path)))
    for page, line, text in doc_blocks(upstream):
        if not is_config(text):
            continue
        head = text.lstrip()
        origin = (
            "docs field reference" if re.match(r"# (Common |All )?[Cc]onfig fields", head) else "docs example"
        )
        name = str(page.relative_to(upstream))
        results.append(Result(origin, f"{name}:{line}", lint_text(name, text, line)))
    for path in test_targets(upstream):
        results.append(Result("config/test", str(path.relative_to(upstream)), run_test(upstream, path)))

    for result in results:
        result.cause = classify(result, services) if result.problems else "ok"

    print(f"upstream: {upstream}")
    print(f"{'origin':<22} {'total':>6} {'clean':>6}")
    origins = ["config", "docs example", "docs field reference", "config/test"]
    for origin in origins:
        group = [r for r in results if r.origin == origin]
        clean = sum(1 for r in group if not r.problems)
        label = "(tests pass)" if origin == "config/test" else ""
        print(f"{origin:<22} {len(group):>6} {clean:>6} {label}")
    linted = [r for r in results if r.origin != "config/test"]
    print(f"{'all linted configs':<22} {len(linted):>6} {sum(1 for r in linted if not r.problems):>6}")

    print("\nfailures by cause (configs):")
    causes = Counter((r.origin, r.cause) for r in results if r.problems)
    for origin in origins:
        for (o, cause), count in sorted(causes.items(), key=lambda kv: -kv[1]):
            if o == origin:
                print(f"  {origin:<22} {cause:<34} {count:>4}")

    missing: Counter[str] = Counter()
    for r in results:
        if r.cause == "benthic gap: missing component":
            for p in r.problems:
                for kind, name in MISSING.findall(p.message):
                    if name not in services and not SERVICE_NAMES.match(name):
                        missing[f"{kind} {name}"] += 1
    if missing:
        print("\nmissing components that need no outside service (configs naming them):")
        for name, count in missing.most_common():
            print(f"  {count:>4}  {name}")

    gaps: dict[str, list[Problem]] = defaultdict(list)
    for r in results:
        if r.cause == "benthic gap: lint" or (
            r.origin == "config/test" and r.cause.startswith("benthic gap")
        ):
            for p in r.problems:
                gaps[normalise(p.message)].append(p)
    if gaps:
        print("\nother problems (benthic's gaps), grouped by message:")
        for message, problems in sorted(gaps.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(problems):>4}  {message}")
            print(f"        e.g. {problems[0].where}")

    if args.details:
        print("\nevery failing config:")
        for r in results:
            if r.problems:
                print(f"- [{r.cause}] {r.name}")
                for p in r.problems[:6]:
                    print(f"    {p.where}: {p.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
