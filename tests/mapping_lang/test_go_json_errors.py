"""Go ``encoding/json``'s syntax errors, word for word, for a payload or string that is not JSON.

Each expected text is what Go's scanner (``encoding/json/scanner.go``) says in the state the bad
byte met, worked out from its source: ``json.Unmarshal`` checks the whole input first (trailing
bytes are ``after top-level value``, a cut-off input ``unexpected end of JSON input`` or the
scanner's complaint about an imagined space); a ``json.Decoder`` (Bloblang's ``parse_json()``)
reads one value and stops (``EOF``, ``unexpected EOF``); upstream's message parse (``this``)
decodes until it has proved nothing follows. A byte is shown as Go's ``quoteChar`` shows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys

import pytest

import mapping_lang
from mapping_lang.gojson import (
    STEP_BUDGET,
    JsonSyntaxError,
    decode_first,
    message_error,
    quote_char,
    unmarshal_error,
)
from mapping_lang.value import parse_json
from pipeline.message import Message
from processors.unarchive import json_documents

# (input, what json.Unmarshal says; None when it is valid)
UNMARSHAL = [
    # literals
    (b"not json", "invalid character 'o' in literal null (expecting 'u')"),
    (b"nil", "invalid character 'i' in literal null (expecting 'u')"),
    (b'{"a": nul}', "invalid character '}' in literal null (expecting 'l')"),
    (b"tx", "invalid character 'x' in literal true (expecting 'r')"),
    (b"trux", "invalid character 'x' in literal true (expecting 'e')"),
    (b"fa1se", "invalid character '1' in literal false (expecting 'l')"),
    (b"True", "invalid character 'T' looking for beginning of value"),
    # objects and arrays
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b'{"a"}', "invalid character '}' after object key"),
    (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
    (b'{"a":1]', "invalid character ']' after object key:value pair"),
    (b"[1 2]", "invalid character '2' after array element"),
    (b"[1}", "invalid character '}' after array element"),
    (b"{1:2}", "invalid character '1' looking for beginning of object key string"),
    (b"{'a':1}", "invalid character '\\'' looking for beginning of object key string"),
    (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
    (b"{,}", "invalid character ',' looking for beginning of object key string"),
    (b"[1,]", "invalid character ']' looking for beginning of value"),
    (b"[,1]", "invalid character ',' looking for beginning of value"),
    (b'{"a":[1,{"b":nul}]}', "invalid character '}' in literal null (expecting 'l')"),
    # numbers
    (b"1.x", "invalid character 'x' after decimal point in numeric literal"),
    (b"1.e5", "invalid character 'e' after decimal point in numeric literal"),
    (b"1ex", "invalid character 'x' in exponent of numeric literal"),
    (b"1E+x", "invalid character 'x' in exponent of numeric literal"),
    (b"-x", "invalid character 'x' in numeric literal"),
    (b"--1", "invalid character '-' in numeric literal"),
    (b"-Infinity", "invalid character 'I' in numeric literal"),
    (b"NaN", "invalid character 'N' looking for beginning of value"),
    (b"+1", "invalid character '+' looking for beginning of value"),
    (b".5", "invalid character '.' looking for beginning of value"),
    # strings
    (b'"a\tb"', "invalid character '\\t' in string literal"),
    (b'"a\nb"', "invalid character '\\n' in string literal"),
    (b'"\r"', "invalid character '\\r' in string literal"),
    (b'"\x00"', "invalid character '\\x00' in string literal"),
    (b'"\x1f"', "invalid character '\\x1f' in string literal"),
    (b'"\\x"', "invalid character 'x' in string escape code"),
    (b'"\\U0041"', "invalid character 'U' in string escape code"),
    (b'"\\u12G4"', "invalid character 'G' in \\u hexadecimal character escape"),
    (b'"\\u"', "invalid character '\"' in \\u hexadecimal character escape"),
    # the input ends too soon: Go feeds an imagined space, which some states reject
    (b"", "unexpected end of JSON input"),
    (b" \t\r\n", "unexpected end of JSON input"),
    (b'{"a":', "unexpected end of JSON input"),
    (b'"abc', "unexpected end of JSON input"),
    (b"[1,", "unexpected end of JSON input"),
    (b"fals", "invalid character ' ' in literal false (expecting 'e')"),
    (b"1.", "invalid character ' ' after decimal point in numeric literal"),
    (b"1.5e", "invalid character ' ' in exponent of numeric literal"),
    (b"-", "invalid character ' ' in numeric literal"),
    (b'"\\', "invalid character ' ' in string escape code"),
    (b'"\\u12', "invalid character ' ' in \\u hexadecimal character escape"),
    # bytes after the value
    (b"1x", "invalid character 'x' after top-level value"),
    (b"{} {}", "invalid character '{' after top-level value"),
    (b"[]]", "invalid character ']' after top-level value"),
    (b"01", "invalid character '1' after top-level value"),
    (b"0x10", "invalid character 'x' after top-level value"),
    (b"1.5.3", "invalid character '.' after top-level value"),
    # how a byte is shown: Go turns the byte (not the UTF-8 character) into a rune
    (b"'a'", "invalid character '\\'' looking for beginning of value"),
    (b"\\", "invalid character '\\\\' looking for beginning of value"),
    (b"\xc3\xa9", "invalid character 'Ã' looking for beginning of value"),
    (b"\xef\xbb\xbf{}", "invalid character 'ï' looking for beginning of value"),  # a BOM
    (b"\xff", "invalid character 'ÿ' looking for beginning of value"),
    (b"\x80", "invalid character '\\u0080' looking for beginning of value"),
    (b"\xa0", "invalid character '\\u00a0' looking for beginning of value"),
    (b"\xad", "invalid character '\\u00ad' looking for beginning of value"),
    (b"\x7f", "invalid character '\\x7f' looking for beginning of value"),
    (b"\x00", "invalid character '\\x00' looking for beginning of value"),
    (b"\x07", "invalid character '\\a' looking for beginning of value"),
    (b"\x08", "invalid character '\\b' looking for beginning of value"),
    (b"\x0b", "invalid character '\\v' looking for beginning of value"),
    (b"\x0c", "invalid character '\\f' looking for beginning of value"),
    # nesting: Go allows 10000 levels
    (b"[" * 10001, "invalid character '[' exceeded max depth"),
    (b'{"a":' * 10001, "invalid character '{' exceeded max depth"),
    (b"[" * 10000 + b"]" * 10000, None),
    # valid documents
    (b' [1, -0.5e-3, "x\\u00e9\\n", true, false, null, {}, []] ', None),
    (b'{"a":{"b":[]}}', None),
    (b'"\xc3\xa9 \xff"', None),  # Go does not check UTF-8 in a string
]


@pytest.mark.parametrize(("data", "want"), UNMARSHAL, ids=[repr(d[:24]) for d, _ in UNMARSHAL])
def test_unmarshal_says_what_go_says(data: bytes, want: str | None) -> None:
    assert unmarshal_error(data) == want


def test_quote_char_shows_every_byte_as_go_does() -> None:
    assert [quote_char(b) for b in (0x22, 0x27, 0x5C, 0x41, 0x20, 0x09, 0x1B, 0x7F, 0x9F)] == [
        "'\"'", "'\\''", "'\\\\'", "'A'", "' '", "'\\t'", "'\\x1b'", "'\\x7f'", "'\\u009f'",
    ]  # fmt: skip
    assert [quote_char(b) for b in (0xA1, 0xAD, 0xC3, 0xE9, 0xFF)] == [
        "'¡'",
        "'\\u00ad'",
        "'Ã'",
        "'é'",
        "'ÿ'",
    ]


# (input, what one json.Decoder.Decode says, or the index just past the value it reads)
DECODE_FIRST = [
    (b"", "EOF"),
    (b" \n\t", "EOF"),
    (b'{"a":', "unexpected EOF"),
    (b"nul", "unexpected EOF"),  # unlike Unmarshal, the decoder ignores the imagined space's error
    (b"1.", "unexpected EOF"),
    (b"1. ", "invalid character ' ' after decimal point in numeric literal"),  # a real space
    (b"[1 2]", "invalid character '2' after array element"),
    (b"1x", 1),
    (b"12", 2),
    (b" {} {}", 3),
    (b'{"a":1}}', 7),
    (b"truex", 4),
    (b"01", 1),
]


@pytest.mark.parametrize(("data", "want"), DECODE_FIRST, ids=[repr(d) for d, _ in DECODE_FIRST])
def test_one_decode_reads_the_first_value_only(data: bytes, want: str | int) -> None:
    try:
        got: str | int = decode_first(data)
    except JsonSyntaxError as err:
        got = str(err)
    assert got == want


# (payload, what upstream's message parse says; None when the payload is one JSON document)
MESSAGE = [
    (b"{} not foo", "invalid character 'o' in literal null (expecting 'u')"),  # upstream's own test
    (b"{} {}", "message contains multiple valid documents"),
    (b'   ["foo"] \n\n\n{}', "message contains multiple valid documents"),
    (b"1 2", "message contains multiple valid documents"),
    (b"01", "message contains multiple valid documents"),
    (b"{} x", "invalid character 'x' looking for beginning of value"),
    (b"[]]", "invalid character ']' looking for beginning of value"),
    (b"{} {", "unexpected EOF"),
    (b"{} {} x", "invalid character 'x' looking for beginning of value"),  # a third look
    (b" \n", "EOF"),
    (b'{"a":', "unexpected EOF"),
    (b'["foo"]  ', None),
    (b'   ["foo"]\n\t\t\n', None),
]


@pytest.mark.parametrize(("data", "want"), MESSAGE, ids=[repr(d) for d, _ in MESSAGE])
def test_the_message_parse_says_what_upstream_says(data: bytes, want: str | None) -> None:
    assert message_error(data) == want


# ---------------------------------------------------------------------------------------------
# Through the language and the processors


def error_of(mapping: str, content: bytes) -> str:
    with pytest.raises(mapping_lang.MappingError) as info:
        mapping_lang.compile(mapping).apply(content)
    return str(info.value)


@pytest.mark.parametrize(
    ("content", "want"),
    [
        (b"not json", "parse as json: invalid character 'o' in literal null (expecting 'u')"),
        (b'{"a":1 "b":2}', "parse as json: invalid character '\"' after object key:value pair"),
        (b"{} not foo", "parse as json: invalid character 'o' in literal null (expecting 'u')"),
        (b"{} {}", "parse as json: message contains multiple valid documents"),
        (b'{"a":', "parse as json: unexpected EOF"),
        (b"  ", "parse as json: EOF"),
        (b"[" * 20000, "parse as json: invalid character '[' exceeded max depth"),
    ],
)
def test_this_on_a_payload_that_is_not_json(content: bytes, want: str) -> None:
    assert want in error_of("root = this", content)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("not json", "failed to parse value as JSON: invalid character 'o' in literal null (expecting 'u')"),
        ("[1 2]", "failed to parse value as JSON: invalid character '2' after array element"),
        (
            '{\\"a\\":\\"\\\\q\\"}',
            "failed to parse value as JSON: invalid character 'q' in string escape code",
        ),
        ("nul", "failed to parse value as JSON: unexpected EOF"),
        ("", "failed to parse value as JSON: EOF"),
    ],
)
def test_parse_json_on_a_string_that_is_not_json(text: str, want: str) -> None:
    assert want in error_of(f'root = "{text}".parse_json()', b"{}")


@pytest.mark.parametrize(
    ("text", "want"),
    [("1x", b"1"), ("[1] garbage", b"[1]"), ('{\\"a\\":1}}', b'{"a":1}'), ("{} {}", b"{}")],
)
def test_parse_json_ignores_what_follows_the_first_value(text: str, want: bytes) -> None:
    assert mapping_lang.compile(f'root = "{text}".parse_json()').apply(b"{}").content == want


def test_json_schema_reads_its_schema_with_one_decode() -> None:
    with pytest.raises(mapping_lang.MappingError) as info:
        mapping_lang.compile('root = this.json_schema("{\\"type\\": objec}")')
    assert (
        "failed to parse json schema definition: invalid character 'o' looking for beginning of value"
        in str(info.value)
    )
    trailing = mapping_lang.compile('root = this.json_schema("{\\"type\\":\\"object\\"} trailing")')
    assert trailing.apply(b'{"a":1}').content == b'{"a":1}'


def _hs256_token(header: bytes, claims: bytes) -> bytes:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signed = f"{b64(header)}.{b64(claims)}"
    return f"{signed}.{b64(hmac.new(b'secret', signed.encode(), hashlib.sha256).digest())}".encode()


@pytest.mark.parametrize(
    ("header", "claims", "want"),
    [
        (
            b'{"alg":"HS256"}',
            b'{"sub":nul}',
            "could not JSON decode claim: invalid character '}' in literal null (expecting 'l')",
        ),
        (b'{"alg":"HS256"}', b"", "could not JSON decode claim: unexpected end of JSON input"),
        (
            b'{"alg":"HS256"}',
            b"{} {}",
            "could not JSON decode claim: invalid character '{' after top-level value",
        ),
        (
            b'{"alg":"HS256"}',
            b"[1]",
            "could not JSON decode claim: json: cannot unmarshal array into Go value of type jwt.MapClaims",
        ),
        (b"x", b"{}", "could not JSON decode header: invalid character 'x' looking for beginning of value"),
        (
            b'{"alg":"HS384"}',
            b"{",
            "could not JSON decode claim: unexpected end of JSON input",
        ),  # before the alg check
    ],
)
def test_parse_jwt_says_what_golang_jwt_says_about_a_segment_that_is_not_json(
    header: bytes, claims: bytes, want: str
) -> None:
    error = error_of('root = content().string().parse_jwt_hs256("secret")', _hs256_token(header, claims))
    assert f"failed to parse JWT string: token is malformed: {want}" in error


def test_unarchive_json_documents_fails_with_the_decoders_error() -> None:
    assert [m.structured() for m in json_documents(Message(b'{"a":1} 2\n[3]'))] == [{"a": 1}, 2, [3]]
    for payload, want in [
        (b'{"a":1} {"b":nul}', "invalid character '}' in literal null (expecting 'l')"),
        (b"1 2 x", "invalid character 'x' looking for beginning of value"),
        (b"[1] 1.", "unexpected EOF"),
    ]:
        with pytest.raises(ValueError) as info:
            json_documents(Message(payload))
        assert str(info.value) == want


# ---------------------------------------------------------------------------------------------
# Hostile input: bounded (no recursion, linear), whatever the API


def test_a_million_open_brackets_and_ten_megabytes_of_garbage_give_an_error() -> None:
    deep = b"[" * 1_000_000
    assert unmarshal_error(deep) == "invalid character '[' exceeded max depth"
    assert message_error(deep) == "invalid character '[' exceeded max depth"
    garbage = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    assert unmarshal_error(garbage) == "invalid character '\\x00' looking for beginning of value"
    assert message_error(garbage) == "invalid character '\\x00' looking for beginning of value"
    unterminated = b'["' + b"a" * 10 * 1024 * 1024
    assert unmarshal_error(unterminated) == "unexpected end of JSON input"
    assert message_error(unterminated) == "unexpected EOF"
    for payload in (deep, garbage, unterminated):
        with pytest.raises(ValueError):
            parse_json(payload)


def test_past_the_step_budget_the_error_is_worded_from_where_parsing_stopped() -> None:
    # Go's exact words need a walk of every token before the bad byte; a dense document longer
    # than the budget gets the bad byte and its place instead, so a huge body is cheap to refuse
    small = b"[" + b"1," * 1000 + b"1 2]"
    assert unmarshal_error(small) == "invalid character '2' after array element"
    big = b"[" + b"1," * (STEP_BUDGET // 2 + 1) + b"1 2]"
    assert unmarshal_error(big) == "invalid character '2' looking for beginning of value"
    assert message_error(big) == "invalid character '2' looking for beginning of value"
    with pytest.raises(JsonSyntaxError, match="invalid character '2' looking for beginning of value"):
        decode_first(big)
    cut = b"[" + b"1," * (STEP_BUDGET // 2 + 1)
    assert unmarshal_error(cut) == "unexpected end of JSON input"


# ---------------------------------------------------------------------------------------------
# End to end: ``benthic blobl``, as a user runs it


def blobl(mapping: str, lines: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "benthic.cli", "blobl", mapping], input=lines, capture_output=True, timeout=60
    )


def test_blobl_reports_gos_words_for_a_line_that_is_not_json() -> None:
    proc = blobl("root = this", b'not json\n{"a": nul}\n{} {}\n{"ok":true}\n')
    assert proc.stdout.splitlines() == [b'{"ok":true}']
    assert proc.stderr.decode().splitlines() == [
        "failed to execute map: failed assignment (line 1): unable to reference message as structured "
        f"(with 'this'): parse as json: {want}"
        for want in (
            "invalid character 'o' in literal null (expecting 'u')",
            "invalid character '}' in literal null (expecting 'l')",
            "message contains multiple valid documents",
        )
    ]


def test_blobl_parse_json_reports_gos_words() -> None:
    proc = blobl("root = this.s.parse_json()", b'{"s":"{\\"a\\" 1}"}\n{"s":"[1] tail"}\n{"s":"tru"}\n')
    assert proc.stdout.splitlines() == [b"[1]"]
    assert proc.stderr.decode().splitlines() == [
        f"failed to execute map: failed assignment (line 1): field `this.s`: failed to parse value as JSON: {want}"
        for want in ("invalid character '1' after object key", "unexpected EOF")
    ]


def test_parse_json_finds_the_end_of_a_first_value_longer_than_the_step_budget() -> None:
    # the end of a valid first value is found by Python's decoder, so the budget never cuts it
    values = ",".join(["1"] * (STEP_BUDGET + 10))
    text = f"[{values}] and then some words"
    mapping = mapping_lang.compile("root = this.s.parse_json().length()")
    assert mapping.apply(b'{"s": "' + text.encode() + b'"}').content == str(STEP_BUDGET + 10).encode()
