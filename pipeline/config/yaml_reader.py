"""YAML with positions, and ``--set`` overrides.

Upstream parses with Go's yaml.v3 and keeps each node's line for lint messages. We parse with
PyYAML's safe loader and keep a map from config path to (line, column) beside the plain values.
``--set path.to.field=value`` parses the value as YAML, as upstream does.

A config can come from anyone who can post to the streams API, so reading is bounded the way
yaml.v3 bounds it, and each refusal names its position:

- a key defined twice in one mapping is an error (``mapping key "x" already defined at line N``),
  as in yaml.v3; PyYAML would keep the last value silently;
- aliases may not expand a document without limit (billion laughs): yaml.v3's ratio of aliased to
  decoded nodes applies, and beyond it a hard cap of ``MAX_ALIASED_NODES``;
- an anchor whose value contains itself is refused;
- nesting deeper than ``MAX_DEPTH`` is refused (yaml.v3 allows 10,000; Python's recursion limit
  makes that unsafe here, and no real config comes near 100);
- UTF-16 with a byte-order mark is read, as yaml.v3 reads it; control characters are refused.
"""

from __future__ import annotations

from typing import Any

import yaml

from pipeline.errors import ConfigReadError

MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences a config may have."""

MAX_ALIASED_NODES = 100_000
"""Most nodes a document may reach through aliases, whatever its size."""

Marks = dict[tuple[Any, ...], tuple[int, int]]


class YAMLSyntaxError(ConfigReadError):
    """The text is not YAML (as opposed to YAML that breaks a bound)."""


def decode_config(raw: bytes) -> tuple[str, bool]:
    """Config bytes as text: UTF-8 (a BOM is dropped) or UTF-16 with a BOM, as yaml.v3 accepts.
    Returns the text and whether invalid UTF-8 had to be replaced."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), False
        except UnicodeDecodeError:
            return raw.decode("utf-16", "replace"), True
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), True


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting beyond ``MAX_DEPTH`` while it composes."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._path = path
        self.anchor_names: dict[int, str] = {}

    def compose_document(self) -> Any:
        # as PyYAML's, but keeping the anchors' names (for errors) before they are forgotten
        # (types-PyYAML leaves the parser's event methods untyped)
        self.get_event()  # type: ignore[no-untyped-call]
        node = self.compose_node(None, None)
        self.get_event()  # type: ignore[no-untyped-call]
        self.anchor_names = {id(n): name for name, n in self.anchors.items()}
        self.anchors = {}
        return node

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ConfigReadError(
                    f"yaml: exceeded max depth of {MAX_DEPTH}",
                    path=self._path,
                    line=mark.line + 1,
                    column=mark.column + 1,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _allowed_alias_ratio(decoded: int) -> float:
    # yaml.v3's rule: small documents may be mostly aliases, large ones much less so
    low, high = 400_000, 4_000_000
    if decoded <= low:
        return 0.99
    if decoded >= high:
        return 0.10
    return 0.99 - 0.89 * (decoded - low) / (high - low)


def _error(message: str, path: str, node: yaml.Node) -> ConfigReadError:
    return ConfigReadError(
        message, path=path, line=node.start_mark.line + 1, column=node.start_mark.column + 1
    )


def _positions(root: yaml.Node, path: str, anchors: dict[int, str]) -> Marks:
    """The (line, column) of every config path, checking keys, aliases and cycles on the way."""
    marks: Marks = {}
    seen: set[int] = set()
    open_nodes: set[int] = set()
    decoded = 0
    aliased = 0

    def walk(node: yaml.Node, at: tuple[Any, ...], mark: tuple[int, int], in_alias: bool) -> None:
        nonlocal decoded, aliased
        ident = id(node)
        if ident in open_nodes:
            anchor = anchors.get(ident, "")
            raise _error(f"anchor '{anchor}' value contains itself", path, node)
        in_alias = in_alias or ident in seen
        seen.add(ident)
        decoded += 1
        if in_alias:
            aliased += 1
            if aliased > MAX_ALIASED_NODES or (
                aliased > 100 and decoded > 1000 and aliased / decoded > _allowed_alias_ratio(decoded)
            ):
                raise _error("yaml: document contains excessive aliasing", path, node)
        marks[at] = mark
        if isinstance(node, yaml.MappingNode):
            open_nodes.add(ident)
            defined: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _error("yaml: found unhashable key", path, key_node)
                key = key_node.value
                if key != "<<":
                    line = key_node.start_mark.line + 1
                    if key in defined and not in_alias:
                        raise _error(
                            f'mapping key "{key}" already defined at line {defined[key]}', path, key_node
                        )
                    defined[key] = line
                key_mark = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                walk(value_node, (*at, key), key_mark, in_alias)
            open_nodes.discard(ident)
        elif isinstance(node, yaml.SequenceNode):
            open_nodes.add(ident)
            for index, item in enumerate(node.value):
                walk(item, (*at, index), (item.start_mark.line + 1, item.start_mark.column + 1), in_alias)
            open_nodes.discard(ident)

    walk(root, (), (root.start_mark.line + 1, root.start_mark.column + 1), False)
    return marks


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def parse_yaml(text: str, path: str = "<config>") -> tuple[Any, Marks]:
    """Parse YAML text into plain values plus a map from config path to (line, column)."""
    try:
        loader = _Loader(text, path)
    except yaml.reader.ReaderError as err:
        line, column = _line_col(text, err.position)
        raise ConfigReadError(
            "yaml: control characters are not allowed", path=path, line=line, column=column
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        marks = _positions(node, path, loader.anchor_names)
        data = loader.construct_document(node)
    except yaml.reader.ReaderError as err:
        line, column = _line_col(text, err.position)
        raise ConfigReadError(
            "yaml: control characters are not allowed", path=path, line=line, column=column
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise YAMLSyntaxError(f"yaml: {problem}", path=path, line=line, column=column) from None
    except RecursionError:
        raise ConfigReadError(
            f"yaml: exceeded max depth of {MAX_DEPTH}", path=path, line=1, column=1
        ) from None
    finally:
        loader.dispose()
    return data, marks


def parse_value(raw: str, path: str = "<value>") -> Any:
    """One YAML value (a ``--set`` right-hand side, a posted body), with the same bounds."""
    data, _ = parse_yaml(raw, path)
    return data


def apply_set(data: Any, assignment: str) -> Any:
    """Apply one ``--set path.to.field=value`` (value parsed as YAML)."""
    path, sep, raw = assignment.partition("=")
    if not sep:
        raise ConfigReadError(f"invalid set expression '{assignment}': expected path=value")
    try:
        value = parse_value(raw, f"--set {path}") if raw.strip() else ""
    except YAMLSyntaxError:
        value = raw  # not YAML on its own (e.g. "@every 1s"): the text itself
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigReadError(f"failed to set '{path}': the config is not a mapping")
    segments = path.strip().split(".")
    target: Any = data
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if isinstance(target, list):
            try:
                position = int(segment)
            except ValueError:
                raise ConfigReadError(f"failed to set '{path}': '{segment}' is not an index") from None
            if not 0 <= position <= len(target) or (position == len(target) and not last):
                raise ConfigReadError(
                    f"failed to set '{path}': index {position} is out of range (the list has {len(target)} items)"
                )
            if last:
                if position == len(target):
                    target.append(value)
                else:
                    target[position] = value
            else:
                if not isinstance(target[position], (dict, list)):
                    target[position] = {}
                target = target[position]
        else:
            if last:
                target[segment] = value
            else:
                if not isinstance(target.get(segment), (dict, list)):
                    target[segment] = {}
                target = target[segment]
    return data
