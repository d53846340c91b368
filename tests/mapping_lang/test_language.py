"""Bloblang language semantics: operators, markers, control flow, errors and metadata."""

from __future__ import annotations

import pytest

import mapping_lang
from mapping_lang import MappingError
from pipeline.message import Message


def run(mapping: str, content: bytes | str = b"{}", metadata: dict | None = None) -> bytes | None:
    if isinstance(content, str):
        content = content.encode()
    return mapping_lang.compile(mapping).apply(content, metadata).content


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("9223372036854775807 + 1", b"-9223372036854775808"),
        ("1 / 2", b"0.5"),
        ("4 / 2", b"2"),
        ("6 - 6 / 2 + 1", b"4"),
        ("2 * 3 + 4", b"10"),
        ("-7 % 3", b"-1"),
        ("7.9 % 2", b"1"),
        ("true || false && false", b"false"),
        ("!true || false", b"false"),
        ('"foo" != 5', b"true"),
        ("2.0 == 2", b"true"),
        ("null == null", b"true"),
        ("-(2) < 2", b"true"),
        ('"a" < "b"', b"true"),
        ("[1, deleted(), 2]", b"[1,2]"),
        ('{"a": if false { 1 }, "b": 2}', b'{"b":2}'),
        ("0.1 + 0.2", b"0.30000000000000004"),
        ("1000000.0.string()", b"1e+06"),
        ('"é".length()', b"2"),
        ('deleted() | "x"', b"x"),
        ('null | "x"', b"x"),
        ('this.missing.uppercase().catch("fallback")', b"fallback"),
        ("range(0, 10, 3)", b"[0,3,6]"),  # upstream sizes the result (stop-start)/step
    ],
)
def test_expression_values(expr: str, want: bytes) -> None:
    assert run(f"root = {expr}") == want


def test_integer_literal_arithmetic_stays_int_and_float_spreads() -> None:
    assert run("root = [2 * 3, 2 * 3.0, 1.5 + 1.5]") == b"[6,6,3]"


def test_constant_division_by_zero_is_a_compile_error() -> None:
    with pytest.raises(MappingError) as info:
        mapping_lang.compile("root = 1 / 0")
    assert "attempted to divide by zero" in str(info.value)
    assert info.value.line == 1


def test_dynamic_division_by_zero_fails_with_the_statement_line() -> None:
    with pytest.raises(MappingError) as info:
        run("root.a = 1\nroot.b = this.x / this.y", '{"x":1,"y":0}')
    assert str(info.value).startswith("failed assignment (line 2):")
    assert "attempted to divide by zero" in str(info.value)
    assert info.value.line == 2


def test_adding_string_and_number_names_both_sources() -> None:
    with pytest.raises(MappingError) as info:
        run("root = this.a + 1", '{"a":"x"}')
    assert "cannot add types string (from field `this.a`) and number (from number literal)" in str(info.value)


def test_deleted_root_drops_the_message() -> None:
    assert mapping_lang.compile("root = deleted()").apply(b"{}").deleted


def test_nothing_leaves_payload_unchanged_but_metadata_applies() -> None:
    res = mapping_lang.compile('meta foo = "bar"\nroot = nothing()').apply(b"not json")
    assert res.content == b"not json"
    assert res.metadata == {"foo": "bar"}


def test_string_root_is_written_raw() -> None:
    assert run('root = "hi"') == b"hi"


def test_json_numbers_keep_their_lexeme() -> None:
    assert run("root = this", '{"a":1.0,"b":1e3,"c":12345678901234567890,"d":2.5}') == (
        b'{"a":1.0,"b":1e3,"c":12345678901234567890,"d":2.5}'
    )
    assert run("root.a = this.a + 0", '{"a":1.0}') == b'{"a":1}'


def test_match_with_subject_literal_and_wildcard() -> None:
    m = 'root = match this.type { "doc" => "document", "art" => "article", _ => this }'
    assert run(m, '{"type":"doc"}') == b"document"
    assert run(m, '{"type":"other"}') == b"other"


def test_match_without_subject_and_no_match_is_nothing() -> None:
    m = 'root.x = match {\n  this.a == 1 => "one"\n  this.a == 2 => "two"\n}'
    assert run(m, '{"a":2}') == b'{"x":"two"}'
    assert run(m, '{"a":3}') == b'{"a":3}'  # nothing skips the assignment: payload unchanged


def test_if_expression_and_root_level_if_statement() -> None:
    m = 'root.a = if this.n > 1 { "big" } else { "small" }\nif this.n > 1 {\n  root.b = 1\n} else {\n  root.b = 2\n}'
    assert run(m, '{"n":5}') == b'{"a":"big","b":1}'
    assert run(m, '{"n":0}') == b'{"a":"small","b":2}'


def test_if_condition_must_be_bool() -> None:
    with pytest.raises(MappingError) as info:
        run('root = if "x" { 1 }')
    assert "non-boolean" in str(info.value)


