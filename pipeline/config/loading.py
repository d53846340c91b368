"""Reading a config file as Redpanda Connect does, and the ``-r`` resource files beside it.

Order (research/redpanda_runtime.md §1.3): bytes → environment interpolation on the raw text →
YAML with line marks → ``--set`` overrides → lint → defaults. ``-r`` files contribute their
``*_resources`` lists to the main config; ``lint`` expands globs and ``dir/...`` as upstream.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from pathlib import Path

from pipeline.config.document import Lint, LoadedConfig
from pipeline.config.env import EnvError, interpolate_env
from pipeline.config.lint import Linter
from pipeline.config.root import normalise_components
from pipeline.config.yaml_reader import apply_set, decode_config, parse_yaml
from pipeline.errors import ConfigReadError


def read_config(
    path: str,
    *,
    env: Mapping[str, str] | None = None,
    overrides: list[str] | None = None,
    skip_env_check: bool = False,
    lint: bool = True,
    text: str | None = None,
) -> LoadedConfig:
    """Read, interpolate, parse, override and lint one config file."""
    if text is None:
        try:
            raw = Path(path).read_bytes()
        except OSError as err:
            raise ConfigReadError(f"configuration file read error: {err.strerror}: {path}") from None
        lints: list[Lint] = []
        text, replaced = decode_config(raw)
        if replaced:
            lints.append(Lint(1, 1, "config file contains invalid UTF-8"))
    else:
        lints = []
    lint_disabled = text.startswith("# BENTHOS LINT DISABLE")
    try:
        interpolated, missing = interpolate_env(text, env)
    except EnvError as err:
        raise ConfigReadError(f"configuration file read error: {path}: {err}") from None
    if missing and not skip_env_check:
        names = " ".join(sorted(set(missing), key=missing.index))
        lints.append(Lint(1, 1, f"required environment variables were not set: [{names}]"))
    data, marks = parse_yaml(interpolated, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line, column = marks.get((), (1, 1))
        raise ConfigReadError("expected a mapping at the top level", path=path, line=line, column=column)
    lints.extend(normalise_components(data, marks))
    for assignment in overrides or []:
        data = apply_set(data, assignment)
    loaded = LoadedConfig(path, data, marks, lints, lint_disabled)
    if lint and not lint_disabled:
        loaded.lints.extend(Linter(loaded).lint_root())
    return loaded


def merge_resource_files(loaded: LoadedConfig, patterns: list[str], *, skip_env_check: bool = False) -> None:
    """``-r`` resource files: their ``*_resources`` lists join the main config's."""
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)) or [pattern]:
            extra = read_config(path, skip_env_check=skip_env_check)
            for lint in extra.lints:
                lint.source = lint.source or path
            loaded.lints.extend(extra.lints)
            for key, value in extra.data.items():
                if key.endswith("_resources") and isinstance(value, list):
                    loaded.data.setdefault(key, [])
                    loaded.data[key].extend(value)
                else:  # said, not dropped silently: an `http:` block here configures nothing
                    line, column = extra.mark((key,))
                    message = (
                        f"field {key} is ignored in a resource file: only the *_resources lists are read"
                    )
                    loaded.lints.append(Lint(line, column, message, "warning", source=path))


def expand_lint_paths(patterns: list[str]) -> list[str]:
    """Globs and ``dir/...`` (every YAML file below ``dir``), in a stable order."""
    paths: list[str] = []
    for pattern in patterns:
        if pattern.endswith("/..."):
            root = Path(pattern[:-4] or ".")
            paths.extend(str(p) for p in sorted(root.rglob("*")) if p.suffix in (".yaml", ".yml"))
        else:
            paths.extend(sorted(glob.glob(pattern)) or [pattern])
    return paths
