"""Errors upstream finds when the mapping is parsed, and type strictness of byte/string methods.

Upstream runs a method's or function's constructor at parse time when every argument is a
literal, so whatever the constructor checks (algorithm names, keys, bounds, zones, steps) fails
the parse at the call's position. Texts are upstream's constructor errors.
"""

from __future__ import annotations

import bz2

import pytest

import mapping_lang
from mapping_lang import MappingError


def run(mapping: str, content: bytes = b'{"a":"x"}') -> bytes | None:
    return mapping_lang.compile(mapping).apply(content).content


@pytest.mark.parametrize(
    ("mapping", "col", "want"),
    [
        ('root = this.a.hash("nope")', 15, "unrecognized hash type: nope"),
        ('root = this.a.hash("sha3_224")', 15, "unrecognized hash type: sha3_224"),  # Go has 256/512 only
        ('root = this.a.hash("hmac_md5", "k")', 15, "unrecognized hash type: hmac_md5"),
        ('root = this.a.hash("hmac_sha256")', 15, "hash algorithm hmac_sha256 requires a key argument"),
        ('root = this.a.hash("hmac_sha256", "")', 15, "hash algorithm hmac_sha256 requires a key argument"),
        ('root = this.a.compress("nope")', 15, "compression type not recognised: nope"),
        ('root = this.a.compress("bzip2")', 15, "compression type not recognised: bzip2"),  # no Go encoder
        ('root = this.a.decompress("nope")', 15, "compression type not recognised: nope"),
        ('root = this.a.encode("nope")', 15, "unrecognized encoding type: nope"),
        ('root = now().ts_tz("Nowhere/City")', 14, "unknown time zone Nowhere/City"),
        ("root = range(0, 10, 0)", 8, "step must be greater than or less than 0"),
        ("root = range(5, 1)", 8, "with positive step arg start (5) must be < stop (1)"),
        ("root = range(1, 5, -1)", 8, "with negative step arg stop (5) must be <= start (1)"),
        ("root = this.a.slice(5, 2)", 15, "lower slice bound 5 must be lower than upper (2)"),
        ("root = this.a.slice(2, 2)", 15, "lower slice bound 2 must be lower than upper (2)"),
        ("root = [1].concat(5)", 12, "expected array value, got number (5)"),
        ('root = this.a.re_match("(")', 15, "error parsing regexp: missing closing ): `(`"),
    ],
)
def test_literal_arguments_are_checked_when_parsed(mapping: str, col: int, want: str) -> None:
    with pytest.raises(MappingError) as info:
        mapping_lang.compile(mapping)
    assert want in str(info.value)
    assert (info.value.line, info.value.column) == (1, col)


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        ('root = 5.hash("sha1")', "expected string value, got number from number literal (5)"),
        ('root = 5.encode("hex")', "expected string value, got number from number literal (5)"),
        ('root = 5.decode("hex")', "expected string value, got number from number literal (5)"),
        ('root = 5.compress("gzip")', "expected bytes value, got number from number literal (5)"),
        ('root = true.decompress("gzip")', "expected bytes value, got bool from bool literal (true)"),
        ('root = this.a.hash("crc32", "", "X")', 'unsupported crc32 hash key "X"'),
        (
            'root = "abc".slice(5)',
            "lower slice bound 5 must be lower than or equal to upper bound (3) and target length (3)",
        ),
    ],
)
def test_runtime_type_and_value_errors(mapping: str, want: str) -> None:
    with pytest.raises(MappingError) as info:
        run(mapping)
    assert want in str(info.value)


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        (
            'root = this.a.hash("hmac-sha256", "k").encode("hex")',
            b"c38edc8815c8489f64738978f44008f8596345545f0baa68ef6fcf5c53e57189",
        ),
        ('root = "abc".slice(0, -10)', b""),  # a high bound before the start is clamped to 0
        ('root = "abc".slice(-10)', b"abc"),
        ('root = "abc".slice(-2)', b"bc"),
        ("root = [1].concat([2], [3])", b"[1,2,3]"),
    ],
)
def test_values(mapping: str, want: bytes) -> None:
    assert run(mapping) == want


def test_dynamic_arguments_are_checked_when_the_message_runs() -> None:
    with pytest.raises(MappingError) as info:
        run("root = this.a.hash(this.a)")
    assert "unrecognized hash type: x" in str(info.value)


def test_bzip2_decompresses_every_stream() -> None:
    data = bz2.compress(b"hello ") + bz2.compress(b"world")
    out = mapping_lang.compile('root = content().decompress("bzip2")').apply(data).content
    assert out == b"hello world"


def test_snappy_round_trips_in_the_block_format() -> None:
    pytest.importorskip("snappy")
    doc = b'{"a":"' + b"abc" * 50 + b'"}'
    assert run('root = this.a.compress("snappy").decompress("snappy").string()', doc) == b"abc" * 50


def test_snappy_decodes_a_literal_only_block() -> None:
    pytest.importorskip("snappy")
    # uvarint length 5, then a literal tag of length 5 ((5-1) << 2): the simplest valid block
    block = bytes([5, 4 << 2]) + b"hello"
    out = mapping_lang.compile('root = content().decompress("snappy")').apply(block).content
    assert out == b"hello"
