"""The ``text_chunker`` processor: the recursive character and markdown splitters against
langchaingo's and upstream's own expected chunks, and the processor through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from processors.text_chunker import (
    MarkdownOptions,
    grapheme_length,
    rune_length,
    split_markdown,
    split_recursive,
    utf8_length,
)
from tests.pipeline.conftest import cli_env, run_cli

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


def test_text_chunker_lint_refuses_token_strategies_saying_why_and_accepts_markdown(tmp_path: Path):
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
    assert any("none.yaml" in e and "strategy" in e for e in errors)
    assert not any("markdown.yaml" in e for e in errors)
    assert not any("good.yaml" in e for e in errors)


# langchaingo v0.1.14's markdown_splitter_test.go: its inputs and expected chunks, with its options
HEADINGS = (
    "\n## First header: h2\nSome content below the first h2.\n## Second header: h2\n"
    "### Third header: h3\n\n- This is a list item of bullet type.\n- This is another list item.\n\n"
    " *Everything* is going according to **plan**.\n\n# Fourth header: h1\n"
    "Some content below the first h1.\n## Fifth header: h2\n#### Sixth header: h4\n\n"
    "Some content below h1>h2>h4.\n"
)
TABLE = (
    "| Syntax      | Description |\n| ----------- | ----------- |\n"
    "| Header      | Title       |\n| Paragraph   | Text        |"
)
TABLE_HEAD = "| Syntax | Description |\n| --- | --- |\n"
CONTENTS = (
    "\n- [Code of Conduct](#code-of-conduct)\n- [I Have a Question](#i-have-a-question)\n"
    "- [I Want To Contribute](#i-want-to-contribute)\n"
    "    - [Reporting Bugs](#reporting-bugs)\n"
    "        - [Before Submitting a Bug Report](#before-submitting-a-bug-report)\n"
    "        - [How Do I Submit a Good Bug Report?](#how-do-i-submit-a-good-bug-report)\n"
    "    - [Suggesting Enhancements](#suggesting-enhancements)\n"
    "        - [Before Submitting an Enhancement](#before-submitting-an-enhancement)\n"
    "        - [How Do I Submit a Good Enhancement Suggestion?](#how-do-i-submit-a-good-enhancement-suggestion)\n"
    "    - [Your First Code Contribution](#your-first-code-contribution)\n"
    "        - [Make Changes](#make-changes)\n"
    "            - [Make changes in the UI](#make-changes-in-the-ui)\n"
    "            - [Make changes locally](#make-changes-locally)\n"
    "        - [Commit your update](#commit-your-update)\n"
    "        - [Pull Request](#pull-request)\n"
    "        - [Your PR is merged!](#your-pr-is-merged)\n"
)
HEADING_AFTER_HEADING = (
    "\n### Your First Code Contribution\n\n#### Make Changes\n\n##### Make changes in the UI\n\n"
    "Click **Make a contribution** at the bottom of any docs page to make small changes such as a "
    "typo, sentence fix, or a\nbroken link. This takes you to the .md file where you can make your "
    "changes and [create a pull request](#pull-request)\nfor a review.\n\n"
    "##### Make changes locally\n\n1. Fork the repository.\n\n"
    "2. Install or make sure **Golang** is updated.\n\n"
    "3. Create a working branch and start with your changes!\n"
)
LINKS = 'links:\n[foo][bar]\n\n[bar]: /url "title"\n\n[regular](/url)\n'
SMALL = {"chunk_size": 64, "chunk_overlap": 32}
LARGE = {"chunk_size": 512, "chunk_overlap": 64}
LINKS_ON = {"chunk_size": 512, "chunk_overlap": 0, "code_blocks": True, "reference_links": True}


@pytest.mark.parametrize(
    ("markdown", "options", "expected"),
    [
        pytest.param(
            HEADINGS,
            {**SMALL, "heading_hierarchy": True},
            [
                "## First header: h2\nSome content below the first h2.",
                "## Second header: h2",
                "## Second header: h2\n### Third header: h3\n- This is a list item of bullet type.",
                "## Second header: h2\n### Third header: h3\n- This is another list item.",
                "## Second header: h2\n### Third header: h3\n*Everything* is going according to **plan**.",
                "# Fourth header: h1\nSome content below the first h1.",
                "# Fourth header: h1\n## Fifth header: h2",
                "# Fourth header: h1\n## Fifth header: h2\n#### Sixth header: h4\nSome content below h1>h2>h4.",
            ],
            id="heading-hierarchy",
        ),
        pytest.param(
            TABLE,
            SMALL,
            [TABLE_HEAD + "| Header | Title |", TABLE_HEAD + "| Paragraph | Text |"],
            id="table-64",
        ),
        pytest.param(
            TABLE,
            LARGE,
            [TABLE_HEAD + "| Header | Title |", TABLE_HEAD + "| Paragraph | Text |"],
            id="table-512",
        ),
        pytest.param(
            TABLE,
            {**SMALL, "join_table_rows": True},
            [TABLE_HEAD + "| Header | Title |", TABLE_HEAD + "| Paragraph | Text |"],
            id="table-joined-overflow",
        ),
        pytest.param(
            TABLE,
            {"chunk_size": 128, "chunk_overlap": 32, "join_table_rows": True},
            [TABLE_HEAD + "| Header | Title |\n| Paragraph | Text |"],
            id="table-joined",
        ),
        pytest.param(
            CONTENTS,
            LARGE,
            [
                "- [Code of Conduct](#code-of-conduct)\n- [I Have a Question](#i-have-a-question)",
                "- [I Want To Contribute](#i-want-to-contribute)\n"
                "  - [Reporting Bugs](#reporting-bugs)\n"
                "    - [Before Submitting a Bug Report](#before-submitting-a-bug-report)\n"
                "    - [How Do I Submit a Good Bug Report?](#how-do-i-submit-a-good-bug-report)\n"
                "  - [Suggesting Enhancements](#suggesting-enhancements)\n"
                "    - [Before Submitting an Enhancement](#before-submitting-an-enhancement)\n"
                "    - [How Do I Submit a Good Enhancement Suggestion?](#how-do-i-submit-a-good-enhancement-suggestion)",
                "  - [Your First Code Contribution](#your-first-code-contribution)\n"
                "    - [Make Changes](#make-changes)\n"
                "      - [Make changes in the UI](#make-changes-in-the-ui)\n"
                "      - [Make changes locally](#make-changes-locally)\n"
                "    - [Commit your update](#commit-your-update)\n"
                "    - [Pull Request](#pull-request)\n"
                "    - [Your PR is merged!](#your-pr-is-merged)",
            ],
            id="bullet-list",
        ),
        pytest.param(
            HEADING_AFTER_HEADING,
            LARGE,
            [
                "### Your First Code Contribution",
                "#### Make Changes",
                "##### Make changes in the UI\nClick **Make a contribution** at the bottom of any docs page "
                "to make small changes such as a typo, sentence fix, or a\nbroken link. This takes you to "
                "the .md file where you can make your changes and [create a pull request](#pull-request)\n"
                "for a review.",
                "##### Make changes locally\n1. Fork the repository.\n"
                "2. Install or make sure **Golang** is updated.\n"
                "3. Create a working branch and start with your changes!",
            ],
            id="heading-after-heading",
        ),
        pytest.param("example code:\n```go\nfunc main() {}\n```", LARGE, ["example code:"], id="fence-false"),
        pytest.param(
            "example code:\n```go\nfunc main() {}\n```",
            {**LARGE, "code_blocks": True},
            ["example code:\n\n```go\nfunc main() {}\n```\n"],
            id="fence-true",
        ),
        pytest.param(
            "example code:\n\n    func main() {\n\t}\n    ", LARGE, ["example code:"], id="codeblock-false"
        ),
        pytest.param(
            "example code:\n\n    func main() {\n\t}\n    ",
            {**LARGE, "code_blocks": True},
            ["example code:\n\n    func main() {\n    }\n    "],
            id="codeblock-true",
        ),
        pytest.param(
            "example code:\n\n---\nmore text\n", LARGE, ["example code:\n\n---\nmore text"], id="hr"
        ),
        pytest.param(
            "text with\\\nhard break\nsoft break", LARGE, ["text with\\\nhard break\nsoft break"], id="break"
        ),
        pytest.param(
            "text with *emphasis*, **strong emphasis** and ~~strikethrough~~",
            LARGE,
            ["text with *emphasis*, **strong emphasis** and ~~strikethrough~~"],
            id="emphasis",
        ),
        pytest.param(
            'images:\n![one](/path/to/one.png)\n![two](/path/to/two.png "two")\n',
            LARGE,
            ['images:\n![one](/path/to/one.png)\n![two](/path/to/two.png "two")'],
            id="image",
        ),
        pytest.param(LINKS, LARGE, ["links:\n[foo][bar]\n[regular](/url)"], id="link-false"),
        pytest.param(
            LINKS,
            {**LARGE, "reference_links": True},
            ['links:\n[foo](/url "title")\n[regular](/url)'],
            id="link-true",
        ),
        # the cases below follow from langchaingo's and golang-commonmark's source, and are what
        # that Go code gives (golang-commonmark as upstream pins it)
        pytest.param("> quoted *text*\n\nafter", LARGE, ["> quoted *text*", "after"], id="quote-own-chunk"),
        pytest.param("1. one\n2. two\n   - sub", LARGE, ["1. one\n2. two\n  - sub"], id="ordered-nested"),
        pytest.param(
            # a paragraph stays as written; a list item is written from its parse, with the
            # typographer's dashes and quotes and linkify's links
            'Plain -- "as written" https://a.io\n\n- in a list -- "smart" https://a.io',
            LARGE,
            ['Plain -- "as written" https://a.io\n- in a list – “smart” [https://a.io](https://a.io)'],
            id="typographer-in-lists",
        ),
        pytest.param(
            # golang-commonmark's smart quotes: a quote second in its text looks before the text
            # (nothing there: a space), so "I'm" opens a quote that never closes and stays
            # straight; only text tokens are looked through, so the one after code does too
            "- I'm here, it's \"quoted\" and 'single'\n- `c`'s 5\"\" &quot;x&quot;",
            LARGE,
            ["- I'm here, it’s “quoted” and ‘single’\n- `c`'s 5\"\" “x”"],
            id="smart-quotes",
        ),
        pytest.param(
            "- `a   b`\n- it's (c) 2024... wow!!!! (p) +- a---b",
            LARGE,
            ["- `a b`\n- it’s © 2024… wow!!! § ± a—b"],
            id="code-span-and-replacements",
        ),
        pytest.param(
            # longer than chunk_size + chunk_overlap: split again, each piece under the heading
            "# T\naaa bbb ccc ddd",
            {"chunk_size": 8, "chunk_overlap": 0},
            ["# T\naaa bbb", "# T\nccc ddd"],
            id="long-paragraph-resplit",
        ),
        pytest.param(
            # a snippet of exactly chunk_size starts a new chunk (>=, not >), though together they
            # would fit in chunk_size + chunk_overlap
            "aaaa\n\nbbbb",
            {"chunk_size": 8, "chunk_overlap": 4},
            ["aaaa", "bbbb"],
            id="join-at-size",
        ),
        pytest.param(
            "aaaa\n\nbbbb", {"chunk_size": 9, "chunk_overlap": 0}, ["aaaa\nbbbb"], id="join-below-size"
        ),
        pytest.param(
            # a chunk that already holds the heading's text is not headed again
            "# x\n\nsee # x here\n\nmore",
            {"chunk_size": 14, "chunk_overlap": 0},
            ["see # x here", "# x\nmore"],
            id="heading-text-in-chunk",
        ),
        pytest.param(
            "| | |\n|---|---|\n| a | b |\n| c | d |",
            LARGE,
            ["| a | b |\n| --- | --- |\n| c | d |"],
            id="table-empty-header",
        ),
        pytest.param("| a | b |\n|---|---|", LARGE, ["| a | b |\n| --- | --- |"], id="table-no-rows"),
        pytest.param(
            # golang-commonmark's tables: a line without "|" ends the table, the header may have
            # fewer cells than the delimiter row, a "|" in a code span does not split a cell
            "| `a|b` |\n|---|---|\n| 1 | 2 |\ntext after",
            LARGE,
            ["| `a|b` |\n| --- |\n| 1 |", "text after"],
            id="table-go-rules",
        ),
        pytest.param(
            # the header is repeated only when a row starts a chunk
            "para\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |",
            LARGE,
            ["para\n| 1 | 2 |", "| a | b |\n| --- | --- |\n| 3 | 4 |"],
            id="table-after-paragraph",
        ),
        pytest.param("    code", {**LARGE, "code_blocks": True}, ["\n    code"], id="codeblock-at-end"),
        # golang-commonmark's parse where it parts from markdown-it's: line ends, empty headings,
        # "~" in a "~~~" info string, CommonMark 0.28's link destinations and reference titles
        pytest.param(
            "# Title\r\nline one\rline two\r\n", LINKS_ON, ["# Title\nline one\nline two"], id="cr-line-ends"
        ),
        pytest.param(
            "#\n\ntext under an empty heading", LINKS_ON, ["text under an empty heading"], id="empty-heading"
        ),
        pytest.param(
            "~~~ a~b\ncode?\n~~~", LINKS_ON, ["~~~ a~b\ncode?\n\n```\n```\n"], id="tilde-in-tilde-fence-info"
        ),
        pytest.param(
            "[t](<a b>) and [u](<c>)\n\n[ref]: <a b>\n\n[ref]",
            LINKS_ON,
            ["[t](<a b>) and [u](c)\n[ref]: <a b>\n[ref]"],
            id="no-space-in-angle-destination",
        ),
        pytest.param(
            "[r]: /u\n'title' trailing\n\n[r]",
            LINKS_ON,
            ["‘title’ trailing\n[r](/u)"],
            id="reference-title-dropped",
        ),
        pytest.param("(a [link](/u (p)))", LINKS_ON, ['(a [link](/u "p"))'], id="title-in-parentheses"),
        pytest.param("café", LINKS_ON, ["café"], id="last-character-not-ascii"),
        pytest.param("", LARGE, [], id="empty"),
        pytest.param("# only", LARGE, ["# only"], id="heading-only"),
    ],
)
def test_markdown_splits_as_langchaingo(markdown: str, options: dict[str, Any], expected: list[str]):
    assert split_markdown(markdown, MarkdownOptions(**options)) == expected


def test_markdown_measures_with_the_given_length():
    # langchaingo's LenFunc case measures in tiktoken tokens; words stand in for them here
    sentence = "The quick brown fox jumped over the lazy dog."
    words = len(sentence.split())
    opts = MarkdownOptions(words + 1, 0, lambda text: len(text.split()))
    assert split_markdown(f"# Title\n{sentence}\n{sentence}", opts) == [f"# Title\n{sentence}"] * 2


def test_markdown_reads_a_long_run_of_reference_definitions():
    # each definition is read from its whole paragraph; reading that once per definition would
    # take hours on this run, and the Go code's answer is the same as for a short one
    definitions = "".join(f"[r{n}]: /u{n}\n" for n in range(30000))
    assert split_markdown(definitions + "\nsee [r29999]", MarkdownOptions(512, 0, reference_links=True)) == [
        "see [r29999](/u29999)"
    ]


def test_markdown_bounds_hostile_nesting():
    # as golang-commonmark, parsing stops 20 levels deep; nothing recurses without bound
    assert split_markdown(">" * 20000 + " deep", MarkdownOptions(512, 64)) == []
    nested = "- a\n" + "".join("  " * depth + f"- l{depth}\n" for depth in range(1, 3000))
    assert split_markdown(nested, MarkdownOptions(100_000, 0)) == [
        "- a\n" + "\n".join("  " * depth + f"- l{depth}" for depth in range(1, 9))
    ]


def test_text_chunker_markdown_strategy_chunks_a_document_by_headings(tmp_path: Path):
    document = (
        "# Guide\n\nIntro paragraph.\n\n## Install\n\n- run `pip install x`\n- see https://x.io\n\n"
        "```sh\nx --help\n```\n\n| flag | use |\n|---|---|\n| -v | verbose |\n"
    )
    settings = "        strategy: markdown\n        chunk_size: 64\n        chunk_overlap: 0\n"
    result = run_cli("run", str(_config(tmp_path, settings)), input=document.encode())
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if not line.startswith("time=")]
    assert lines == [
        {"chunk": "# Guide\nIntro paragraph.", "doc": "d1"},
        {"chunk": "## Install\n- run `pip install x`\n- see [https://x.io](https://x.io)", "doc": "d1"},
        {"chunk": "## Install\n| flag | use |\n| --- | --- |\n| -v | verbose |", "doc": "d1"},
    ]


def test_text_chunker_markdown_keeps_code_and_resolves_links_when_told(tmp_path: Path):
    document = 'See [docs][d].\n\n[d]: https://x.io "X"\n\n```sh\nx --help\n```\n'
    settings = (
        "        strategy: markdown\n        include_code_blocks: true\n        keep_reference_links: true\n"
    )
    result = run_cli("run", str(_config(tmp_path, settings)), input=document.encode())
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if not line.startswith("time=")]
    assert lines == [{"chunk": 'See [docs](https://x.io "X").\n\n```sh\nx --help\n```\n', "doc": "d1"}]

    plain = run_cli(
        "run", str(_config(tmp_path, "        strategy: markdown\n", "plain.yaml")), input=document.encode()
    )
    assert plain.returncode == 0, plain.stderr
    assert [json.loads(line)["chunk"] for line in plain.stdout.splitlines()] == ["See [docs][d]."]


def test_text_chunker_markdown_measures_in_utf8_bytes_when_told(tmp_path: Path):
    document = "ééé\n\nééé"  # 3 runes, 6 bytes a paragraph
    runes = "        strategy: markdown\n        chunk_size: 7\n        chunk_overlap: 0\n"
    utf8 = runes + "        length_measure: utf8\n"
    by_runes = run_cli("run", str(_config(tmp_path, runes, "runes.yaml")), input=document.encode())
    by_bytes = run_cli("run", str(_config(tmp_path, utf8, "utf8.yaml")), input=document.encode())
    assert [json.loads(line)["chunk"] for line in by_runes.stdout.splitlines()] == ["ééé\nééé"]
    assert [json.loads(line)["chunk"] for line in by_bytes.stdout.splitlines()] == ["ééé", "ééé"]


def test_text_chunker_lint_names_the_extra_when_the_markdown_parser_is_missing(tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['markdown_it'] = None\n")
    config = _config(tmp_path, "        strategy: markdown\n")
    result = run_cli("lint", str(config), env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert "strategy markdown needs the Python package 'markdown-it-py'" in result.stderr
    assert "pip install 'benthic[text]'" in result.stderr
