"""``benthic test [paths...]``: Redpanda Connect's config unit tests.

Test cases come from a ``tests:`` list in a config, from a sibling ``<name>_benthos_test.yaml``,
or from a file of its own whose ``target_processors`` points into another config
(``other.yaml#/pipeline/processors``). Each case feeds its input batches through the targeted
processors (or a ``target_mapping`` Bloblang file) with the processors' real implementations,
then checks the batches that come out against its ``output_batches`` conditions. Inputs and
outputs never run. The target config is linted too. The report follows upstream's::

    Test 'config.yaml' failed

    Failures:

    --- config.yaml ---

    uppercases [line 12]:
    batch 0 message 0: content_equals: content mismatch
      expected: FOO
      received: foo

Where we differ: JSON mismatches are explained as the expected and received documents (upstream
prints a coloured structural diff), and output is never coloured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapping_lang
from mapping_lang.value import format_json, format_json_marshal, is_number, parse_json, to_text, values_equal
from pipeline.builder import Manager
from pipeline.config import (
    ConfigReadError,
    LoadedConfig,
    decode_config,
    expand_lint_paths,
    iter_components,
    load_env_files,
    merge_resource_files,
    parse_yaml,
    read_config,
)
from pipeline.engine import ProcessorStage, run_processors
from pipeline.errors import ConfigError
from pipeline.logs import LEVELS, Logger, LogSink
from pipeline.message import Message
from pipeline.registry import REGISTRY

TEST_SUFFIX = "_benthos_test"
DEFAULT_TARGET = "/pipeline/processors"

CASE_FIELDS = (
    "name",
    "environment",
    "target_processors",
    "target_mapping",
    "mocks",
    "input_batch",
    "input_batches",
    "output_batches",
)


class DefinitionError(Exception):
    """A test definition that cannot be read or is malformed."""


class CaseError(Exception):
    """A case that cannot run at all (its target cannot be built): aborts the whole run."""


# -- conditions -------------------------------------------------------------------------------------

Check = Callable[[Message, str], "str | None"]  # (message, test dir) -> failure reason or None


def _json_text(value: Any) -> str:
    """A condition's JSON: a string is JSON text already; anything else is marshalled."""
    return value if isinstance(value, str) else format_json_marshal(value)


