"""Unit tests of the pure helpers behind the function/method library: Go layouts, Go fmt verbs,
strftime, RE2 translation, hashes, AES and JWT keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mapping_lang import MappingError
from mapping_lang import compile as compile_mapping
from mapping_lang.gofmt import go_quote, go_unquote, sprintf
from mapping_lang.golayout import RFC3339_NANO, LayoutError, compile_layout, format_layout, parse_layout
from mapping_lang.methods.encoding import crc32, xxh64
from mapping_lang.re2 import Re2Error, compile_re2, compile_template, find_all, replace_all
from mapping_lang.strftime import compile_strftime, compile_strptime, strftime, strptime

TS = datetime(2020, 8, 14, 11, 45, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("2006-01-02T15:04:05Z07:00", "2020-08-14T11:45:26Z"),
        ("2006-Jan-02 15:04:05", "2020-Aug-14 11:45:26"),
        ("Mon Jan _2 15:04:05 MST 2006", "Fri Aug 14 11:45:26 UTC 2020"),
        ("3:04PM .000 ,999", "11:45AM .005 ,005"),
        ("02/01/06 002 -0700", "14/08/20 227 +0000"),
    ],
)
def test_go_layout_formats_like_go(layout: str, expected: str) -> None:
    assert format_layout(compile_layout(layout), TS, 5_000_000) == expected


def test_go_layout_keeps_offsets_and_nanoseconds() -> None:
    dt, nsec = parse_layout(compile_layout(RFC3339_NANO), RFC3339_NANO, "2020-08-14T11:45:26.123456789+01:00")
    assert nsec == 123456789
    assert dt.utcoffset() == timedelta(hours=1)
    assert format_layout(compile_layout(RFC3339_NANO), dt, nsec) == "2020-08-14T11:45:26.123456789+01:00"


def test_go_layout_parse_errors_use_go_wording() -> None:
    layout = "2006-01-02"
    with pytest.raises(LayoutError, match='cannot parse "x" as "01"'):
        parse_layout(compile_layout(layout), layout, "2020-x")
    with pytest.raises(LayoutError, match="month out of range"):
        parse_layout(compile_layout(layout), layout, "2020-13-01")


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        ("%s(%v): %v", ["lance", 37, 13], "lance(37): 13"),
        ("%f", [-0.0], "-0.000000"),
        ("%05d|%-4d|%x|%q", [-4, 3, 255, "a\nb"], '-0004|3   |ff|"a\\nb"'),
        ("%v %v %v", [[1, "a"], {"b": None}, 1e6], "[1 a] map[b:<nil>] 1e+06"),
        ("%d %s", ["x"], "%!d(string=x) %!s(MISSING)"),
        ("a", [1], "a%!(EXTRA int64=1)"),
    ],
)
def test_sprintf_matches_go_fmt(fmt: str, args: list[object], expected: str) -> None:
    assert sprintf(fmt, args) == expected


def test_go_quote_round_trips() -> None:
    text = 'tab\there "quoted" é \x01'
    assert go_quote(text) == '"tab\\there \\"quoted\\" é \\x01"'
    assert go_unquote(go_quote(text)) == text


def test_strftime_and_strptime() -> None:
    ts = datetime(2020, 8, 14, 11, 50, 26, 371000, tzinfo=UTC)
    assert (
        strftime(compile_strftime("%Y-%b-%d %H:%M:%S.%f %z"), ts, 371_000_000)
        == "2020-Aug-14 11:50:26.371000 +0000"
    )
    dt, nsec = strptime(compile_strptime("%Y-%m-%dT%H:%M:%S%z"), "", "2020-08-14T11:50:26+02:00")
    assert dt == datetime(2020, 8, 14, 11, 50, 26, tzinfo=timezone(timedelta(hours=2)))
    assert nsec == 0


def test_re2_engine_matches_go_semantics() -> None:
    assert compile_re2(r"x$").search(b"x\n") is None  # Go's $ is end of text without (?m)
    assert compile_re2(r"(?m)x$").search(b"x\ny")
    assert [m.group() for m in find_all(compile_re2(r"\d+"), "١٢3".encode())] == [b"3"]  # ASCII \d
    assert [m.group() for m in find_all(compile_re2(r"[[:alpha:]]+"), b"ab1c")] == [b"ab", b"c"]
    assert compile_re2(r"(?<word>\w+)").match(b"hi").group(b"word") == b"hi"
    regex = compile_re2(r"(\w{2})\w+@")
    assert replace_all(regex, b"alice@example.com", compile_template("$1***@")) == b"al***@example.com"
    assert replace_all(compile_re2("(a)"), b"ab", compile_template("$1x")) == b"b"  # $1x is group "1x"
    assert replace_all(compile_re2("(a)"), b"ab", compile_template("${1}x$$")) == b"ax$b"


def test_re2_all_iteration_steps_over_whole_characters_and_skips_abutting_empty_matches() -> None:
    # Go: regexp.MustCompile("a*").FindAllStringIndex("baaac", -1) == [[0 0] [1 4] [5 5]]
    spans = [m.span() for m in find_all(compile_re2("a*"), b"baaac")]
    assert spans == [(0, 0), (1, 4), (5, 5)]
    # an empty match never splits a multi-byte character
    spans = [m.span() for m in find_all(compile_re2("x*"), "é".encode())]
    assert spans == [(0, 0), (2, 2)]


def test_re2_rejects_what_go_rejects_in_go_words() -> None:
    for pattern, message in [
        ("a(", "error parsing regexp: missing closing ): `a(`"),
        ("a**", "error parsing regexp: invalid nested repetition operator: `**`"),
        ("\\C", "error parsing regexp: invalid escape sequence: `\\C`"),
        ("(a", "error parsing regexp: missing closing ): `(a`"),
    ]:
        with pytest.raises(Re2Error) as err:
            compile_re2(pattern)
        assert str(err.value) == message
    assert compile_re2("\\\\C").search(b"\\C")  # an escaped backslash then C is fine


def test_hashes() -> None:
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"hello world") == 5020219685658847592
    assert xxh64(bytes(range(100))) == xxh64(bytes(range(100)))
    assert crc32(b"hello world", "Castagnoli") == 0xC99465AA
    assert crc32(b"hello world", "Koopman") == 0xDF373D3C


def _aes(expression: str) -> bytes:
    return compile_mapping(f"root = {expression}").apply(b"{}").content or b""


def test_aes_matches_fips_197_and_go_modes() -> None:
    key = '"000102030405060708090a0b0c0d0e0f".decode("hex")'
    iv = '"000102030405060708090a0b0c0d0e0f".decode("hex")'
    block = '"00112233445566778899aabbccddeeff".decode("hex")'
    # one CBC block with a zero IV is the bare cipher: FIPS-197 appendix C.1
    zero = '"00000000000000000000000000000000".decode("hex")'
    assert (
        _aes(f'{block}.encrypt_aes("cbc", {key}, {zero}).encode("hex")')
        == b"69c4e0d86a7b0430d8cdb78070b4c55a"
    )
    for scheme in ("ctr", "ofb", "cbc"):
        two = '"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff".decode("hex")'
        sealed = f'{two}.encrypt_aes("{scheme}", {key}, {iv})'
        assert (
            _aes(f'{sealed}.decrypt_aes("{scheme}", {key}, {iv}).encode("hex")')
            == b"00112233445566778899aabbccddeeff" * 2
        )
    nonce = '"0123456789ab"'
    sealed = f'"secret".encrypt_aes("gcm", {key}, {nonce})'
    assert _aes(f'{sealed}.decrypt_aes("gcm", {key}, {nonce}).string()') == b"secret"


def test_aes_errors_use_upstream_words() -> None:
    cases = {
        '"x".encrypt_aes("ctr", "short", "0123456789abcdef")': "crypto/aes: invalid key size 5",
        '"x".encrypt_aes("ofb", "0123456789abcdef", "short")': "the key must match the initialisation vector size",
        '"x".encrypt_aes("ecb", "0123456789abcdef", "0123456789abcdef")': "unrecognized encryption type: ecb",
        '"x".encrypt_aes("cbc", "0123456789abcdef", "0123456789abcdef")': "plaintext is not a multiple of the block size",
        '"x".encrypt_aes("gcm", "0123456789abcdef", "short")': "crypto/cipher: incorrect nonce length given to GCM",
        '"0123456789abcdef0".decrypt_aes("gcm", "0123456789abcdef", "0123456789ab")': (
            "gcm decrypting failed: cipher: message authentication failed"
        ),
    }
    for expression, message in cases.items():
        with pytest.raises(MappingError, match=message):
            _aes(expression)
