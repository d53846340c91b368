"""Config loading and lint: what ``run``, ``lint``, ``echo``, ``streams`` and ``test`` read.

The package's modules, in the order a config passes through them:

- ``env``: ``${VAR}`` interpolation on the raw text, ``-e`` dotenv files;
- ``yaml_reader``: YAML with the position of every node, ``--set`` overrides;
- ``root``: the root spec (``http``, ``logger``, ``metrics`` ...) and finding components in a tree;
- ``lint``: checking a tree against the component specs, problems as ``file(line,col) message``;
- ``loading``: ``read_config`` tying the steps together, ``-r`` resource files, lint paths;
- ``scrub``: hiding secrets in what benthic shows of a config.

Everything a caller needs is re-exported here.
"""

from pipeline.config.document import Lint, LoadedConfig
from pipeline.config.env import EnvError, interpolate_env, load_env_file, load_env_files
from pipeline.config.lint import Linter
from pipeline.config.loading import expand_lint_paths, merge_resource_files, read_config
from pipeline.config.root import (
    RESERVED,
    RESOURCE_SECTIONS,
    ROOT_SPEC,
    component_body,
    component_type,
    hoist_sibling_child,
    iter_components,
    normalise_components,
    reserved_keys,
    root_fields,
)
from pipeline.config.scrub import scrub_secrets, secret_values
from pipeline.config.yaml_reader import apply_set, decode_config, parse_value, parse_yaml
from pipeline.errors import ConfigReadError  # re-exported: its import path before errors.py held it

__all__ = [
    "RESERVED",
    "reserved_keys",
    "RESOURCE_SECTIONS",
    "ROOT_SPEC",
    "ConfigReadError",
    "EnvError",
    "Lint",
    "Linter",
    "LoadedConfig",
    "apply_set",
    "component_body",
    "component_type",
    "decode_config",
    "expand_lint_paths",
    "hoist_sibling_child",
    "interpolate_env",
    "iter_components",
    "load_env_file",
    "load_env_files",
    "merge_resource_files",
    "normalise_components",
    "parse_value",
    "parse_yaml",
    "read_config",
    "root_fields",
    "scrub_secrets",
    "secret_values",
]