def _json_matches(actual: Any, expected: Any, *, superset: bool) -> bool:
    """Structural JSON equality; with ``superset`` the actual document may hold more (object keys,
    trailing array items) than the expected one."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or (not superset and len(actual) != len(expected)):
            return False
        return all(
            k in actual and _json_matches(actual[k], v, superset=superset) for k, v in expected.items()
        )
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) < len(expected):
            return False
        if not superset and len(actual) != len(expected):
            return False
        return all(_json_matches(a, e, superset=superset) for a, e in zip(actual, expected, strict=False))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if is_number(expected):
        return is_number(actual) and values_equal(expected, actual)
    return type(expected) is type(actual) and expected == actual


def _json_check(expected_text: str, msg: Message, *, superset: bool) -> str | None:
    title = "JSON superset mismatch" if superset else "JSON content mismatch"
    try:
        expected = parse_json(expected_text)
    except ValueError as err:
        return f"{title}\n  expected document is not valid JSON: {err}"
    try:
        actual = parse_json(msg.content)
    except ValueError as err:
        return f"{title}\n  received content is not valid JSON: {err}\n  received: {_text(msg.content)}"
    if _json_matches(actual, expected, superset=superset):
        return None
    return (
        f"{title}\n  expected: {format_json(expected).decode()}\n  received: {format_json(actual).decode()}"
    )


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _read_relative(dir_: str, path: str, what: str) -> bytes:
    full = os.path.join(dir_, path)
    try:
        return Path(full).read_bytes()
    except OSError as err:
        reason = (err.strerror or str(err)).lower()
        raise DefinitionError(f"failed to read {what}: open {full}: {reason}") from None


def _condition(kind: str, value: Any, where: str) -> Check:
    """One output condition, validated when the definition is read."""

    def need_str() -> str:
        if isinstance(value, (dict, list)) or value is None:
            raise DefinitionError(f"{where}: {kind}: expected a string value")
        return to_text(value)

    if kind == "bloblang":
        try:
            mapping = mapping_lang.compile(need_str())
        except mapping_lang.MappingError as err:
            raise DefinitionError(f"{where}: bloblang: {err}") from None

        def check_bloblang(msg: Message, _: str) -> str | None:
            try:
                result = mapping.check(msg, [msg], 0)
            except Exception as err:
                return str(err)
            return None if result else "bloblang expression was false"

        return check_bloblang
    if kind == "content_equals":
        expected = need_str()

        def check_equals(msg: Message, _: str) -> str | None:
            received = _text(msg.content)
            if received == expected:
                return None
            return f"content mismatch\n  expected: {expected}\n  received: {received}"

        return check_equals
    if kind == "content_matches":
        pattern_text = need_str()
        try:
            pattern = re.compile(pattern_text)
        except re.error as err:
            raise DefinitionError(f"{where}: content_matches: invalid regular expression: {err}") from None

        def check_matches(msg: Message, _: str) -> str | None:
            received = _text(msg.content)
            if pattern.search(received):
                return None
            return f"pattern mismatch\n   pattern: {pattern_text}\n  received: {received}"

        return check_matches
    if kind == "metadata_equals":
        if not isinstance(value, dict):
            raise DefinitionError(f"{where}: metadata_equals: expected a map of metadata keys to values")
        wanted = dict(value)

        def check_metadata(msg: Message, _: str) -> str | None:
            for key, exp in wanted.items():
                if key not in msg.metadata:
                    return f"metadata key '{key}' expected but not found"
                act = msg.metadata[key]
                if not values_equal(exp, act):
                    return f"metadata key '{key}' mismatch\n  expected: {to_text(exp)}\n  received: {to_text(act)}"
            return None

        return check_metadata
    if kind in ("json_equals", "json_contains"):
        expected_text = _json_text(value)
        superset = kind == "json_contains"
        return lambda msg, _: _json_check(expected_text, msg, superset=superset)
    if kind == "file_equals":
        path = need_str()

        def check_file(msg: Message, dir_: str) -> str | None:
            try:
                expected = _text(_read_relative(dir_, path, "comparison file"))
            except DefinitionError as err:
                return str(err)
            received = _text(msg.content)
            if expected == received:
                return None
            return f"content mismatch\n  expected: {expected}\n  received: {received}"

        return check_file
    if kind in ("file_json_equals", "file_json_contains"):
        path = need_str()
        superset = kind == "file_json_contains"

        def check_file_json(msg: Message, dir_: str) -> str | None:
            try:
                expected_text = _text(_read_relative(dir_, path, "comparison JSON file"))
            except DefinitionError as err:
                return str(err)
            return _json_check(expected_text, msg, superset=superset)

        return check_file_json
    raise DefinitionError(f"{where}: message part condition type not recognised: {kind}")


# -- test definitions -------------------------------------------------------------------------------


@dataclass
class InputPart:
    content: bytes = b""
    file: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def message(self, dir_: str) -> Message:
        content = self.content
        if self.file:
            try:
                content = Path(os.path.join(dir_, self.file)).read_bytes()
            except OSError as err:
                raise CaseError(f"failed to create mock input: {err.strerror}: {self.file}") from None
        return Message(content, dict(self.metadata))


@dataclass
class Case:
    name: str
    line: int
    environment: dict[str, str] = field(default_factory=dict)
    target_processors: str = DEFAULT_TARGET
    target_mapping: str = ""
    mocks: dict[str, Any] = field(default_factory=dict)
    input_batches: list[list[InputPart]] = field(default_factory=list)
    output_batches: list[list[list[tuple[str, Check]]]] = field(default_factory=list)


def _input_part(raw: Any, where: str) -> InputPart:
    if not isinstance(raw, dict):
        raise DefinitionError(
            f"{where}: expected an object with content, json_content, file_content or metadata"
        )
    part = InputPart()
    for key, value in raw.items():
        if key == "content":
            part.content = to_text(value).encode() if value is not None else b""
        elif key == "json_content":
            part.content = format_json_marshal(value).encode()
        elif key == "file_content":
            part.file = to_text(value)
        elif key == "metadata":
            if not isinstance(value, dict):
                raise DefinitionError(f"{where}: metadata: expected a map")
            part.metadata = {str(k): v for k, v in value.items()}
        else:
            raise DefinitionError(f"{where}: input part field not recognised: {key}")
    return part


def _list_of_lists(raw: Any, name: str, where: str) -> list[list[Any]]:
    if not isinstance(raw, list) or not all(isinstance(b, list) for b in raw):
        raise DefinitionError(f"{where}: {name}: expected a list of lists")
    return raw


def parse_case(raw: Any, line: int, marks: Callable[[tuple[Any, ...]], int]) -> Case:
    where = f"line {line}"
    if not isinstance(raw, dict):
        raise DefinitionError(f"{where}: a test case must be an object")
    for key in raw:
        if key not in CASE_FIELDS:
            raise DefinitionError(f"line {marks((key,))}: field {key} not recognised")
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise DefinitionError(f"{where}: field name is required")
    case = Case(raw["name"], line)
    env = raw.get("environment") or {}
    if not isinstance(env, dict):
        raise DefinitionError(f"line {marks(('environment',))}: environment: expected a map of strings")
    case.environment = {str(k): to_text(v) if v is not None else "" for k, v in env.items()}
    target = raw.get("target_processors", DEFAULT_TARGET)
    case.target_processors = to_text(target) if target else DEFAULT_TARGET
    case.target_mapping = to_text(raw.get("target_mapping") or "")
    mocks = raw.get("mocks") or {}
    if not isinstance(mocks, dict):
        raise DefinitionError(
            f"line {marks(('mocks',))}: mocks: expected a map of labels or paths to processors"
        )
    case.mocks = mocks
    if "input_batches" in raw:
        for b, batch in enumerate(_list_of_lists(raw["input_batches"], "input_batches", where)):
            case.input_batches.append(
                [_input_part(p, f"line {marks(('input_batches', b, i))}") for i, p in enumerate(batch)]
            )
    if "input_batch" in raw:
        batch = raw["input_batch"]
        if not isinstance(batch, list):
            raise DefinitionError(f"line {marks(('input_batch',))}: input_batch: expected a list")
        if batch:
            case.input_batches.append(
                [_input_part(p, f"line {marks(('input_batch', i))}") for i, p in enumerate(batch)]
            )
    for b, batch in enumerate(_list_of_lists(raw.get("output_batches") or [], "output_batches", where)):
        expected: list[list[tuple[str, Check]]] = []
        for i, conditions in enumerate(batch):
            at = f"line {marks(('output_batches', b, i))}"
            if not isinstance(conditions, dict):
                raise DefinitionError(f"{at}: expected an object of conditions")
            expected.append(
                [(kind, _condition(kind, value, at)) for kind, value in sorted(conditions.items())]
            )
        case.output_batches.append(expected)
    return case


def read_definition(path: str) -> list[Case]:
    """The cases of a definition file (empty when it has no ``tests``)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise DefinitionError(f"failed to read test definition from '{path}': {err.strerror}") from None
    try:
        data, marks = parse_yaml(decode_config(raw)[0], path)
    except ConfigReadError as err:
        raise DefinitionError(f"failed to parse test definition from '{path}': {err}") from None
    if data is not None and not isinstance(data, dict):
        line, column = marks.get((), (1, 1))
        raise DefinitionError(
            f"failed to parse test definition from '{path}': {path}({line},{column}) expected a mapping at the top level"
        )
    tests = data.get("tests") if isinstance(data, dict) else None
    if not tests:
        return []
    if not isinstance(tests, list):
        raise DefinitionError(f"failed to parse test definition from '{path}': tests: expected a list")
    cases = []
    for i, raw in enumerate(tests):
        line = marks.get(("tests", i), (1, 1))[0]

        def mark(sub: tuple[Any, ...], i: int = i, line: int = line) -> int:
            full: tuple[Any, ...] = ("tests", i, *sub)
            while len(full) > 2 and full not in marks:
                full = full[:-1]
            return marks.get(full, (line, 1))[0]

        try:
            cases.append(parse_case(raw, line, mark))
        except DefinitionError as err:
            raise DefinitionError(f"failed to parse test definition from '{path}': {err}") from None
    return cases


