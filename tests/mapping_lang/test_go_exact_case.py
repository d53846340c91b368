"""Unicode case mapping, differential cases against upstream's Go engine.

`uppercase`/`lowercase` are Go's strings.ToUpper/ToLower (simple, one rune to one rune);
`capitalize` is golang.org/x/text cases.Title(language.English). The title-casing vectors marked
"x/text" are the expectations of x/text's own cases/map_test.go (the English caser has no
language-specific rules, so it behaves as the root locale there).
"""

from __future__ import annotations

import json

import pytest

import mapping_lang


def run(mapping: str, content: bytes = b"{}") -> bytes | None:
    return mapping_lang.compile(mapping).apply(content).content


def lit(s: str) -> str:
    return json.dumps(s)


@pytest.mark.parametrize(
    ("src", "want"),
    [
        ("ß", "ß"),  # no simple upper case: Python's "SS" is the full mapping
        ("ﬁ", "ﬁ"),
        ("ŉ", "ŉ"),
        ("ǆ", "Ǆ"),
        ("ǅ", "Ǆ"),
        ("ᾳ", "ᾼ"),  # simple upper case of alpha with ypogegrammeni is the title-case rune
        ("ſ", "S"),
        ("abc aBc ABC abC İsıI ΕΣΆΣ", "ABC ABC ABC ABC İSII ΕΣΆΣ"),  # x/text upper
        ("straße", "STRAßE"),
    ],
)
def test_uppercase_is_go_simple_mapping(src: str, want: str) -> None:
    assert run(f"root = {lit(src)}.uppercase()") == want.encode()


@pytest.mark.parametrize(
    ("src", "want"),
    [
        ("İ", "i"),  # simple lower case; Python's full mapping adds U+0307
        ("ΣΑΣ", "σασ"),  # strings.ToLower has no final-sigma rule
        ("ΟΔΟΣ ΣΑΣ.", "οδοσ σασ."),
        ("ǅ", "ǆ"),
        ("ÀÉÎ", "àéî"),
    ],
)
def test_lowercase_is_go_simple_mapping(src: str, want: str) -> None:
    assert run(f"root = {lit(src)}.lowercase()") == want.encode()


def test_case_methods_on_bytes_map_non_ascii_and_replace_invalid_utf8() -> None:
    assert run("root = content().uppercase().string()", "é".encode() + b"\xff") == "É\ufffd".encode()
    assert run("root = content().lowercase().string()", "ÉA".encode()) == "éa".encode()


def test_map_each_key_uses_the_same_mapping() -> None:
    assert (
        run('root = {"ß":1,"İx":2}.map_each_key(k -> k.uppercase())') == '{"ß":1,"İX":2}'.encode()
    )  # keys in byte order


@pytest.mark.parametrize(
    ("src", "want"),
    [
        ("the foo bar", "The Foo Bar"),
        ("hELLO wORLD", "Hello World"),  # the rest of each word is lower-cased
        ("FOO CASE TEST", "Foo Case Test"),  # x/text
        ("DON'T DO THiS", "Don't Do This"),  # x/text
        ("with-hyphens", "With-Hyphens"),  # x/text
        ("49ers 49ers", "49Ers 49Ers"),  # x/text: digits are not cased
        ('"capitalize a^a -hyphen 0X _u a_u:a', '"Capitalize A^A -Hyphen 0X _U A_u:a'),  # x/text
        (
            "MidNumLet a.b\u2018c\u2019d\u2024e\ufe52f\uff07f\uff0eg",
            "Midnumlet A.b\u2018c\u2019d\u2024e\ufe52f\uff07f\uff0eg",
        ),
        (
            "MidNum a,b;c\u037ed\u0589e\u060cf\u2044g\ufe50h",
            "Midnum A,B;C\u037eD\u0589E\u060cF\u2044G\ufe50H",
        ),  # x/text
        (
            "\u0345 x\u3031x x\u05d0x \u05d0x a'.a a.a a4,a",
            "\u0399 X\u3031X X\u05d0x \u05d0X A'.A A.a A4,A",
        ),  # x/text
        (
            "χωΡΊΣ χωΡΊΣ^a χωΡΊΣ:a χωΡΊΣ:^a χωΡΊΣ^ όμΩΣ Σ",
            "Χωρίς Χωρίσ^A Χωρίσ:a Χωρίσ:^A Χωρίς^ Όμως Σ",
        ),  # x/text
        ("abc aBc ABC abC İsıI ΕΣΆΣ Σ _Σ -Σ", "Abc Abc Abc Abc İsıi Εσάς Σ _Σ -Σ"),  # x/text
        ("ǅA", "ǅa"),  # x/text
        ("ǆemal", "ǅemal"),  # title case, not upper case
        ("ßa ﬁx", "Ssa Fix"),  # title casing uses the full mapping
        ("o'neil bar_baz", "O'neil Bar_baz"),
        ("", ""),
    ],
)
def test_capitalize_is_x_text_title_casing(src: str, want: str) -> None:
    assert run(f"root = {lit(src)}.capitalize()") == want.encode()


def test_capitalize_rejects_numbers() -> None:
    with pytest.raises(mapping_lang.MappingError) as info:
        run("root = 5.capitalize()")
    assert "expected string value, got number" in str(info.value)
