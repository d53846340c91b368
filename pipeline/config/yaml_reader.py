"""YAML with positions, and ``--set`` overrides.

Upstream parses with Go's yaml.v3 and keeps each node's line for lint messages. We parse with
PyYAML's safe loader and keep a map from config path to (line, column) beside the plain values.
``--set path.to.field=value`` parses the value as YAML, as upstream does.
"""

from __future__ import annotations

from typing import Any

import yaml

from pipeline.config.document import ConfigReadError


def parse_yaml(text: str, path: str = "<config>") -> tuple[Any, dict[tuple[Any, ...], tuple[int, int]]]:
    """Parse YAML text into plain values plus a map from config path to (line, column)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        data = loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigReadError(f"configuration file read error: {path}: yaml: {where}{problem}") from None
    finally:
        loader.dispose()
    marks: dict[tuple[Any, ...], tuple[int, int]] = {}

    def walk(n: yaml.Node, at: tuple[Any, ...], mark: tuple[int, int]) -> None:
        marks[at] = mark
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                key = key_node.value
                walk(value_node, (*at, key), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
        elif isinstance(n, yaml.SequenceNode):
            for index, item in enumerate(n.value):
                walk(item, (*at, index), (item.start_mark.line + 1, item.start_mark.column + 1))

    walk(node, (), (node.start_mark.line + 1, node.start_mark.column + 1))
    return data, marks


def apply_set(data: Any, assignment: str) -> Any:
    """Apply one ``--set path.to.field=value`` (value parsed as YAML)."""
    path, sep, raw = assignment.partition("=")
    if not sep:
        raise ConfigReadError(f"invalid set expression '{assignment}': expected path=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw  # not YAML on its own (e.g. "@every 1s"): the text itself
    if data is None:
        data = {}
    segments = path.strip().split(".")
    target = data
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if isinstance(target, list):
            try:
                position = int(segment)
            except ValueError:
                raise ConfigReadError(f"failed to set '{path}': '{segment}' is not an index") from None
            if last:
                if position == len(target):
                    target.append(value)
                else:
                    target[position] = value
            else:
                target = target[position]
        else:
            if last:
                target[segment] = value
            else:
                if not isinstance(target.get(segment), (dict, list)):
                    target[segment] = {}
                target = target[segment]
    return data