def test_catch_or_and_coalesce() -> None:
    assert run("root = this.a.number().catch(0)", '{"a":"nope"}') == b"0"
    assert run('root = this.a.or("dflt")', "{}") == b"dflt"
    assert run("root = this.a | this.b | 3", '{"b":2}') == b"2"
    assert run("root = this.a.catch(e -> e)", "{}") == b"null"


def test_not_null_error_names_the_field() -> None:
    with pytest.raises(MappingError) as info:
        run("root.a = this.a.not_null()", "{}")
    assert str(info.value) == "failed assignment (line 1): field `this.a`: value is null"


def test_metadata_reads_and_writes() -> None:
    res = mapping_lang.compile(
        'meta out = @in + "!"\nroot.a = meta("in")\nroot.b = metadata("in")\nroot.c = @out\nmeta in = deleted()'
    ).apply(b"{}", {"in": "v"})
    assert res.content == b'{"a":"v","b":"v","c":"v!"}'
    assert res.metadata == {"out": "v!"}


def test_lambda_restores_this_and_plain_query_rebinds_it() -> None:
    doc = '{"id":"x","items":[{"v":1},{"v":2}]}'
    assert run("root = this.items.map_each(it -> this.id + it.v.string())", doc) == b'["x1","x2"]'
    assert run("root = this.items.map_each(this.v * 10)", doc) == b"[10,20]"


def test_variables_and_maps() -> None:
    m = 'map inc {\n  root = this + 1\n}\nlet x = 1\nroot.a = $x.apply("inc")\nroot.b = $x'
    assert run(m) == b'{"a":2,"b":1}'


def test_undefined_variable_fails() -> None:
    with pytest.raises(MappingError) as info:
        run("root = $nope")
    assert "variable 'nope' undefined" in str(info.value)


def test_recursive_apply_ends_in_a_clean_error() -> None:
    with pytest.raises(MappingError) as info:
        run('map loop {\n  root = this.apply("loop")\n}\nroot = this.apply("loop")')
    assert "maximum allowed stacks" in str(info.value) or "recursion" in str(info.value)


def test_deep_nesting_is_a_clean_compile_error() -> None:
    with pytest.raises(MappingError):
        mapping_lang.compile("root = " + "(" * 5000 + "1" + ")" * 5000)
    with pytest.raises(MappingError):
        mapping_lang.compile("root = " + "!" * 20000 + "true")


def test_parse_errors_carry_line_and_column() -> None:
    with pytest.raises(MappingError) as info:
        mapping_lang.compile("root = this.a\nroot.b = this.b bar = baz")
    assert info.value.line == 2
    assert str(info.value).startswith("line 2 char ")
    with pytest.raises(MappingError) as info:
        mapping_lang.compile("root = not_a_function()")
    assert "unrecognised function 'not_a_function'" in str(info.value)
    assert (info.value.line, info.value.column) == (1, 8)


def test_empty_mapping_is_an_error() -> None:
    with pytest.raises(MappingError) as info:
        mapping_lang.compile("  # only a comment\n")
    assert "expected import, map, or assignment" in str(info.value)


def test_non_json_payload_error() -> None:
    with pytest.raises(MappingError) as info:
        run("root.a = this.bar", "not json")
    assert "unable to reference message as structured (with 'this.bar')" in str(info.value)


def test_setting_a_path_through_a_string_fails() -> None:
    with pytest.raises(MappingError) as info:
        run('root = "x"\nroot.foo = 1')
    assert "unable to set target path foo as the value of the root was a non-object type (string)" in str(
        info.value
    )


def test_input_document_is_not_mutated() -> None:
    msg = Message(b'{"a":{"b":1}}')
    out = mapping_lang.compile("root = this\nroot.a.b = 2").map_message(msg)
    assert out is not None and out.content == b'{"a":{"b":2}}'
    assert msg.structured() == {"a": {"b": 1}}


def test_mutation_keeps_unassigned_fields() -> None:
    out = mapping_lang.compile("root.b = this.a + 1").mutate_message(Message(b'{"a":1}'))
    assert out is not None and out.content == b'{"a":1,"b":2}'


def test_check_requires_a_bool() -> None:
    m = mapping_lang.compile("this.a > 1")
    assert m.check(Message(b'{"a":2}'), None, 0) is True
    with pytest.raises(MappingError):
        mapping_lang.compile('"x"').check(Message(b"{}"), None, 0)


def test_interpolation() -> None:
    from mapping_lang.interpolation import compile_interpolation

    itp = compile_interpolation("id-${! this.id }-${! @k }-${{! kept }}")
    assert not itp.is_static
    assert itp.render(Message(b'{"id":5}', {"k": "v"})) == "id-5-v-${! kept }"
    assert compile_interpolation("plain").is_static