def path_pair(path: str) -> tuple[str, str]:
    """(config path, definition path) for either of the two (upstream's ``GetPathPair``)."""
    head, file = os.path.split(path)
    stem, ext = os.path.splitext(file)
    if stem.endswith(TEST_SUFFIX):
        return os.path.join(head, stem[: -len(TEST_SUFFIX)] + ext), os.path.normpath(path)
    return os.path.normpath(path), os.path.join(head, stem + TEST_SUFFIX + ext)


def expand_paths(patterns: list[str]) -> list[str]:
    paths: list[str] = []
    for pattern in patterns:
        if os.path.isdir(pattern):
            pattern = pattern.rstrip("/") + "/..."
        paths.extend(expand_lint_paths([pattern]))
    return paths


def find_targets(patterns: list[str]) -> dict[str, list[Case]]:
    targets: dict[str, list[Case]] = {}
    for path in expand_paths(patterns):
        config_path, definition_path = path_pair(path)
        if not os.path.exists(config_path):
            raise DefinitionError(
                f"unable to access target config file '{config_path}': no such file or directory"
            )
        if not os.path.exists(definition_path):
            if not config_path.endswith((".yaml", ".yml")):
                continue
            definition_path = config_path
        cases = read_definition(definition_path)
        if cases:
            targets[os.path.normpath(config_path)] = cases
    return targets


