"""Pieces upstream has that were missing or loose: infer_schema, replace_many as Go's
strings.NewReplacer, uuid_v5 namespaces as gofrs/uuid parses them."""

from __future__ import annotations

import json

import pytest

import mapping_lang
from mapping_lang import MappingError


def run(mapping: str, content: bytes = b"{}") -> bytes | None:
    return mapping_lang.compile(mapping).apply(content).content


def error_of(mapping: str, content: bytes = b"{}") -> str:
    with pytest.raises(MappingError) as info:
        run(mapping, content)
    return str(info.value)


def test_infer_schema_fingerprints_match_upstreams_stability_vectors() -> None:
    # public/schema/fingerprint_test.go: STRING "id" and TIMESTAMP "ts" (no logical parameters)
    out = json.loads(
        run(
            'root = {"id": "x", "ts": "2020-01-01T00:00:00Z".ts_parse("2006-01-02T15:04:05Z07:00")}.infer_schema()'
        )
        or b""
    )
    by_name = {c["name"]: c for c in out["children"]}
    assert by_name["id"] == {
        "name": "id",
        "type": "STRING",
        "fingerprint": "bba6ac8334a77739f7374a773a738639cacba208b662eaad515178bd75d290fe",
    }
    assert by_name["ts"]["fingerprint"] == "29368740c39657a4a6f7194f43d5254ec0c987a1107190c4dfb3912066540e81"
    assert out["type"] == "OBJECT" and "name" not in out


def test_infer_schema_types_of_a_document() -> None:
    out = json.loads(
        run("root = this.infer_schema()", b'{"b":[1,2],"a":"x","c":1.0,"d":null,"e":true}') or b""
    )
    assert [(c["name"], c["type"]) for c in out["children"]] == [
        ("a", "STRING"),
        ("b", "ARRAY"),
        ("c", "FLOAT64"),  # json.Number "1.0" is not an int64
        ("d", "NULL"),
        ("e", "BOOLEAN"),
    ]
    assert out["children"][1]["children"][0]["type"] == "INT64"
    assert run('root = "x".bytes().infer_schema().type') == b"BYTE_ARRAY"
    assert run("root = [].infer_schema().keys().sort()") == b'["fingerprint","type"]'


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        ('root = [1,"x"].infer_schema()', "array literal: .1 mismatched array types, found INT64 and STRING"),
        (
            'root = {"a":[{"b":[1,"x"]}]}.infer_schema()',
            ".a.0.b.1 mismatched array types, found INT64 and STRING",
        ),
    ],
)
def test_infer_schema_errors(mapping: str, want: str) -> None:
    assert want in error_of(mapping)


@pytest.mark.parametrize(
    ("args", "want"),
    [
        ('["a","1","ab","2"]', "1bc"),  # argument order wins at a position
        ('["ab","2","a","1"]', "2c"),
        ('["a","b","ab","c"]', "bbc"),  # the shorter old comes first, so it wins
        ('["","-"]', "-a-b-c-"),  # an empty old matches between characters and at both ends
        ('["b","","","-"]', "-a-c-"),
        ('["","-","b",""]', "-a--c-"),
    ],
)
def test_replace_many_is_strings_new_replacer(args: str, want: str) -> None:
    assert run(f'root = "abc".replace_many({args})') == want.encode()


NS = "05b16a01-46c6-56dd-bd6e-c6dfb4a1427a"  # uuid5(NAMESPACE_DNS, "x")


@pytest.mark.parametrize(
    "ns",
    [
        "dns",
        "DNS",
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
        "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "6BA7B8109DAD11D180B400C04FD430C8",
        "{6ba7b8109dad11d180b400c04fd430c8}",
        "urn:uuid:6ba7b8109dad11d180b400c04fd430c8",
    ],
)
def test_uuid_v5_namespace_forms(ns: str) -> None:
    assert run(f'root = "x".uuid_v5("{ns}")') == NS.encode()


@pytest.mark.parametrize(
    "ns", ["Dns", "6ba7b810-9dad11d1-80b4-00c04fd430c8", "uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8", ""]
)
def test_uuid_v5_rejects_what_gofrs_rejects(ns: str) -> None:
    assert f"invalid ns uuid: {json.dumps(ns)}" in error_of(f'root = "x".uuid_v5("{ns}")')


def test_uuid_v5_null_and_types() -> None:
    assert run('root = null.uuid_v5("dns")') == b"null"
    assert "expected string value, got number" in error_of('root = 5.uuid_v5("dns")')
    assert run("root = this.a.uuid_v5()", b'{"a":"x"}') == b"f3e951bb-a80b-5e6c-a038-a56ee0caa25d"
