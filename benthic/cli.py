"""``benthic``: the command line users know from Redpanda Connect.

``benthic run [-c] FILE``, ``benthic -c FILE``, ``lint``, ``echo``, ``list``, ``create``,
``blobl``, ``streams``, ``simulate run_ai``, ``demo`` and ``--version``.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml

from benthic.demo import main as demo_main
from benthic.simulators.kubernetes import main as lease_api_main
from mapping_lang.blobl import main as blobl_main
from mapping_lang.library import FUNCTIONS, METHODS, REQUIRED, load_builtins
from pipeline import eventloop
from pipeline.config import (
    ROOT_SPEC,
    ConfigReadError,
    Lint,
    LoadedConfig,
    component_type,
    decode_config,
    expand_lint_paths,
    iter_components,
    load_env_files,
    merge_resource_files,
    read_config,
    scrub_secrets,
)
from pipeline.config.document import LoadedConfig as _Loaded
from pipeline.config.json_schema import config_json_schema
from pipeline.config.lint import Linter
from pipeline.config.templates import TemplateError, load_template_files, run_template_tests
from pipeline.cue_schema import cue_schema
from pipeline.leader import election_settings, kubernetes_missing
from pipeline.logs import Logger, LogSink
from pipeline.redact import redact_text
from pipeline.registry import REGISTRY
from pipeline.service import ConfigWatcher, run_config
from pipeline.spec import default_config
from pipeline.streams_mode import main as streams_main
from pipeline.version import BUILT, VERSION

DEFAULT_PATHS = ("/benthos.yaml", "/etc/benthos/config.yaml", "/etc/benthos.yaml")


def _common_flags(parser: argparse.ArgumentParser, *, with_set: bool = True) -> None:
    parser.add_argument(
        "-e",
        "--env-file",
        action="append",
        default=[],
        help="dotenv files (globs allowed) to load before the config",
    )
    parser.add_argument(
        "-r", "--resources", action="append", default=[], help="extra resource files (globs allowed)"
    )
    if with_set:
        parser.add_argument(
            "-s", "--set", action="append", default=[], metavar="PATH=VALUE", help="override a config field"
        )


def print_lints(loaded: LoadedConfig, *, stream: Any = sys.stderr) -> None:
    for lint in loaded.lints:
        prefix = "" if lint.level == "error" else "warning: "
        message = redact_text(
            f"{lint.source or loaded.path}({lint.line},{lint.column}) {prefix}{lint.message}"
        )
        print(message, file=stream)


# -- run --------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    path = args.config_path or args.config
    if path is None:
        path = next((p for p in DEFAULT_PATHS if os.path.exists(p)), None)
        if path is None:
            print("Running without a main config file is not supported: pass a config path", file=sys.stderr)
            return 1
    try:
        load_env_files(args.env_file)
        loaded = read_config(path, overrides=args.set)
        merge_resource_files(loaded, args.resources)
    except ConfigReadError as err:
        print(err, file=sys.stderr)
        return 1
    errors = loaded.errors
    if errors:
        for lint in errors:
            print(redact_text(f"Config lint error: {lint.render(loaded.path)}"), file=sys.stderr)
        if not args.chilled:
            print(
                "shutting down due to linter errors, to prevent shutdown run benthic with --chilled",
                file=sys.stderr,
            )
            return 1
    election, problems = election_settings(os.environ)
    missing = kubernetes_missing() if election is not None else None
    if problems or missing:
        for problem in problems or [missing or ""]:
            print(f"Leader election error: {problem}", file=sys.stderr)
        return 1
    watcher = None
    if getattr(args, "watcher", False):

        def reload() -> LoadedConfig:
            fresh = read_config(path, overrides=args.set)
            merge_resource_files(fresh, args.resources)
            return fresh

        resource_paths = [p for pattern in args.resources for p in sorted(glob.glob(pattern))]
        watcher = ConfigWatcher([path, *resource_paths], reload, _startup_logger(), chilled=args.chilled)
    return eventloop.run(run_config(loaded, log_level=args.log_level, watcher=watcher, election=election))


def _startup_logger() -> Any:
    return Logger(LogSink(stream=sys.stderr))


# -- lint -------------------------------------------------------------------------------------------


def cmd_lint(args: argparse.Namespace) -> int:
    try:
        load_env_files(args.env_file)
    except ConfigReadError as err:
        print(err, file=sys.stderr)
        return 1
    problems = 0
    for path in expand_lint_paths(args.paths):
        try:
            configs: Sequence[tuple[str, str | None]]
            if path.endswith(".md"):
                configs = _markdown_yaml_blocks(path)
            else:
                configs = [(path, None)]
            for name, text in configs:
                loaded = read_config(
                    name if text is None else path, skip_env_check=args.skip_env_var_check, text=text
                )
                if text is not None:
                    loaded.path = name
                merge_resource_files(loaded, args.resources, skip_env_check=args.skip_env_var_check)
                if args.labels:
                    _require_labels(loaded)
                if args.deprecated:
                    _report_deprecated(loaded)
                print_lints(loaded)
                problems += len(loaded.errors)
                if args.verbose:
                    found = len(loaded.errors)
                    print(f"{loaded.path}: {'OK' if not found else f'{found} problem(s)'}")
        except ConfigReadError as err:
            print(err, file=sys.stderr)
            problems += 1
    # the leader election settings come from the environment `benthic run` will see
    _, election_problems = election_settings(os.environ)
    for problem in election_problems:
        print(f"environment: {problem}", file=sys.stderr)
    problems += len(election_problems)
    return 1 if problems else 0


def _report_deprecated(loaded: LoadedConfig) -> None:
    """``lint --deprecated``: deprecated components and deprecated fields that are set."""

    def add(path: tuple[Any, ...], message: str) -> None:
        line, col = loaded.mark(path)
        loaded.lints.append(Lint(line, col, message))

    for kind, conf, path in iter_components(loaded.data):
        type_name, error = component_type(kind, conf)
        if error or type_name in (None, "resource"):
            continue
        registration = REGISTRY.get(kind, type_name)
        if registration is None:
            continue
        key = type_name if type_name in conf else "plugin"
        if registration.spec.status == "deprecated":
            add((*path, key), f"component {type_name} is deprecated")
        body = conf.get(key)
        if isinstance(body, dict):
            for f in registration.spec.fields:
                if f.deprecated and f.name in body:
                    add((*path, key, f.name), f"field {f.name} is deprecated")


def _markdown_yaml_blocks(path: str) -> list[tuple[str, str]]:
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise ConfigReadError(f"configuration file read error: {err.strerror}: {path}") from None
    text, replaced = decode_config(raw)
    if replaced:
        raise ConfigReadError("the file is not UTF-8 text", path=path, line=1, column=1)
    blocks: list[tuple[str, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() in ("```yaml", "```yml"):
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            # keep line numbers: pad with empty lines before the block
            blocks.append((path, "\n" * start + "\n".join(lines[start:j])))
            i = j
        i += 1
    return blocks


def _require_labels(loaded: LoadedConfig) -> None:
    for name in ("input", "output"):
        conf = loaded.data.get(name)
        if isinstance(conf, dict) and not conf.get("label"):
            line, col = loaded.mark((name,))
            loaded.lints.append(Lint(line, col, f"{name} component must have a label"))


# -- echo, list, create -----------------------------------------------------------------------------


def cmd_echo(args: argparse.Namespace) -> int:
    path = args.config_path or args.config
    if path is None:
        print("a config path is required", file=sys.stderr)
        return 1
    try:
        load_env_files(args.env_file)
        loaded = read_config(path, overrides=args.set, skip_env_check=True)
        merge_resource_files(loaded, args.resources, skip_env_check=True)
    except ConfigReadError as err:
        print(err, file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump(scrub_secrets(loaded.data), sort_keys=False, allow_unicode=True))
    return 0


# upstream's names of the kinds, in the order ``list`` prints them, with the registry's kinds
LIST_KINDS = (
    ("inputs", "input"),
    ("processors", "processor"),
    ("outputs", "output"),
    ("caches", "cache"),
    ("rate-limits", "rate_limit"),
    ("buffers", "buffer"),
    ("metrics", "metrics"),
    ("tracers", "tracer"),
    ("scanners", "scanner"),
    ("bloblang-functions", ""),
    ("bloblang-methods", ""),
)
_BLOBL_PARAM_TYPES = {"int": "integer", "query": "query expression", "any": "unknown"}


def _bloblang_table(name: str) -> dict[str, Any]:
    load_builtins()  # the Bloblang library registers on first compile; a listing asks for it
    return FUNCTIONS if name == "bloblang-functions" else METHODS


def _listed_names(list_name: str, kind: str, status: str) -> list[str]:
    """The names ``list`` shows for one kind: as upstream, ``--status`` keeps that status only
    and deprecated ones are left out (unless ``--status deprecated`` asks for them)."""
    if kind:
        entries = [(r.spec.name, r.spec.status) for r in REGISTRY.all(kind)]
    else:
        entries = [(n, spec.status) for n, spec in sorted(_bloblang_table(list_name).items())]
    return [
        name
        for name, entry_status in entries
        if entry_status != "hidden" and (entry_status == status if status else entry_status != "deprecated")
    ]


def _bloblang_spec(spec: Any) -> dict[str, Any]:
    """A function's or method's documentation in the shape of upstream's ``FunctionSpec`` and
    ``MethodSpec`` JSON."""
    named = []
    for param in spec.params:
        entry: dict[str, Any] = {
            "name": param.name,
            "type": _BLOBL_PARAM_TYPES.get(param.type, param.type),
            "no_dynamic": False,
            "scalars_to_literal": False,
        }
        if param.description:
            entry["description"] = param.description
        if param.optional or param.default is not REQUIRED:
            entry["is_optional"] = True
        if param.default is not REQUIRED:
            entry["default"] = param.default
        named.append(entry)
    out: dict[str, Any] = {"status": spec.status}
    if spec.kind == "function":
        out["category"] = spec.category
    out["name"] = spec.name
    if spec.description:
        out["description"] = spec.description
    out["params"] = {"named": named} if named else {}
    if spec.kind == "method":
        out["categories"] = [{"Category": spec.category, "Description": "", "Examples": None}]
    out["impure"] = spec.impure
    return out


def cmd_list(args: argparse.Namespace) -> int:
    """As upstream's ``list``: positional arguments keep only the kinds they name (unknown names
    select nothing); ``--format`` is ``text``, ``json``, ``jsonschema`` or ``cue``."""
    wanted = set(args.kinds)
    status = args.status
    if args.format == "text":
        sections = []
        for list_name, kind in LIST_KINDS:
            if wanted and list_name not in wanted:
                continue
            title = " ".join(word.capitalize() for word in list_name.split("-"))
            names = _listed_names(list_name, kind, status)
            sections.append("\n".join([f"{title}:", *(f"  - {n}" for n in names)]))
        if sections:
            print("\n\n".join(sections))
    elif args.format == "json":
        flat = {
            list_name: _listed_names(list_name, kind, status)
            for list_name, kind in sorted(LIST_KINDS)
            if not wanted or list_name in wanted
        }
        print(orjson.dumps(flat).decode())
    elif args.format == "jsonschema":
        for list_name in ("bloblang-functions", "bloblang-methods"):
            if list_name in wanted:
                # the other arguments, if any, name the functions (or methods) to describe
                table = _bloblang_table(list_name)
                specs = [
                    _bloblang_spec(spec)
                    for name, spec in sorted(table.items())
                    if spec.status != "hidden"
                    and (not status or spec.status == status)
                    and (len(wanted) == 1 or name in wanted)
                ]
                print(orjson.dumps({list_name: specs}, default=str).decode())
                return 0
        print(orjson.dumps(config_json_schema(), option=orjson.OPT_SORT_KEYS).decode())
    else:
        print(cue_schema(ROOT_SPEC.fields), end="")
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    expression = args.expression or "stdin/mapping/stdout"
    parts = expression.split("/")
    if len(parts) == 1:
        ins, procs, outs = parts[0], "", "stdout"
    elif len(parts) == 2:
        ins, procs, outs = parts[0], "", parts[1]
    else:
        ins, procs, outs = parts[0], parts[1], parts[2]
    config: dict[str, Any] = {}

    def component(kind: str, name: str) -> Any:
        registration = REGISTRY.get(kind, name)
        if registration is None:
            raise SystemExit(f"unrecognised {kind} type: {name}")
        return {name: default_config(registration.spec, include_advanced=not args.small)}

    input_names = [n for n in ins.split(",") if n]
    if len(input_names) == 1:
        config["input"] = component("input", input_names[0])
    else:
        config["input"] = {"broker": {"inputs": [component("input", n) for n in input_names]}}
    config["pipeline"] = {"processors": [component("processor", n) for n in procs.split(",") if n]}
    output_names = [n for n in outs.split(",") if n]
    if len(output_names) == 1:
        config["output"] = component("output", output_names[0])
    else:
        config["output"] = {"broker": {"outputs": [component("output", n) for n in output_names]}}
    sys.stdout.write(yaml.safe_dump(config, sort_keys=False))
    return 0


# -- entry point ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benthic", description="A Redpanda Connect-compatible stream processor."
    )
    parser.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    parser.add_argument("-c", "--config", help="a config file to run (with no command)")
    parser.add_argument(
        "--log.level",
        dest="log_level",
        choices=["off", "error", "warn", "info", "debug", "trace"],
        type=str.lower,
    )
    parser.add_argument("--chilled", action="store_true", help="run even when the config has lint errors")
    _common_flags(parser)
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run a config")
    run.add_argument("config_path", nargs="?")
    run.add_argument("-c", "--config", dest="config")
    run.add_argument(
        "--log.level",
        dest="log_level",
        choices=["off", "error", "warn", "info", "debug", "trace"],
        type=str.lower,
        default=argparse.SUPPRESS,
    )
    run.add_argument("--chilled", action="store_true", default=argparse.SUPPRESS)
    run.add_argument(
        "-w",
        "--watcher",
        action="store_true",
        help="EXPERIMENTAL: watch the config and resource files and restart the stream when they change",
    )
    _common_flags(run)

    lint = sub.add_parser("lint", help="lint configs (globs, ./dir/... and .md files)")
    lint.add_argument("paths", nargs="+")
    lint.add_argument("--skip-env-var-check", action="store_true")
    lint.add_argument("--labels", action="store_true")
    lint.add_argument("--deprecated", action="store_true")
    lint.add_argument("--verbose", action="store_true")
    _common_flags(lint, with_set=False)

    echo = sub.add_parser("echo", help="print the resolved config (secrets scrubbed)")
    echo.add_argument("config_path", nargs="?")
    echo.add_argument("-c", "--config", dest="config")
    _common_flags(echo)

    lst = sub.add_parser("list", help="list components")
    lst.add_argument("kinds", nargs="*")
    lst.add_argument(
        "--format",
        choices=["text", "json", "jsonschema", "cue"],
        default="text",
        help="text (the default), json, jsonschema or cue",
    )
    lst.add_argument(
        "--status",
        default="",
        choices=["", "stable", "beta", "experimental", "deprecated"],
        help="only components of this status",
    )

    create = sub.add_parser("create", help="print a new config: in/proc/out")
    create.add_argument("expression", nargs="?")
    create.add_argument("-s", "--small", action="store_true")

    sub.add_parser("blobl", help="run a Bloblang mapping over stdin lines", add_help=False)
    sub.add_parser("template", help="template lint: check template files and run their tests", add_help=False)
    sub.add_parser(
        "test", help="run the unit tests of configs (tests: sections, *_benthos_test.yaml)", add_help=False
    )
    sub.add_parser("streams", help="run several configs in one process", add_help=False)
    sub.add_parser("simulate", help="run a simulator (run_ai, kubernetes)", add_help=False)
    sub.add_parser(
        "demo", help="run the documented Run:ai config against the simulator and sink", add_help=False
    )
    return parser


def take_template_flags(argv: list[str]) -> tuple[list[str], list[str]]:
    """``-t``/``--templates`` (repeatable, globs) from anywhere in the arguments, as every
    command that reads configs accepts them; returns (the other arguments, the patterns)."""
    rest: list[str] = []
    patterns: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-t", "--templates") and i + 1 < len(argv):
            patterns.extend(p for p in argv[i + 1].split(",") if p)
            i += 2
            continue
        if arg.startswith("--templates="):
            patterns.extend(p for p in arg.split("=", 1)[1].split(",") if p)
        else:
            rest.append(arg)
        i += 1
    return rest, patterns


def _lint_generated(kind: str, conf: Any) -> list[str]:
    linter = Linter(_Loaded("template", {}))
    linter.lint_component(kind, conf, ())
    return [lint.message for lint in linter.lints if lint.level == "error"]


def cmd_template_lint(patterns: list[str]) -> int:
    """``template lint``: every template file read, its tests run (the generated config lints
    clean and equals ``expected``)."""
    if not patterns:
        print("usage: benthic template lint <template files or globs>", file=sys.stderr)
        return 1
    try:
        templates = load_template_files(patterns)
    except TemplateError as err:
        print(err, file=sys.stderr)
        return 1
    failures = [f for template in templates for f in run_template_tests(template, _lint_generated)]
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["template", "lint"]:
        return cmd_template_lint(take_template_flags(argv[2:])[0] + take_template_flags(argv[2:])[1])
    if argv and argv[0] != "blobl":
        argv, template_patterns = take_template_flags(argv)
        if template_patterns:
            try:
                load_template_files(template_patterns)
            except TemplateError as err:
                print(err, file=sys.stderr)
                return 1
    # commands that own their flags
    if argv[:2] == ["blobl", "server"]:
        # start-up cost: the playground's modules load only for this command
        from benthic.playground.server import main as playground_main

        return playground_main(argv[2:])
    if argv and argv[0] == "blobl":
        return blobl_main(argv[1:])
    if argv and argv[0] == "test":
        # start-up cost: importing the unit-test runner adds ~30 ms (measured) to every command
        from benthic.unit_tests import main as test_main

        return test_main(argv[1:])
    # root flags may precede the word (OpenMeter's compose: --config X --resources Y streams ...)
    if argv and (argv[0] == "streams" or (argv[0].startswith("-") and "streams" in argv)):
        return streams_main(argv)  # it drops the word "streams" itself
    if argv and argv[0] == "simulate":
        if len(argv) >= 2 and argv[1] == "kubernetes":
            return lease_api_main(argv[2:])
        if len(argv) < 2 or argv[1] != "run_ai":
            print("usage: benthic simulate run_ai|kubernetes [flags]", file=sys.stderr)
            return 1
        # start-up cost: the Run:ai simulator's modules add 140-190 ms (measured) to every command
        from benthic.simulators.run_ai import main as simulator_main

        return simulator_main(argv[2:])
    if argv and argv[0] == "demo":
        return demo_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"Version: {VERSION}\nDate: {BUILT}")
        return 0
    if args.command is None:
        if args.config is None:
            parser.print_help()
            return 0
        args.config_path = None
        return cmd_run(args)
    handler = {"run": cmd_run, "lint": cmd_lint, "echo": cmd_echo, "list": cmd_list, "create": cmd_create}[
        args.command
    ]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