# -- running a case ---------------------------------------------------------------------------------


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Environment variables set for one case, restored afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _pointer(pointer: str) -> list[str]:
    if pointer == "" or pointer == "/":
        return [] if pointer == "" else [""]
    if not pointer.startswith("/"):
        raise CaseError(f"failed to parse path '{pointer}': a JSON Pointer starts with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def _step(node: Any, segment: str, pointer: str) -> tuple[Any, Any]:
    """(container key, child) of one pointer step."""
    if isinstance(node, dict):
        if segment not in node:
            raise CaseError(f"path '{pointer}': key '{segment}' not found")
        return segment, node[segment]
    if isinstance(node, list):
        if not segment.isdigit() or int(segment) >= len(node):
            raise CaseError(f"path '{pointer}': index '{segment}' not found")
        return int(segment), node[int(segment)]
    raise CaseError(f"path '{pointer}': '{segment}' is not inside an object or array")


def _resolve(data: Any, segments: list[Any], pointer: str) -> Any:
    node = data
    for segment in segments:
        _, node = _step(node, str(segment), pointer)
    return node


def _replace(data: Any, segments: list[Any], value: Any, pointer: str) -> None:
    """Set a mock at ``segments``: a final ``-`` appends to a list (JSON Pointer's past-the-end
    index); a component replaced keeps its label, so a mocked resource is still found by it."""
    if not segments:
        raise CaseError(f"failed to set mock '{pointer}': cannot replace the whole config")
    parent = _resolve(data, segments[:-1], pointer)
    if str(segments[-1]) == "-" and isinstance(parent, list):
        parent.append(value)
        return
    key, old = _step(parent, str(segments[-1]), pointer)
    label = old.get("label") if isinstance(old, dict) else None
    if label and isinstance(value, dict) and "label" not in value:
        value = {"label": label, **value}
    parent[key] = value


def _label_paths(data: dict[str, Any]) -> dict[str, list[Any]]:
    paths: dict[str, list[Any]] = {}
    for _, conf, path in iter_components(data):
        label = conf.get("label")
        if isinstance(label, str) and label and label not in paths:
            paths[label] = list(path)
    return paths


class Target:
    """Builds the processors a case aims at, from a fresh read of the target config."""

    def __init__(self, config_path: str, resources: list[str], log_level: str) -> None:
        self.config_path = config_path
        self.dir = os.path.dirname(config_path)
        self.resources = resources
        self.log_level = log_level

    def _manager(self, data: dict[str, Any]) -> Any:
        manager = Manager(logger=Logger(LogSink(level=self.log_level, stream=sys.stdout)))
        manager.add_resources(data, self.config_path)
        return manager

    def mapping(self, path: str) -> list[ProcessorStage]:
        full = path if os.path.isabs(path) else os.path.join(self.dir, path)
        try:
            source = Path(full).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CaseError(
                f"failed to initialise Bloblang mapping '{path}': the file is not UTF-8 text"
            ) from None
        except OSError as err:
            raise CaseError(
                f"failed to initialise Bloblang mapping '{path}': {(err.strerror or str(err)).lower()}"
            ) from None
        manager = Manager(logger=Logger(LogSink(level=self.log_level, stream=sys.stdout)))
        res = manager.resources("root", "", "mapping")
        # the mapping processor as any plugin would reach it: through the registry
        registration = REGISTRY.get("processor", "mapping")
        if registration is None:
            raise CaseError(
                f"failed to initialise Bloblang mapping '{path}': no mapping processor is registered"
            )
        processor = registration.ctor("root = this", res)
        try:
            # compiled with its path, so that imports resolve beside the mapping file
            processor.mapping = mapping_lang.compile(source, path=full)
        except mapping_lang.MappingError as err:
            raise CaseError(f"failed to initialise Bloblang mapping '{path}': {err}") from None
        return [ProcessorStage(processor, res, "mapping")]

    def processors(self, case: Case) -> list[ProcessorStage]:
        target = case.target_processors
        file_part, hashmark, fragment = target.partition("#")
        if hashmark:
            config_path = os.path.join(self.dir, file_part) if file_part else self.config_path
            pointer = fragment
        else:
            config_path, pointer = self.config_path, target
        try:
            loaded = self._read(config_path)
        except ConfigReadError as err:
            raise CaseError(f"failed to initialise processors '{target}': {err}") from None
        data = loaded.data
        try:
            self._apply_mocks(data, case.mocks)
            if pointer.startswith("/"):
                segments: list[Any] = _pointer(pointer)
            else:
                found = _label_paths(data).get(pointer)
                if found is None:
                    raise CaseError(
                        f"target for label '{pointer}' failed as the label was not found in the test target "
                        "file, it is not currently possible to target resources imported separate to the test file"
                    )
                segments = found
            confs = _resolve(data, segments, pointer)
            manager = self._manager(data)
            path = ".".join(["root", *(str(s) for s in segments)])
            if isinstance(confs, list):
                return manager.build_processors(confs, path)  # type: ignore[no-any-return]
            return [manager.build_processor(confs, path)]
        except (CaseError, ConfigError) as err:
            raise CaseError(f"failed to initialise processors '{target}': {err}") from None

    def _read(self, path: str) -> LoadedConfig:
        loaded = read_config(path, skip_env_check=True, lint=False)
        merge_resource_files(loaded, self.resources, skip_env_check=True)
        return loaded

    @staticmethod
    def _apply_mocks(data: dict[str, Any], mocks: dict[str, Any]) -> None:
        # absolute paths first, then labels (as upstream)
        for key, conf in mocks.items():
            if key.startswith("/"):
                _replace(data, _pointer(key), conf, key)
        labels = None
        for key, conf in mocks.items():
            if key.startswith("/"):
                continue
            labels = labels if labels is not None else _label_paths(data)
            if key not in labels:
                raise CaseError(
                    f"mock for label '{key}' could not be applied as the label was not found in the test "
                    "target file, it is not currently possible to mock resources imported separate to the "
                    "test file"
                )
            _replace(data, labels[key], conf, key)


async def _run_case(stages: list[ProcessorStage], inputs: list[list[Message]]) -> list[list[Message]]:
    outputs: list[list[Message]] = []
    try:
        for batch in inputs:
            if batch:
                outputs.extend(await run_processors(stages, batch))
    finally:
        for stage in stages:
            await stage.close()
    return outputs


def execute_case(case: Case, target: Target) -> list[str]:
    """Run one case; the reasons it failed (empty when it passed)."""
    with environment(case.environment):
        if case.target_mapping:
            stages = target.mapping(case.target_mapping)
        else:
            stages = target.processors(case)
        inputs = [[part.message(target.dir) for part in batch] for batch in case.input_batches]
        outputs = asyncio.run(_run_case(stages, inputs))
    failures: list[str] = []
    if len(outputs) < len(case.output_batches):
        failures.append(f"wrong batch count, expected {len(case.output_batches)}, got {len(outputs)}")
    for b, batch in enumerate(outputs):
        if b >= len(case.output_batches):
            shown = " ".join(_text(m.content) for m in batch)
            failures.append(f"unexpected batch: [{shown}]")
            continue
        expected = case.output_batches[b]
        if len(expected) != len(batch):
            failures.append(
                f"mismatch of output batch {b} message counts, expected {len(expected)}, got {len(batch)}"
            )
        for i, msg in enumerate(batch):
            if i >= len(expected):
                failures.append(f"unexpected message from batch {b}: {_text(msg.content)}")
                continue
            reasons = []
            for kind, check in expected[i]:
                reason = check(msg, target.dir)
                if reason is not None:
                    reasons.append(f"batch {b} message {i}: {kind}: {reason}")
            failures.extend(reasons)
            if reasons and msg.error is not None:
                failures.append(f"batch {b} message {i}: {msg.error}")
    return failures


# -- the command ------------------------------------------------------------------------------------


def lint_target(config_path: str, cases: list[Case]) -> list[str]:
    """Lint problems of the target, once per distinct case environment (a case's variables decide
    what the config parses to). The unset-variable check is skipped, as upstream does."""
    seen: list[str] = []
    environments = {tuple(sorted(c.environment.items())) for c in cases} or {()}
    for env in sorted(environments):
        with environment(dict(env)):
            loaded = read_config(config_path, skip_env_check=True)
        for lint in loaded.errors:
            text = f"{lint.source + ' ' if lint.source else ''}({lint.line},{lint.column}) {lint.message}"
            if text not in seen:
                seen.append(text)
    return seen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benthic test",
        description="Runs the unit tests of configs; exits with status 1 when any test fails.\n\n  benthic test ./path/to/configs/...\n"
        "  benthic test ./foo_configs/*.yaml ./bar_configs/*.yaml\n  benthic test ./foo.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--log", default="", help="let components log to stdout at this level")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list each test case's name before running it"
    )
    parser.add_argument(
        "-r", "--resources", action="append", default=[], help="extra resource files (globs allowed)"
    )
    parser.add_argument("-e", "--env-file", action="append", default=[], help="dotenv files (globs allowed)")
    parser.add_argument("-s", "--set", action="append", default=[], help=argparse.SUPPRESS)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.set:
        print("cannot override fields with --set (-s) during unit tests", file=sys.stderr)
        return 1
    if args.log and args.log.lower() not in LEVELS:
        print(f"failed to init logger: invalid log level: {args.log}", file=sys.stderr)
        return 1
    try:
        load_env_files(args.env_file)
    except ConfigReadError as err:
        print(err, file=sys.stderr)
        return 1
    try:
        targets = find_targets(args.paths)
    except DefinitionError as err:
        print(f"Failed to obtain test targets: {err}", file=sys.stderr)
        return 1
    if not targets:
        print("No tests were found")
        return 1
    failed: list[tuple[str, list[str], list[tuple[Case, str]]]] = []
    for config_path in sorted(targets):
        cases = targets[config_path]
        target = Target(config_path, args.resources, args.log or "off")
        try:
            lints = lint_target(config_path, cases)
            case_failures: list[tuple[Case, str]] = []
            for index, case in enumerate(cases):
                if args.verbose:
                    print(f"Running test '{case.name}' [line {case.line}] of '{config_path}'")
                try:
                    case_failures.extend((case, reason) for reason in execute_case(case, target))
                except CaseError as err:
                    raise CaseError(f"test case {index} failed: {err}") from None
        except (CaseError, ConfigReadError) as err:
            print(f"Failed to execute test target '{config_path}': {err}", file=sys.stderr)
            return 1
        if lints or case_failures:
            failed.append((config_path, lints, case_failures))
            print(f"Test '{config_path}' failed")
        else:
            print(f"Test '{config_path}' succeeded")
    if not failed:
        return 0
    print("\nFailures:\n")
    for n, (config_path, lints, case_failures) in enumerate(failed):
        if n:
            print()
        print(f"--- {config_path} ---\n")
        for lint in lints:
            print(f"Lint: {lint}")
        if case_failures and lints:
            print()
        previous = None
        for i, (case, reason) in enumerate(case_failures):
            if case is not previous:
                if i:
                    print()
                print(f"{case.name} [line {case.line}]:")
                previous = case
            print(reason)
    return 1
