"""Document formats read as upstream reads them: parse_csv (Go's encoding/csv Reader),
parse_json (one json.Decoder.Decode: float64 numbers unless use_number, trailing data ignored),
parse_logfmt (upstream's own scanner)."""

from __future__ import annotations

import pytest

import mapping_lang
from mapping_lang import MappingError


def run(mapping: str, content: bytes = b"{}") -> bytes | None:
    return mapping_lang.compile(mapping).apply(content).content


def error_of(mapping: str) -> str:
    with pytest.raises(MappingError) as info:
        run(mapping)
    return str(info.value)


@pytest.mark.parametrize(
    ("csv", "args", "want"),
    [
        ("a,b\\n1,2", "", '[{"a":"1","b":"2"}]'),
        ("a,b\\n\\n1,2\\n", "parse_header_row: false", '[["a","b"],["1","2"]]'),  # blank lines skipped
        ('a,b\\n\\"x\\"\\"y\\",2', "", '[{"a":"x\\"y","b":"2"}]'),
        ('a,\\"b\\nc\\"\\n1,2', "", '[{"a":"1","b\\nc":"2"}]'),  # quoted newline
        ("a,b\\r\\n1,2\\r\\n", "", '[{"a":"1","b":"2"}]'),
        ("a,b\\n1,2\\r", "", '[{"a":"1","b":"2"}]'),  # a \\r before the end is dropped
        ('a,b\\n1,\\"2\\"x', "lazy_quotes: true", '[{"a":"1","b":"2\\"x"}]'),
        ("a;b\\n1;2", 'delimiter: ";"', '[{"a":"1","b":"2"}]'),
        ("a,b\\n x ,2", "", '[{"a":" x ","b":"2"}]'),
        ("a,b\\n,", "", '[{"a":"","b":""}]'),
    ],
)
def test_parse_csv_values(csv: str, args: str, want: str) -> None:
    assert run(f'root = "{csv}".parse_csv({args})') == want.encode()


@pytest.mark.parametrize(
    ("csv", "want"),
    [
        ("", "zero records were parsed"),
        ("\\n\\n", "zero records were parsed"),
        ("a,b\\n1", "record on line 2: wrong number of fields"),
        ('a,b\\n1,x\\"y', 'parse error on line 2, column 4: bare \\" in non-quoted-field'),
        ('a,b\\n1,\\"2', 'parse error on line 2, column 5: extraneous or missing \\" in quoted-field'),
        ('a,b\\n1,\\"2\\"x', 'parse error on line 2, column 5: extraneous or missing \\" in quoted-field'),
        (
            'a,b\\n1,\\"2\\nx',
            'record on line 2; parse error on line 3, column 2: extraneous or missing \\" in quoted-field',
        ),
    ],
)
def test_parse_csv_errors(csv: str, want: str) -> None:
    msg = error_of(f'root = "{csv}".parse_csv()')
    assert f"string literal: {want}".replace('\\"', '"') in msg


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        ('root = "{\\"a\\":1} x".parse_json()', b'{"a":1}'),  # the decoder stops after one value
        ('root = "[1] [2]".parse_json()', b"[1]"),
        ('root = "1.50".parse_json()', b"1.5"),  # float64 without use_number
        ('root = "1.50".parse_json(use_number: true)', b"1.50"),
        ('root = "12345678901234567890".parse_json()', b"12345678901234567000"),
        ('root = "%T".format("5".parse_json())', b"float64"),
        ('root = "[1, 2.0, -0]".parse_json()', b"[1,2,-0]"),
    ],
)
def test_parse_json_values(mapping: str, want: bytes) -> None:
    assert run(mapping) == want


@pytest.mark.parametrize(
    ("doc", "want"),
    [
        ("", "failed to parse value as JSON: EOF"),
        ("  ", "failed to parse value as JSON: EOF"),
        ('{\\"a\\":1', "failed to parse value as JSON: unexpected EOF"),
    ],
)
def test_parse_json_errors(doc: str, want: str) -> None:
    assert want in error_of(f'root = "{doc}".parse_json()')


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('a=1 b c=\\"x y\\"', '{"a":"1","b":true,"c":"x y"}'),  # a bare key is true
        ("a=1 a=2", '{"a":"2"}'),
        ("=1 x", '{"1":true,"x":true}'),
        ('a=\\"x\\\\qy\\\\n\\"', '{"a":"x\\\\qy\\n"}'),  # unknown escapes keep the backslash
        ("a= b=", '{"a":"","b":""}'),
        ("\\tk=v\\t", '{"k":"v"}'),
    ],
)
def test_parse_logfmt(text: str, want: str) -> None:
    assert run(f'root = "{text}".parse_logfmt()') == want.encode()


def test_parse_logfmt_unterminated_quote() -> None:
    assert 'logfmt: unterminated quoted value for key "a"' in error_of('root = "a=\\"x".parse_logfmt()')


def test_format_methods_reject_numbers() -> None:
    assert "expected string value, got number" in error_of("root = 5.parse_logfmt()")
    assert "expected string value, got number" in error_of("root = 5.parse_csv()")


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("http://exa mple.com/x", 'parse "http://exa mple.com/x": invalid character " " in host name'),
        ("http://example.com:80x/x", 'parse "http://example.com:80x/x": invalid port ":80x" after host'),
        ("http://[::1/x", "parse \"http://[::1/x\": missing ']' in host"),
        ("http://h%41.com/", 'parse "http://h%41.com/": invalid URL escape "%41"'),
        (
            "http://ex\\tample.com/",
            'parse "http://ex\\tample.com/": net/url: invalid control character in URL',
        ),
        ("http://a b@h.com/", 'parse "http://a b@h.com/": net/url: invalid userinfo'),
    ],
)
def test_parse_url_rejects_hosts_go_rejects(url: str, want: str) -> None:
    assert want in error_of(f'root = "{url}".parse_url()')


def test_parse_url_accepts_hosts_go_accepts() -> None:
    assert run('root = "http://[::1]:80/x".parse_url().host') == b"[::1]:80"
    assert run('root = "http://b\\u00fc.com/".parse_url().host') == "bü.com".encode()
    assert run('root = "http://u:p@h.com:8080/x".parse_url().user.password') == b"p"
