"""The ``text_chunker`` processor: the recursive character splitter against langchaingo's and
upstream's own expected chunks, and the processor through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processors.text_chunker import grapheme_length, rune_length, split_recursive, utf8_length
from tests.pipeline.conftest import run_cli

DEFAULT_SEPARATORS = ["\n\n", "\n", " ", ""]
WEIRD_TEXT = (
    "Hi.\nI'm Harrison.\n\nHow? Are? You?\nOkay then f f f f.\n"
    "This is a weird text to write, but gotta test the splittingggg some how.\n\nBye!\n\n-H."
)


@pytest.mark.parametrize(
    ("text", "separators", "size", "overlap", "expected"),
    [
        # a separator that never occurs is passed over for the next one
        (
            "哈里森\n很高兴遇见你\n欢迎来中国",
            ["\n\n", "\n", " "],
            10,
            0,
            ["哈里森\n很高兴遇见你", "欢迎来中国"],
        ),
        # upstream's own test of the processor; chunks are trimmed of white space
        (
            "Hi, Harrison. \nI am glad to meet you",
            ["\n", "$"],
            20,
            1,
            ["Hi, Harrison.", "I am glad to meet you"],
        ),
        (
            "Hi.\nI'm Harrison.\n\nHow?\na\nbHi.\nI'm Harrison.\n\nHow?\na\nb",
            DEFAULT_SEPARATORS,
            40,
            1,
            ["Hi.\nI'm Harrison.", "How?\na\nbHi.\nI'm Harrison.\n\nHow?\na\nb"],
        ),
        ("name: Harrison\nage: 30", DEFAULT_SEPARATORS, 40, 1, ["name: Harrison\nage: 30"]),
        (
            "name: Harrison\nage: 30\n\nname: Joe\nage: 32",
            DEFAULT_SEPARATORS,
            40,
            1,
            ["name: Harrison\nage: 30", "name: Joe\nage: 32"],
        ),
        # small chunks: words carried over as overlap ("a"), a long word split into characters
        (
            WEIRD_TEXT,
            DEFAULT_SEPARATORS,
            10,
            1,
            ["Hi.", "I'm", "Harrison.", "How? Are?", "You?", "Okay then", "f f f f.", "This is a", "a weird"]
            + ["text to", "write, but", "gotta test", "the", "splittingg", "ggg", "some how.", "Bye!\n\n-H."],
        ),
        # overlap: the tail of each chunk starts the next
        ("a b c d e f g", [" "], 5, 3, ["a b c", "b c d", "c d e", "d e f", "e f g"]),
        # no separator left: a piece too long stays whole
        ("abcdefgh ij", [" "], 4, 0, ["abcdefgh", "ij"]),
        # a piece not shorter than chunk_size, with no separator left, is a chunk as it is, untrimmed
        ("a b", [""], 1, 0, ["a", " ", "b"]),
        # custom separators, tried in order; a piece as long as chunk_size is split further
        ("one|two;three|four", ["|", ";"], 9, 0, ["one", "two;three", "four"]),
        # Go's TrimSpace leaves U+001F alone, strips U+00A0
        ("\x1fab\xa0", [" "], 10, 0, ["\x1fab"]),
    ],
)
def test_recursive_character_splits_as_langchaingo(
    text: str, separators: list[str], size: int, overlap: int, expected: list[str]
):
    assert split_recursive(text, separators, size, overlap) == expected


def test_length_measures_count_bytes_code_points_and_grapheme_clusters():
    family = "👨\u200d👩\u200d👧"
    assert (utf8_length("héllo"), rune_length("héllo")) == (6, 5)
    assert (utf8_length(family), rune_length(family), grapheme_length(family)) == (18, 5, 1)
    # the same text, three measures, three chunkings
    text = "é é é é"
    assert split_recursive(text, [" "], 4, 0, utf8_length) == ["é", "é", "é", "é"]
    assert split_recursive(text, [" "], 4, 0, rune_length) == ["é é", "é é"]
    assert split_recursive(f"{family} {family}", [" "], 4, 0, grapheme_length) == [f"{family} {family}"]


def _config(tmp_path: Path, settings: str, name: str = "c.yaml") -> Path:
    config = tmp_path / name
    config.write_text(
        "http:\n  enabled: false\ninput:\n  stdin:\n    scanner:\n      to_the_end: {}\n"
        "pipeline:\n  processors:\n    - mapping: 'meta doc = \"d1\"'\n"
        f"    - text_chunker:\n{settings}"
        '    - mapping: \'root = {"chunk": content().string(), "doc": @doc}\'\n'
        "output:\n  stdout:\n    codec: lines\n"
    )
    return config


def test_text_chunker_emits_one_message_per_chunk_with_metadata_kept(tmp_path: Path):
    settings = (
        "        strategy: recursive_character\n        chunk_size: 20\n        chunk_overlap: 1\n"
        '        separators: ["\\n", "$"]\n'
    )
    result = run_cli("run", str(_config(tmp_path, settings)), input=b"Hi, Harrison. \nI am glad to meet you")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if not line.startswith("time=")]
    assert lines == [{"chunk": "Hi, Harrison.", "doc": "d1"}, {"chunk": "I am glad to meet you", "doc": "d1"}]


def test_text_chunker_lint_refuses_token_strategies_and_markdown_saying_why(tmp_path: Path):
    token = _config(tmp_path, "        strategy: token\n        length_measure: token\n", "token.yaml")
    markdown = _config(tmp_path, "        strategy: markdown\n", "markdown.yaml")
    no_strategy = _config(tmp_path, "        chunk_size: 10\n", "none.yaml")
    good = _config(tmp_path, "        strategy: recursive_character\n", "good.yaml")
    result = run_cli("lint", str(token), str(markdown), str(no_strategy), str(good))
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert any("token.yaml" in e and "strategy token needs tiktoken's BPE encodings" in e for e in errors)
    assert any(
        "token.yaml" in e and "length_measure token needs tiktoken's BPE encodings" in e for e in errors
    )
    assert any("markdown.yaml" in e and "strategy markdown is not supported" in e for e in errors)
    assert any("none.yaml" in e and "strategy" in e for e in errors)
    assert not any("good.yaml" in e for e in errors)
