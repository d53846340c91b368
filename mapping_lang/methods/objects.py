"""Object and array manipulation methods beyond the core set: ``append``, ``concat``, ``zip``,
``enumerated``, ``key_values``, ``map_each_key``, the ``find*`` family, ``join``, ``squash``,
``json_path``, ``diff``/``patch``, plus the ``not_empty`` coercion."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.library import Param, method
from mapping_lang.libutil import as_array, as_object
from mapping_lang.re2 import Re2Error, compile_re2, encode
from mapping_lang.value import DELETED, NOTHING, compare, is_number, type_name, values_equal

CATEGORY = "Object & Array Manipulation"

Query = Callable[[Any], Any]


@method("append", category=CATEGORY, params=[Param("*values", "any")],
        description="Returns a copy of an array with the arguments added to its end.")  # fmt: skip
def append(ctx: Any, target: Any, *values: Any) -> Any:
    return [*as_array(target), *values]


def _check_concat(*arrays: Any) -> tuple[Any, ...]:
    """Upstream checks the arguments in the constructor: a literal non-array fails at parse time,
    and the message names no source."""
    for a in arrays:
        if type(a) is not list:
            raise EvalError(TypeMismatch("array", a).render(None))
    return arrays


@method("concat", category=CATEGORY, params=[Param("*values", "any")], prepare=_check_concat,
        description="Concatenates an array with one or more arrays.")  # fmt: skip
def concat(ctx: Any, target: Any, *arrays: Any) -> Any:
    _check_concat(*arrays)
    out = list(as_array(target))
    for arr in arrays:
        out.extend(arr)
    return out


@method("zip", category=CATEGORY, params=[Param("*values", "any")],
        description="Zips an array with one or more arrays of the same length into an array of tuples.")  # fmt: skip
def zip_method(ctx: Any, target: Any, *arrays: Any) -> Any:
    columns = [as_array(target), *(as_array(a) for a in arrays)]
    if not arrays:
        raise EvalError("zip requires at least one argument")
    size = len(columns[0])
    for col in columns[1:]:
        if len(col) != size:
            raise EvalError("can't zip different length array values")
    return [list(row) for row in zip(*columns, strict=True)]


@method("enumerated", category=CATEGORY,
        description="Turns each element of an array into an object holding its position (`index`) and the element (`value`).")  # fmt: skip
def enumerated(ctx: Any, target: Any) -> Any:
    return [{"index": i, "value": v} for i, v in enumerate(as_array(target))]


@method("key_values", category=CATEGORY,
        description="Lists an object's entries as `{key, value}` objects, ordered by key.")  # fmt: skip
def key_values(ctx: Any, target: Any) -> Any:
    obj = as_object(target)
    return [{"key": k, "value": obj[k]} for k in sorted(obj)]


@method("map_each_key", category=CATEGORY, params=[Param("query", "query", description="A query mapping each key.")],
        description="Renames the keys of an object with a query that receives each key.")  # fmt: skip
def map_each_key(ctx: Any, target: Any, query: Query) -> Any:
    out: dict[str, Any] = {}
    for key, value in as_object(target).items():
        new_key = query(key)
        if type(new_key) is str:
            out[new_key] = value
        elif new_key is NOTHING:
            out[key] = value
        elif new_key is DELETED:
            continue
        else:
            raise EvalError(f"unexpected result from key mapping: {TypeMismatch('string', new_key)}")
    return out


def _find_by(target: Any, query: Query) -> Iterator[int]:
    for i, v in enumerate(as_array(target)):
        result = query(v)
        if type(result) is not bool:
            raise TypeMismatch("bool", result)
        if result:
            yield i


@method("find", category=CATEGORY, params=[Param("value", "any", description="The value to find.")],
        status="beta", description="The index of the first element equal to the argument, or -1.")  # fmt: skip
def find(ctx: Any, target: Any, value: Any) -> Any:
    for i, v in enumerate(as_array(target)):
        if values_equal(v, value):
            return i
    return -1


@method("find_all", category=CATEGORY, params=[Param("value", "any", description="The value to find.")],
        status="beta", description="The indexes of all elements equal to the argument.")  # fmt: skip
def find_all(ctx: Any, target: Any, value: Any) -> Any:
    return [i for i, v in enumerate(as_array(target)) if values_equal(v, value)]


@method("find_by", category=CATEGORY, params=[Param("query", "query", description="A boolean query.")],
        status="beta", description="The index of the first element for which a query is true, or -1.")  # fmt: skip
def find_by(ctx: Any, target: Any, query: Query) -> Any:
    return next(_find_by(target, query), -1)


@method("find_all_by", category=CATEGORY, params=[Param("query", "query", description="A boolean query.")],
        status="beta", description="The indexes of all elements for which a query is true.")  # fmt: skip
def find_all_by(ctx: Any, target: Any, query: Query) -> Any:
    return list(_find_by(target, query))


@method("join", category=CATEGORY,
        params=[Param("delimiter", "string", optional=True, description="An optional delimiter.")],
        description="Concatenates an array of strings, putting the delimiter (if given) between them.")  # fmt: skip
def join(ctx: Any, target: Any, delimiter: str | None = None) -> Any:
    parts: list[str] = []
    for i, v in enumerate(as_array(target)):
        t = type(v)
        if t is str:
            parts.append(v)
        elif t is bytes:
            parts.append(v.decode("utf-8", "replace"))
        else:
            raise EvalError(f"failed to join element {i}: {TypeMismatch('string', v)}")
    return (delimiter or "").join(parts)


def merge_values(dest: Any, src: Any) -> Any:
    """Upstream's merge rules: objects merge recursively, arrays concatenate, and colliding
    non-object values become an array of both."""
    if type(dest) is dict and type(src) is dict:
        out = dict(dest)
        for k, v in src.items():
            out[k] = merge_values(out[k], v) if k in out else v
        return out
    if type(dest) is list:
        return [*dest, *src] if type(src) is list else [*dest, src]
    if type(src) is list:
        return [dest, *src]
    return [dest, src]


@method("squash", category=CATEGORY,
        description="Squashes an array of objects into one object, merging colliding keys.")  # fmt: skip
def squash(ctx: Any, target: Any) -> Any:
    out: dict[str, Any] = {}
    for v in as_array(target):
        if type(v) is dict:  # gabs merges objects only: other elements are skipped
            out = merge_values(out, v)
    return out


@method("not_empty", category="Type Coercion",
        description="Fails if a string, array or object is empty, else returns it.")  # fmt: skip
def not_empty(ctx: Any, target: Any) -> Any:
    t = type(target)
    if t is str or t is bytes or t is list or t is dict:
        if not target:
            raise EvalError(f"{type_name(target)} value is empty")
        return target
    raise TypeMismatch(["string", "array", "object"], target)


# ---------------------------------------------------------------------------------------------
# diff / patch (the change-log format of r3labs/diff)


def _diff(a: Any, b: Any, path: list[str], out: list[dict[str, Any]]) -> None:
    if type(a) is dict and type(b) is dict:
        for k in sorted(set(a) | set(b)):
            if k not in b:
                out.append({"Type": "delete", "Path": [*path, k], "From": a[k], "To": None})
            elif k not in a:
                out.append({"Type": "create", "Path": [*path, k], "From": None, "To": b[k]})
            else:
                _diff(a[k], b[k], [*path, k], out)
        return
    if type(a) is list and type(b) is list:
        for i in range(max(len(a), len(b))):
            p = [*path, str(i)]
            if i >= len(b):
                out.append({"Type": "delete", "Path": p, "From": a[i], "To": None})
            elif i >= len(a):
                out.append({"Type": "create", "Path": p, "From": None, "To": b[i]})
            else:
                _diff(a[i], b[i], p, out)
        return
    if not values_equal(a, b) or type_name(a) != type_name(b):
        out.append({"Type": "update", "Path": path, "From": a, "To": b})


@method("diff", category=CATEGORY, params=[Param("other", "any", description="The value to compare against.")],
        description="A change-log of the differences between the target and another value.")  # fmt: skip
def diff(ctx: Any, target: Any, other: Any) -> Any:
    changes: list[dict[str, Any]] = []
    _diff(target, other, [], changes)
    return changes


def _set_path(node: Any, path: list[str], value: Any, delete: bool) -> Any:
    if not path:
        return None if delete else value
    head, rest = str(path[0]), path[1:]
    if type(node) is list and head.lstrip("-").isdigit():
        idx = int(head)
        out = list(node)
        if delete and not rest:
            if 0 <= idx < len(out):
                del out[idx]
            return out
        while len(out) <= idx:
            out.append(None)
        out[idx] = _set_path(out[idx], rest, value, delete)
        return out
    out_d = dict(node) if type(node) is dict else {}
    if delete and not rest:
        out_d.pop(head, None)
        return out_d
    out_d[head] = _set_path(out_d.get(head), rest, value, delete)
    return out_d


@method("patch", category=CATEGORY, params=[Param("changelog", "any", description="A change-log from diff().")],
        description="Applies a change-log produced by diff() to a value.")  # fmt: skip
def patch(ctx: Any, target: Any, changelog: Any) -> Any:
    result = target
    for change in as_array(changelog):
        change = as_object(change)
        kind = change.get("Type")
        path = change.get("Path") or []
        if type(path) is not list:
            raise TypeMismatch("array", path)
        if kind in ("create", "update"):
            result = _set_path(result, path, change.get("To"), False)
        elif kind == "delete":
            result = _set_path(result, path, None, True)
        else:
            raise EvalError(f"unknown change type: {kind}")
    return result


# ---------------------------------------------------------------------------------------------
# JSONPath (the subset of PaesslerAG/jsonpath in common use)

_TOKEN = re.compile(
    r"\s*(?:(?P<dotdot>\.\.)|(?P<dot>\.)|(?P<lb>\[)|(?P<rb>\])|(?P<star>\*)|(?P<name>[A-Za-z_$][\w$-]*)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+)|(?P<colon>:)|(?P<comma>,)"
    r"|(?P<filter>\?\()|(?P<script>\())"
)

Step = tuple[str, Any]


class _PathParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, msg: str = "") -> EvalError:
        return EvalError(f"failed to compile JSON path expression {self.text!r}: {msg or 'unexpected input'}")

    def parse(self) -> tuple[bool, list[Step]]:
        text = self.text.strip()
        if not text.startswith("$"):
            raise self.error("expression must start with $")
        self.pos = 1
        steps: list[Step] = []
        definite = True
        while self.pos < len(text):
            if text.startswith("..", self.pos):
                self.pos += 2
                definite = False
                if text.startswith("[", self.pos):
                    steps.append(("descend", None))
                    continue
                steps.append(("descend", None))
                steps.append(self._member(text))
                continue
            c = text[self.pos]
            if c == ".":
                self.pos += 1
                step = self._member(text)
                if step[0] == "wild":
                    definite = False
                steps.append(step)
            elif c == "[":
                step = self._bracket(text)
                if step[0] not in ("key", "index"):
                    definite = False
                steps.append(step)
            elif c.isspace():
                self.pos += 1
            else:
                raise self.error()
        return definite, steps

    def _member(self, text: str) -> Step:
        if text.startswith("*", self.pos):
            self.pos += 1
            return ("wild", None)
        m = re.compile(r"[^.\[\]\s()]+").match(text, self.pos)
        if m is None:
            raise self.error()
        self.pos = m.end()
        return ("key", m.group())

    def _bracket(self, text: str) -> Step:
        end = _matching_bracket(text, self.pos)
        if end < 0:
            raise self.error("unterminated [")
        inner = text[self.pos + 1 : end].strip()
        self.pos = end + 1
        if inner == "*":
            return ("wild", None)
        if inner.startswith("?(") and inner.endswith(")"):
            return ("filter", _compile_filter(inner[2:-1].strip(), self))
        if ":" in inner and not inner.startswith(("'", '"')):
            parts = [p.strip() for p in inner.split(":")]
            nums = [int(p) if p else None for p in parts[:3]]
            while len(nums) < 3:
                nums.append(None)
            return ("slice", tuple(nums))
        items = _split_top(inner, ",")
        keys: list[Any] = []
        for item in items:
            item = item.strip()
            if item[:1] in ("'", '"'):
                keys.append(item[1:-1])
            elif re.fullmatch(r"-?\d+", item):
                keys.append(int(item))
            else:
                keys.append(item)
        if len(keys) == 1:
            return ("index", keys[0]) if isinstance(keys[0], int) else ("key", keys[0])
        return ("union", keys)


def _matching_bracket(text: str, start: int) -> int:
    depth = 0
    quote = ""
    for i in range(start, len(text)):
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
            continue
        if c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_top(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quote = ""
    cur: list[str] = []
    for c in text:
        if quote:
            cur.append(c)
            if c == quote:
                quote = ""
            continue
        if c in "'\"":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    parts.append("".join(cur))
    return parts


_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|<=|>=|=~|<|>|&&|\|\||!)|(?P<lp>\()|(?P<rp>\))"
    r"|(?P<path>[@$](?:\.\.?[A-Za-z_$*][\w$-]*|\[[^\]]*\])*)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<kw>true|false|null))"
)


def _compile_filter(expr: str, parser: _PathParser) -> Callable[[Any, Any], Any]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        m = _FILTER_TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            if expr[pos:].strip() == "":
                break
            raise parser.error("bad filter expression")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    idx = 0

    def peek() -> tuple[str, str] | None:
        return tokens[idx] if idx < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal idx
        if idx >= len(tokens):
            raise parser.error("bad filter expression")
        tok = tokens[idx]
        idx += 1
        return tok

    def primary() -> Callable[[Any, Any], Any]:
        kind, text = take()
        if kind == "lp":
            inner = disjunction()
            if take()[0] != "rp":
                raise parser.error("missing )")
            return inner
        if kind == "op" and text == "!":
            operand = primary()
            return lambda cur, root: not _truthy(operand(cur, root))
        if kind == "path":
            sub_definite, steps = _PathParser("$" + text[1:]).parse()
            use_root = text[0] == "$"

            def get(cur: Any, root: Any) -> Any:
                found = list(_walk(root if use_root else cur, steps, root))
                if sub_definite:
                    return found[0] if found else _MISSING
                return found

            return get
        if kind == "str":
            value = text[1:-1]
            return lambda cur, root: value
        if kind == "num":
            num: Any = float(text) if any(c in text for c in ".eE") else int(text)
            return lambda cur, root: num
        if kind == "kw":
            kw = {"true": True, "false": False, "null": None}[text]
            return lambda cur, root: kw
        raise parser.error("bad filter expression")

    def comparison() -> Callable[[Any, Any], Any]:
        left = primary()
        tok = peek()
        if tok and tok[0] == "op" and tok[1] in ("==", "!=", "<", ">", "<=", ">=", "=~"):
            take()
            right = primary()
            op = tok[1]
            return lambda cur, root: _compare(op, left(cur, root), right(cur, root))
        return left

    def conjunction() -> Callable[[Any, Any], Any]:
        left = comparison()
        while (tok := peek()) and tok == ("op", "&&"):
            take()
            right = comparison()
            left = (lambda lf, rf: lambda cur, root: _truthy(lf(cur, root)) and _truthy(rf(cur, root)))(
                left, right
            )
        return left

    def disjunction() -> Callable[[Any, Any], Any]:
        left = conjunction()
        while (tok := peek()) and tok == ("op", "||"):
            take()
            right = conjunction()
            left = (lambda lf, rf: lambda cur, root: _truthy(lf(cur, root)) or _truthy(rf(cur, root)))(
                left, right
            )
        return left

    result = disjunction()
    if idx != len(tokens):
        raise parser.error("bad filter expression")
    return result


_MISSING: Any = object()


def _truthy(v: Any) -> bool:
    if v is _MISSING or v is None or v is False:
        return False
    if isinstance(v, list) and not v:
        return False
    return True


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return op == "!="
    if op == "==":
        return values_equal(a, b)
    if op == "!=":
        return not values_equal(a, b)
    if op == "=~":
        if not (isinstance(a, str) and isinstance(b, str)):
            return False
        try:
            return compile_re2(b).search(encode(a)) is not None  # Go's regexp: RE2
        except Re2Error as e:
            raise EvalError(str(e)) from None
    if not ((is_number(a) and is_number(b)) or (type(a) is str and type(b) is str)):
        return False
    c = compare(a, b)
    return {"<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[op]


def _children(node: Any) -> Iterator[Any]:
    if type(node) is dict:
        for k in sorted(node):
            yield node[k]
    elif type(node) is list:
        yield from node


def _descendants(node: Any) -> Iterator[Any]:
    yield node
    for child in _children(node):
        yield from _descendants(child)


def _walk(node: Any, steps: list[Step], root: Any) -> Iterator[Any]:
    if not steps:
        yield node
        return
    (kind, arg), rest = steps[0], steps[1:]
    if kind == "key":
        if type(node) is dict and arg in node:
            yield from _walk(node[arg], rest, root)
    elif kind == "index":
        if type(node) is list and -len(node) <= arg < len(node):
            yield from _walk(node[arg], rest, root)
    elif kind == "union":
        for key in arg:
            yield from _walk(node, [("index" if isinstance(key, int) else "key", key), *rest], root)
    elif kind == "wild":
        for child in _children(node):
            yield from _walk(child, rest, root)
    elif kind == "slice":
        if type(node) is list:
            start, stop, step = arg
            for child in node[slice(start, stop, step)]:
                yield from _walk(child, rest, root)
    elif kind == "filter":
        for child in _children(node):
            if _truthy(arg(child, root)):
                yield from _walk(child, rest, root)
    elif kind == "descend":
        for sub in _descendants(node):
            yield from _walk(sub, rest, root)


@lru_cache(maxsize=256)
def compile_json_path(expression: str) -> tuple[bool, list[Step]]:
    return _PathParser(expression).parse()


@method("json_path", category=CATEGORY, params=[Param("expression", "string", description="A JSONPath expression.")],
        description="Executes a JSONPath expression against the value and returns the result.")  # fmt: skip
def json_path(ctx: Any, target: Any, expression: str) -> Any:
    definite, steps = compile_json_path(expression)
    found = list(_walk(target, steps, target))
    if definite:
        if not found:
            raise EvalError(f"unknown key {expression!r}")
        return found[0]
    return found