def test_multiline_chains_and_comments() -> None:
    m = "# header\nroot = this.items.\n  filter(x -> x > 1). # keep big\n  sort()\n"
    assert run(m, '{"items":[3,1,2]}') == b"[2,3]"


def test_quoted_path_segments() -> None:
    assert (
        run('root."foo.bar".baz = this."buz bev".fub', '{"buz bev":{"fub":"hi"}}')
        == b'{"foo.bar":{"baz":"hi"}}'
    )


def test_counter_state_is_per_mapping() -> None:
    m = mapping_lang.compile("root = counter()")
    assert [m.apply(b"{}").content for _ in range(3)] == [b"1", b"2", b"3"]


@pytest.mark.parametrize(
    "source", ["root.a=1", "let x=1\nroot = $x", 'meta x="a"', "root = [1].map_each(x->x)"]
)
def test_statement_equals_and_lambda_arrow_need_whitespace(source: str) -> None:
    with pytest.raises(MappingError) as info:
        mapping_lang.compile(source)
    assert "expected whitespace" in str(info.value)


def test_binary_operators_need_no_whitespace() -> None:
    assert run("root = 1+2*3") == b"7"


def test_match_with_a_subject_and_no_cases_yields_nothing() -> None:
    assert run("root = match this {\n}\nroot.b = 2", '{"a":1}') == b'{"b":2}'


@pytest.mark.parametrize(
    ("doc", "mapping", "want"),
    [
        (b'{"a":-0}', "root = this", b'{"a":-0}'),
        (b'{"a":[1,-0]}', "root = this.a.index(1).string()", b"-0"),
        (b'{"a":1.50,"s":"x:1.5,"}', "root = this.a", b"1.50"),
        (b'{"a":1234567.5}', "root = this.a.string()", b"1234567.5"),
        (b'{"a":3.75,"b":2.0}', "root = this", b'{"a":3.75,"b":2.0}'),
    ],
)
def test_input_number_lexemes_are_kept_like_go(doc: bytes, mapping: str, want: bytes) -> None:
    assert run(mapping, doc) == want


def test_mutation_this_follows_root_replaced_as_a_whole() -> None:
    m = mapping_lang.compile('root = {"x": 5}\nroot.y = this.x')
    out = m.mutate_message(Message(b'{"a":1}', {}))
    assert out.content == b'{"x":5,"y":5}'


def test_memoised_metadata_chain_still_fails_per_message() -> None:
    m = mapping_lang.compile('root = meta("interval").parse_duration() / 1000000000')
    assert m.apply(b"{}", {"interval": "30s"}).content == b"30"
    assert m.apply(b"{}", {"interval": "30s"}).content == b"30"
    with pytest.raises(MappingError):
        m.apply(b"{}", {"interval": "soon"})
    assert m.apply(b"{}", {"interval": "1m"}).content == b"60"


@pytest.mark.parametrize("method", ["number()", "int64()", "uint8()", "float64()", "float32()", "bool()"])
def test_coercing_invalid_utf8_bytes_is_a_mapping_error(method: str) -> None:
    with pytest.raises(MappingError, match="invalid syntax"):
        run(f"root = content().{method}", b"\xff12")


def test_coercing_invalid_utf8_bytes_falls_back_to_the_default() -> None:
    assert run("root = content().number(5)", b"\xff12") == b"5"
    assert run("root = content().bool(true)", b"\xff") == b"true"


def test_fast_json_decoding_agrees_with_the_exact_decoder() -> None:
    import random

    from mapping_lang import value

    rng = random.Random(5)
    numbers = ["0", "-0", "2.5", "2.50", "1.0", "1e3", "0.1", "1234567.5", "12345678901234567890", "-0.5"]
    strings = ['"x:2.5,"', '"[1.0,"', '"-0,"', '"2025-04-14T10:00:00.123456Z"', '"q\\"x,2.5,"']

    def gen(depth: int = 0) -> str:
        r = rng.random()
        if depth > 3 or r < 0.5:
            return rng.choice([*numbers, *strings, "true", "null"])
        if r < 0.75:
            return "[" + ", ".join(gen(depth + 1) for _ in range(rng.randint(0, 4))) + "]"
        return "{" + ",".join(f'"k{i}":{gen(depth + 1)}' for i in range(rng.randint(0, 4))) + "}"

    for _ in range(2000):
        doc = gen().encode()
        exact = value._slow_parse(doc)
        assert value.format_json(value.parse_json(doc)) == value.format_json(exact), doc
        assert value.to_text(value.parse_json(doc)) == value.to_text(exact), doc


@pytest.mark.parametrize("expression", ["(0).log()", '"NaN".number()'])
def test_apply_reports_a_non_finite_result_as_a_mapping_error(expression: str) -> None:
    # Go's encoder cannot write NaN or an infinity; the Python API says so with its one error type
    with pytest.raises(MappingError, match="json: unsupported value"):
        mapping_lang.compile(f"root = {expression}").apply(b"{}")
