"""Assignments through arrays: the ``-`` segment appends and an index writes in place, as
upstream's gabs-backed ``JSONAssignment`` does (upstream's own template examples build lists of
processors and outputs this way)."""

from __future__ import annotations

import json

import pytest

import mapping_lang


def run(source: str, doc: str = "{}") -> object:
    return json.loads(mapping_lang.compile(source).apply(doc.encode()).content)


def failure(source: str, doc: str = "{}") -> str:
    with pytest.raises(mapping_lang.MappingError) as err:
        mapping_lang.compile(source).apply(doc.encode())
    return str(err.value)


def test_dash_appends_a_new_object_and_later_indexes_fill_it() -> None:
    mapping = """
root.fallback = []
root.fallback."-".retry.max_retries = this.max_retries
root.fallback."0".retry.output = this.output
root.fallback."-".file.path = this.path
root.fallback."1".file.codec = "lines"
"""
    out = run(mapping, '{"max_retries":5,"output":{"drop":{}},"path":"dead.log"}')
    assert out == {
        "fallback": [
            {"retry": {"max_retries": 5, "output": {"drop": {}}}},
            {"file": {"path": "dead.log", "codec": "lines"}},
        ]
    }


def test_dash_as_the_last_segment_appends_the_value_itself() -> None:
    assert run('root.items = [1]\nroot.items."-" = 2\nroot.items."-" = [3]') == {"items": [1, 2, [3]]}


def test_dash_on_an_array_root_appends_to_the_root() -> None:
    assert run('root = []\nroot."-" = "a"\nroot."-".b = 1') == ["a", {"b": 1}]


def test_dash_on_an_object_or_a_missing_field_is_an_ordinary_key() -> None:
    assert run('root."-" = 1\nroot.x."-".y = 2') == {"-": 1, "x": {"-": {"y": 2}}}


def test_meta_dash_is_a_metadata_key_named_dash() -> None:
    assert run('meta "-" = "v"\nroot = @') == {"-": "v"}


def test_a_non_index_segment_on_an_array_reports_go_atoi() -> None:
    assert failure("root.a = [1]\nroot.a.b = 1").endswith(
        "unable to set target path a.b: failed to resolve path segment '1': found array but segment "
        "value 'b' could not be parsed into array index: strconv.Atoi: parsing \"b\": invalid syntax"
    )


def test_an_index_past_the_end_and_a_negative_index_are_errors() -> None:
    assert failure("root.a = [1]\nroot.a.5 = 1").endswith(
        "failed to resolve path segment '1': found array but index '5' exceeded target array size of '1'"
    )
    assert failure("root.a = [1]\nroot.a.-1 = 1".replace("-1", '"-1"')).endswith(
        "found array but index '-1' is invalid"
    )


def test_appending_through_a_scalar_names_the_scalar() -> None:
    assert failure('root.a = 5\nroot.a."-" = 1').endswith(
        "unable to set target path a.- as the value of a was a non-object type (number)"
    )
    assert failure('root = "s"\nroot."-" = 1').endswith(
        "unable to set target path - as the value of the root was a non-object type (string)"
    )


def test_deleting_an_index_removes_the_element_and_a_bad_path_deletes_nothing() -> None:
    assert run("root.a = [1,2,3]\nroot.a.1 = deleted()\nroot.a.x = deleted()\nroot.b.c = deleted()") == {
        "a": [1, 3]
    }
    assert run('root = "s"\nroot.x = deleted()\nroot = root.string().quote()') == "s"
