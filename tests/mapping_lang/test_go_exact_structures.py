"""merge/assign/squash as gabs merges, exists/get paths as gabs.DotPathToSlice, and sort as Go's
sort.Slice with upstream's comparator."""

from __future__ import annotations

import pytest

import mapping_lang
from mapping_lang import MappingError


def run(mapping: str, content: bytes = b"{}") -> bytes | None:
    return mapping_lang.compile(mapping).apply(content).content


def error_of(mapping: str, content: bytes = b"{}") -> str:
    with pytest.raises(MappingError) as info:
        run(mapping, content)
    return str(info.value)


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        ('{"a":1}.merge({"a":2})', '{"a":[1,2]}'),
        ('{"a":{"b":1}}.merge({"a":{"b":2}})', '{"a":{"b":[1,2]}}'),
        ('{"a":1}.merge(5)', '{"a":1}'),  # gabs merges objects only
        ('{"a":null}.merge({"a":1})', '{"a":[null,1]}'),
        ("[1].merge([2])", "[1,2]"),
        ("[1].merge(2)", "[1,2]"),
        ('{"a":{"b":1}}.assign({"a":{"c":2}})', '{"a":{"b":1,"c":2}}'),
        ('{"a":[1]}.assign({"a":[2]})', '{"a":[2]}'),  # a colliding array is replaced
        ('{"a":1}.assign(5)', '{"a":1}'),
        ('{"a":1}.assign({"a":{"b":2}})', '{"a":{"b":2}}'),
        ('[[1],2,{"a":1},{"a":2}].squash()', '{"a":[1,2]}'),  # non-objects are skipped
        ("[1,2].squash()", "{}"),
    ],
)
def test_merges(mapping: str, want: str) -> None:
    assert run(f"root = {mapping}") == want.encode()


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        ('5.merge({"a":1})', "expected object or array value, got number from number literal (5)"),
        ('null.assign({"a":1})', "expected object or array value, got null from null literal"),
    ],
)
def test_merge_targets_must_be_objects_or_arrays(mapping: str, want: str) -> None:
    assert want in error_of(f"root = {mapping}")


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        ('{"a":1}.exists("")', b"false"),  # an empty path is the key ""
        ('{"":1}.exists("")', b"true"),
        ('{"a":1}.get("")', b"null"),
        ('{"":1}.get("")', b"1"),
        ('{"a.b":1}.get("a~1b")', b"1"),
        ('{"a~b":1}.get("a~0b")', b"1"),
        ('{"a.b":1}.get("a.b")', b"null"),
        ('[1,2].get("+1")', b"2"),  # strconv.Atoi
        ('[1,2].get("-1")', b"null"),
        ('{"a":null}.exists("a")', b"true"),
        ('5.exists("a")', b"false"),
    ],
)
def test_paths(mapping: str, want: bytes) -> None:
    assert run(f"root = {mapping}") == want


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        ("[3, 1.5, 2].sort()", b"[1.5,2,3]"),
        ("[1.0, 1].sort()", b"[1,1]"),  # equal as float64: insertion sort keeps the order
        ("[9007199254740993, 9007199254740992].sort()", b"[9007199254740993,9007199254740992]"),
        ('["b","a","\\u00e9","z"].sort()', '["a","b","z","\u00e9"]'.encode()),
        ('[{"a":3},{"a":1.5},{"a":2}].sort_by(x -> x.a)', b'[{"a":1.5},{"a":2},{"a":3}]'),
        ("[5,4,3,2,1,0,6,7,8,9,10,11,12,13,14,15].sort()", b"[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]"),
    ],
)
def test_sort_values(mapping: str, want: bytes) -> None:
    assert run(f"root = {mapping}") == want


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        (
            '[3, "a"].sort()',
            "failed assignment (line 1): sort element 0: expected string value, got number (3)",
        ),
        (
            '["a", 3].sort()',
            'failed assignment (line 1): sort element 0: expected number value, got string ("a")',
        ),
        ("[true, 3].sort()", "sort element 0: expected number value, got bool (true)"),
    ],
)
def test_sort_errors_name_the_element_go_compares(mapping: str, want: str) -> None:
    assert want in error_of(f"root = {mapping}")
