"""parse_yaml/format_yaml as gopkg.in/yaml.v3 decodes into and encodes from interface values.

Expectations follow yaml.v3's resolve.go (YAML 1.2 null/bool spellings only; numbers through
strconv with underscores dropped, 0o/0b prefixes and legacy 0777 octal; dates kept as strings)
and encode.go's stringv (double quotes for strings that would read back as another type or as a
YAML 1.1 bool, literal blocks for multi-line strings).
"""

from __future__ import annotations

import json

import pytest

import mapping_lang


def run(mapping: str, content: bytes = b"{}") -> bytes | None:
    return mapping_lang.compile(mapping).apply(content).content


@pytest.mark.parametrize(
    ("scalar", "want"),
    [
        ("0o17", 15),
        ("017", 15),  # base-0 ParseInt: legacy octal
        ("0x1F", 31),
        ("1_000", 1000),
        ("0b101", 5),
        ("-0b11", -3),
        ("+12", 12),
        ("08", 8),  # not an octal int, but the YAML float syntax accepts it
        ("1e3", 1000),
        ("1.", 1),
        (".5", 0.5),
        ("0.1e-2", 0.001),
        ("12345678901234567890", 12345678901234567890),  # uint64
        ("yes", "yes"),  # YAML 1.1 bools are strings in v3
        ("on", "on"),
        ("TRUE", True),
        ("Null", None),
        ("~", None),
        ("2001-12-14", "2001-12-14"),  # timestamps decode to strings into an interface
        ("1.2.3", "1.2.3"),
        ("-x", "-x"),
        ("'1'", "1"),
        ("!!str 5", "5"),
    ],
)
def test_parse_yaml_scalars(scalar: str, want: object) -> None:
    out = run("root.v = this.doc.parse_yaml().v", json.dumps({"doc": f"v: {scalar}"}).encode())
    assert json.loads(out or b"")["v"] == want


def test_parse_yaml_uint64_keeps_its_digits() -> None:
    out = run("root = this.doc.parse_yaml()", json.dumps({"doc": "s: 12345678901234567890"}).encode())
    assert out == b'{"s":12345678901234567890}'


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("yes", 'v: "yes"\n'),
        ("on", 'v: "on"\n'),
        ("1.0", 'v: "1.0"\n'),
        ("017", 'v: "017"\n'),
        ("1e3", 'v: "1e3"\n'),
        ("0o17", 'v: "0o17"\n'),
        ("", 'v: ""\n'),
        ("null", 'v: "null"\n'),
        ("~", 'v: "~"\n'),
        ("2001-12-14", 'v: "2001-12-14"\n'),
        ("plain", "v: plain\n"),
        (" x", "v: ' x'\n"),  # plain is invalid with a leading space: the emitter single-quotes
        ("a: b", "v: 'a: b'\n"),
        ("multi\nline", "v: |-\n    multi\n    line\n"),
        ("end\n", "v: |\n    end\n"),
    ],
)
def test_format_yaml_string_styles(value: str, want: str) -> None:
    out = run("root = this.format_yaml().string()", json.dumps({"v": value}).encode())
    assert out == want.encode()


def test_format_yaml_quotes_keys_that_are_old_bools() -> None:
    assert run('root = {"n": 1, "y": 2, "a": 3}.format_yaml().string()') == b'a: 3\n"n": 1\n"y": 2\n'


def test_format_yaml_layout() -> None:
    out = run('root = {"a":[1,2],"b":{"c":"d"},"e":[],"o":{}}.format_yaml().string()')
    assert out == b"a:\n    - 1\n    - 2\nb:\n    c: d\ne: []\no: {}\n"
