"""The ``json_schema`` method reports violations in gojsonschema's words, as the processor does."""

from __future__ import annotations

import pytest

from mapping_lang import MappingError
from mapping_lang import compile as compile_mapping


def _check(schema: str, document: bytes) -> str:
    mapping = compile_mapping(f'root = this.json_schema("""{schema}""")')
    with pytest.raises(MappingError) as err:
        mapping.apply(document)
    return str(err.value)


def test_a_value_of_none_of_several_types_lists_them_as_gojsonschema_does() -> None:
    message = _check('{"type":["string","null"]}', b"5")
    assert message.endswith("(root) invalid type. expected: [string,null], given: integer")


def test_formats_are_asserted_as_gojsonschema_asserts_them() -> None:
    schema = '{"properties":{"at":{"type":"string","format":"date-time"}}}'
    assert _check(schema, b'{"at":"yesterday"}').endswith("at does not match format 'date-time'")
    assert compile_mapping(f'root = this.json_schema("""{schema}""")').apply(b'{"at":"2024-01-02"}').content


def test_violations_come_one_per_line_shallowest_first() -> None:
    schema = '{"required":["id"],"properties":{"n":{"type":"object","properties":{"x":{"type":"string"}}}}}'
    lines = _check(schema, b'{"n":{"x":1}}').split("\n")
    assert lines[0].endswith("(root) id is required")
    assert lines[1] == "n.x invalid type. expected: string, given: integer"
