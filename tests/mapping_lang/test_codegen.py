"""The generated mapping body (``mapping_lang.codegen``) against the statement closures it replaces:
same output, same metadata, same errors with the same ``failed assignment (line N):`` prefix."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mapping_lang
from mapping_lang import MappingError
from mapping_lang.errors import EvalError

DOCS = [
    b'{"a":1,"b":2.5,"c":"x","d":{"e":[1,2,{"f":0}],"g":null},"h":true,"i":0,"j":-0,"k":1.0}',
    b'{"a":"12","b":"nope","c":"","d":[],"h":false,"i":9223372036854775807,"k":1e3}',
    b'{"a":{"b":{"c":1.5}},"d":{"e":"s"},"b":0,"c":[1.0,"y"]}',
    b'{"a":null,"c":"1e3","d":{"e":{"f":2}}}',
    b"[1,2,3]",
    b'"just a string"',
    b"12",
    b"not json",
    b"",
]
METAS = [{}, {"k": "v", "n": "3"}, {"k": "", "n": "x"}]


def _closure_mapping(source: str) -> mapping_lang.Mapping:
    """The mapping run statement by statement through the closures (the path before codegen)."""
    m = mapping_lang.compile(source)
    statements = m._statements

    def body(ctx: Any, this: Any) -> None:
        for s in statements:
            s(ctx, this)

    m._body = body  # type: ignore[method-assign]
    return m


def _outcome(m: mapping_lang.Mapping, content: bytes, meta: dict[str, Any]) -> Any:
    try:
        r = m.apply(content, dict(meta))
    except MappingError as e:
        return ("error", e.message, e.line, e.column)
    return ("ok", r.content, r.metadata, r.deleted)


def _same(source: str, docs: list[bytes] = DOCS, metas: list[dict[str, Any]] = METAS) -> None:
    fused = mapping_lang.compile(source)
    plain = _closure_mapping(source)
    for doc in docs:
        for meta in metas:
            assert _outcome(fused, doc, meta) == _outcome(plain, doc, meta), (source, doc, meta)


# --- targeted shapes ----------------------------------------------------------------------------

SHAPES = [
    "root = this.a",
    "root = this.d.e",
    "root = this.d.e.2.f",
    "root = this.a.b.c",
    "root = this",
    "let x = this.a\nroot = $x",
    "root = $nope",
    "let x = deleted()\nroot = $x",
    "let x = 1\nlet x = deleted()\nroot = $x",
    "let x = nothing()\nroot = 1",
    "root = this.a + 1",
    "root = this.a - this.b",
    "root = this.a * 2.5",
    "root = this.b * this.a",
    "root = this.a / 2",
    "root = this.a / this.i",
    "root = this.a / this.b",
    'root = this.c + "!"',
    "root = this.c + this.c",
    "root = this.a + this.c",
    "root = this.i + 9223372036854775807",
    "root = this.a == this.b",
    'root = this.c == "x"',
    'root = this.a | this.b | "dflt"',
    'root = this.c.uppercase() | "dflt"',
    'root = throw("boom") | 3',
    'root = (if this.a == 5 { 1 }) | "x"',
    'root = {"a": if this.a == 5 { 1 }}',
    "root = this.a.number()",
    "root = this.a.number(0)",
    "root = this.c.number(7)",
    "root = this.k.number()",
    "root = this.z.uppercase()",
    "root = this.c.uppercase()",
    "root = this.a.string()",
    'root = throw("boom")',
    "root = deleted()",
    "root = nothing()",
    'root = meta("k")',
    'root = meta("n").number()',
    'root = meta("missing")',
    'root = {"a": this.a, "b": this.d, "c": $nope}',
    'root = {"a": this.a, "b": {"c": this.c.uppercase(), "d": [1, 2]}, "e": deleted()}',
    'root = {"a": this.d, "b": this.d}',
    'let d = this.d\nroot = {"x": $d, "y": $d}\nroot.x.g = 5',
    'root = {"a": this.a.b.c, "b": throw("inner")}',
    'root = {"a": 1, "b": "s"}',
    'root = {"a": this.a, "b": this.c}\nroot.c = this.h\nmeta k = this.c\nmeta = {"z": 1}',
    "root.a.b = this.a\nroot.a.c = this.c",
    "root = this.c\nroot.x = 1",
    "root = this.d\nroot.e.0 = 5",
    "meta = this.d",
    'meta k = deleted()\nroot = meta("k")',
    'root = this.d.e\nroot."-" = 4',
    'let a = this.a\nif $a == 1 { root = "one" } else { root = $a }',
    'map m { root = this.a + 1 }\nroot = this.apply("m")',
    'map m { root = this.nope.uppercase() }\nroot = this.apply("m")',
    'map m { root = this.nope.uppercase() }\nroot = {"x": this.apply("m")}',
    "root = this.d.(e | g)",
    "root = [this.a, this.b, deleted()]",
    "root = if this.h { this.a } else { this.b }",
    'root = match this.a { 1 => "one", _ => "other" }',
    "root = this.a.catch(0) + 1",
    "root = -this.a",
    "root = !this.h",
    "root = this.a > 0 && this.h",
    "root = this.a % 2",
    'root = this.c.replace_all("x", "y")',
    'root = this.a.or(5).string() + "s"',
    "root = uuid_v4().length()",
]


@pytest.mark.parametrize("source", SHAPES)
def test_generated_body_matches_the_closures(source: str) -> None:
    _same(source)


def test_statement_errors_keep_their_line() -> None:
    src = 'let x = 1\n\nroot = {\n  "a": this.a,\n  "b": this.c.uppercase(),\n}\nroot.z = $x + this.c'
    m = mapping_lang.compile(src)
    with pytest.raises(MappingError) as info:
        m.apply(b'{"a":1,"c":2}')
    assert info.value.message == (
        "failed assignment (line 3): failed to resolve 'b' value: "
        "expected string value, got number from field `this.c` (2)"
    )
    assert (info.value.line, info.value.column) == (3, 1)
    with pytest.raises(MappingError) as info:
        m.apply(b'{"a":1,"c":"s"}')
    assert info.value.message == (
        "failed assignment (line 7): cannot add types number (from variable x) and string (from field `this.c`)"
    )
    assert info.value.line == 7


def test_fused_and_closure_errors_are_identical_for_division_by_zero() -> None:
    src = "let d = this.d\nroot.r = this.n / $d"
    _same(src, [b'{"n":1,"d":0}', b'{"n":1,"d":0.0}', b'{"n":"1","d":2}', b'{"n":1}'], [{}])
    with pytest.raises(MappingError) as info:
        mapping_lang.compile(src).apply(b'{"n":1,"d":0}')
    assert info.value.message == "failed assignment (line 2): variable d: attempted to divide by zero"


def test_the_generated_body_holds_user_text_only_as_constants() -> None:
    # keys, field names and variable names with quotes and newlines stay data
    src = 'root = {"k\\n\'\\"": this."q\\"\'x".a, "#": meta("a\'b\\"")}'
    m = mapping_lang.compile(src)
    out = m.apply(b'{"q\\"\'x":{"a":1}}', {"a'b\"": "m"})
    assert out.content == b'{"#":"m","k\\n\'\\"":1}'
    _same(src, [b'{"q\\"\'x":{"a":1}}', b"{}"], [{}, {"a'b\"": "m"}])


def test_a_body_with_only_root_level_ifs_runs_them() -> None:
    src = 'if this.a == 1 {\n  root.x = "one"\n} else {\n  root.x = this.nope.uppercase()\n}'
    _same(src)
    with pytest.raises(MappingError) as info:
        mapping_lang.compile(src).apply(b'{"a":2}')
    assert info.value.line == 1


def test_eval_errors_raised_by_functions_are_not_rewrapped() -> None:
    # a function's own (non type) error passes through unchanged, as in the closure
    m = mapping_lang.compile('root = {"a": throw("boom")}')
    with pytest.raises(MappingError) as info:
        m.apply(b"{}")
    assert info.value.message == "failed assignment (line 1): failed to resolve 'a' value: boom"
    assert issubclass(type(info.value), MappingError) and not isinstance(info.value, EvalError)


# --- random mappings ----------------------------------------------------------------------------

_LEAVES = [
    "this.a",
    "this.b",
    "this.c",
    "this.d.e",
    "this.d.e.2.f",
    "this.a.b.c",
    "this",
    "$x",
    "$y",
    "1",
    "2.5",
    "0",
    '"s"',
    "null",
    "true",
    'meta("k")',
    'meta("n")',
    "deleted()",
    'throw("t")',
    "(if this.h { 1 })",
]
_METHODS = [
    ".number()",
    ".number(0)",
    ".string()",
    ".uppercase()",
    ".length()",
    ".not_null()",
    ".or(1)",
    ".catch(0)",
    ".type()",
]
_OPS = ["+", "-", "*", "/", "%", "==", "!=", "|", "&&", "<"]


def _exprs() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(_LEAVES)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(_METHODS)).map(lambda t: f"{t[0]}{t[1]}"),
            st.tuples(inner, st.sampled_from(_OPS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), inner), min_size=1, max_size=3).map(
                lambda kv: "{" + ", ".join(f'"{k}": {v}' for k, v in kv) + "}"
            ),
            st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.tuples(inner, inner, inner).map(lambda t: f"if {t[0]} {{ {t[1]} }} else {{ {t[2]} }}"),
        )

    return st.recursive(leaf, extend, max_leaves=6)


_TARGETS = ["let x", "let y", "root", "root.a", "root.a.b", "root.d.e.0", "meta k", "meta"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_TARGETS), _exprs()), min_size=1, max_size=5))
def test_random_mappings_match_the_closures(statements: list[tuple[str, str]]) -> None:
    source = "\n".join(f"{t} = {e}" for t, e in statements)
    try:
        mapping_lang.compile(source)
    except MappingError:
        return  # constant folding rejected it (e.g. `1 / 0`): nothing runs
    _same(source, DOCS[:5] + DOCS[7:8], METAS[:2])


# --- uuid_v4's buffered randomness --------------------------------------------------------------


def test_uuid_v4_hands_out_each_random_block_once() -> None:
    import uuid

    from mapping_lang.functions.ids import uuid_v4

    seen = {uuid_v4(None) for _ in range(3000)}  # several refills
    assert len(seen) == 3000
    for u in list(seen)[:200]:
        parsed = uuid.UUID(u)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == u


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_uuids() -> None:
    import os

    from mapping_lang.functions.ids import uuid_v4

    uuid_v4(None)  # the buffer holds unused blocks now
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.write(w, ",".join(uuid_v4(None) for _ in range(5)).encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    child = set(os.read(r, 4096).decode().split(","))
    os.close(r)
    parent = {uuid_v4(None) for _ in range(5)}
    assert len(child) == 5 and not child & parent
