"""`format()` verbs as Go's fmt.Sprintf prints Bloblang values, differential cases.

Arguments reach Sprintf raw: literals and results are int64/float64/string/bool/nil,
arrays []interface {}, objects map[string]interface {} (printed with sorted keys).
"""

from __future__ import annotations

import pytest

import mapping_lang


def run(mapping: str, content: bytes = b"{}") -> bytes | None:
    return mapping_lang.compile(mapping).apply(content).content


@pytest.mark.parametrize(
    ("mapping", "want"),
    [
        ('"%x".format("hi")', "6869"),
        ('"% x".format("hi")', "68 69"),
        ('"% X".format("hi".bytes())', "68 69"),
        ('"%x".format(255)', "ff"),
        ('"%x".format(-255)', "-ff"),
        ('"%#x".format(255)', "0xff"),
        ('"%x|%X".format(1.5, 1.5)', "0x1.8p+00|0X1.8P+00"),  # strconv 'x' format, shortest
        ('"%x".format(1.0)', "0x1p+00"),
        ('"%x".format(0.0 - 0.1)', "-0x1.999999999999ap-04"),
        ('"%q".format("a\\"b")', '"a\\"b"'),
        ('"%q".format(65)', "'A'"),
        ('"%v".format({"b":[1,"x"],"a":1})', "map[a:1 b:[1 x]]"),
        ('"%v".format([1,"x",null,true])', "[1 x <nil> true]"),
        ('"%s".format({"a":1})', "map[a:%!s(int64=1)]"),
        ('"%d".format(1.5)', "%!d(float64=1.5)"),
        ('"%d".format("x")', "%!d(string=x)"),
        ('"%.2f".format(1)', "%!f(int64=1)"),
        ('"%5d|%-5d|%05d".format(3,3,3)', "    3|3    |00003"),
        ('"%+d|%+v".format(5, 5)', "+5|5"),  # %+v is plusV: no sign
        ('"%+v".format({"a":1})', "map[a:1]"),
        (
            '"%#v".format({"a":1,"b":[1,"x",null,2.5]})',
            'map[string]interface {}{"a":1, "b":[]interface {}{1, "x", interface {}(nil), 2.5}}',
        ),
        ('"%#v".format("x")', '"x"'),
        ('"%#v".format(null)', "<nil>"),
        ('"%#v".format("ab".bytes())', "[]byte{0x61, 0x62}"),
        ('"%5v|".format([1,2])', "[    1     2]|"),  # the width applies to each element
        ('"%-3v|".format({"a":1})', "map[a  :1  ]|"),
        ('"%d %d".format(1)', "1 %!d(MISSING)"),
        ('"%d".format(1, 2)', "1%!(EXTRA int64=2)"),
        ('"%T|%T|%T|%T".format(1, 1.5, "x", [])', "int64|float64|string|[]interface {}"),
        ('"%s".format(null)', "%!s(<nil>)"),
        ('"%v".format("x".bytes())', "[120]"),
        ('"%8.3s|".format("abcdef")', "     abc|"),
        ('"%e".format(1234.5)', "1.234500e+03"),
        ('"%U".format(65)', "U+0041"),
    ],
)
def test_format_verbs(mapping: str, want: str) -> None:
    assert run(f"root = {mapping}") == want.encode()


def test_json_string_argument_prints_as_its_text() -> None:
    assert run('root = "%v|%s".format(this.a, this.a)', b'{"a":1.50}') == b"1.50|1.50"
