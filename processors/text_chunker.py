"""The ``text_chunker`` processor: a text message split into chunks, one message per chunk.

As upstream (``internal/impl/text/text_chunker_processor.go``, which hands the work to langchaingo
v0.1.14's ``textsplitter``): the ``recursive_character`` strategy splits on the first separator
that occurs in the text (the empty separator splits into characters), merges neighbouring pieces
into chunks no longer than ``chunk_size`` joined by that separator, with up to ``chunk_overlap``
of the previous chunk carried into the next, and splits a piece still too long with the remaining
separators. Each chunk is trimmed of Go's white space, and empty chunks are dropped. The length of
a piece is measured in UTF-8 bytes, code points (the default) or grapheme clusters. Metadata is
kept on every chunk.

The ``markdown`` strategy (langchaingo's ``MarkdownTextSplitter``) parses the document and writes
each block back as markdown of its own: a heading starts a new chunk and heads every chunk under
it (a heading with nothing under it before the next is a chunk by itself); paragraphs, list items
and table rows are gathered into chunks while they fit, with each table row a chunk of its own
under the table's header; list items are written ``- `` or ``1. ``, nested lists indented by two
spaces, block quotes prefixed ``> ``, a thematic break as ``---``; code blocks are left out unless
``include_code_blocks``; a gathered chunk longer than ``chunk_size + chunk_overlap`` is split again
as ``recursive_character`` does with the separators paragraph, line, space. Paragraphs are kept
as written unless ``keep_reference_links``, which writes them from their parse (links resolved,
emphasis as ``*``/``**``); inside lists and block quotes they are always written from their parse,
with golang-commonmark's typographer (smart quotes, dashes, ellipses) and linkify applied. Upstream
parses with golang-commonmark, a Go port of markdown-it; we parse with markdown-it-py, the Python
port, with golang-commonmark's own rules put in where it differs (``_markdown_chunks``).

Where we differ: the ``token`` strategy and ``token`` length measure need tiktoken's BPE files,
which the ``tiktoken`` package downloads from the internet the first time an encoding is used (no
PyPI package ships them); lint refuses both with a message saying so and what to use instead.
golang-commonmark follows CommonMark 0.28 and markdown-it-py 0.31, so markdown at the edges of the
two specifications can parse differently: lines in a block quote indented by a tab or by five
spaces or more after the ">" are the one case the generated documents the port was checked with
found.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, boolean, enum, integer, string, string_list
from pipeline.workers import run_off_loop
from processors._go_linkify import GO_SPACE
from processors._markdown_chunks import MarkdownOptions, markdown_chunks, markdown_parser

SPEC = ComponentSpec(
    "text_chunker",
    "processor",
    summary=(
        "Cuts a long text into overlapping pieces of bounded length, one message each: the usual "
        "first step before computing embeddings of a large document."
    ),
    description="Splits the text of a message into chunks, one message per chunk.",
    categories=("AI",),
    fields=[
        enum(
            "strategy",
            ("recursive_character", "markdown", "token"),
            "`recursive_character` splits text recursively by the `separators`; `markdown` by "
            "markdown headings and blocks; `token` (refused) by tokens.",
        ),
        integer("chunk_size", "The longest a chunk may be, in the unit of `length_measure`.", default=512),
        integer(
            "chunk_overlap",
            "How much of the end of one chunk is repeated at the start of the next.",
            default=100,
        ),
        string_list(
            "separators",
            "Where the text may be cut, tried in order: the first one the text holds is used, and a piece still too long is cut again with the ones after it.",
            default=["\n\n", "\n", " ", ""],
        ),
        enum(
            "length_measure",
            ("utf8", "runes", "token", "graphemes"),
            "The method for measuring the length of a string: UTF-8 bytes, code points, tokens "
            "(refused) or Unicode grapheme clusters.",
            default="runes",
        ),
        string(
            "token_encoding",
            "The tokenizer's vocabulary, for the `token` strategy and measure.",
            optional=True,
            advanced=True,
            examples=("cl100k_base", "r50k_base"),
        ),
        string_list(
            "allowed_special",
            "Special tokens that may appear in a chunk (for `token`).",
            default=[],
            advanced=True,
        ),
        string_list(
            "disallowed_special",
            "Special tokens that may not appear in a chunk (for `token`).",
            default=["all"],
            advanced=True,
        ),
        boolean(
            "include_code_blocks",
            "For `markdown`: put indented and fenced code blocks in the chunks instead of leaving them out.",
            default=False,
        ),
        boolean(
            "keep_reference_links",
            "For `markdown`: write paragraphs from their parse, so that reference-style links come out "
            "resolved to `[text](url)`, instead of as they were written.",
            default=False,
        ),
    ],
)

_TOKEN_REFUSAL = (
    "needs tiktoken's BPE encodings, which are downloaded from the internet at run time and "
    "are not available to benthic; use length_measure runes, utf8 or graphemes with the "
    "recursive_character strategy instead"
)


def _lint(conf: Any) -> list[str]:
    errors = []
    if conf.get("strategy") == "token":
        errors.append(f"text_chunker strategy token {_TOKEN_REFUSAL}")
    if conf.get("strategy") == "markdown" and not _has_markdown_parser():
        errors.append(
            "text_chunker strategy markdown needs the Python package 'markdown-it-py': pip install 'benthic[text]'"
        )
    if conf.get("length_measure") == "token":
        errors.append(f"text_chunker length_measure token {_TOKEN_REFUSAL}")
    if conf.get("length_measure") == "graphemes" and not _has_regex():
        errors.append(
            "text_chunker length_measure graphemes needs the Python package 'regex': pip install 'benthic[text]'"
        )
    return errors


SPEC.lint = _lint


def _has_markdown_parser() -> bool:
    return importlib.util.find_spec("markdown_it") is not None


def _has_regex() -> bool:
    return importlib.util.find_spec("regex") is not None


LengthMeasure = Callable[[str], int]


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def rune_length(text: str) -> int:
    return len(text)  # a byte that is no UTF-8 is one rune to Go, one escaped surrogate here


def grapheme_length(text: str) -> int:
    import regex  # optional: the "text" extra

    return len(regex.findall(r"\X", text))


LENGTH_MEASURES: dict[str, LengthMeasure] = {
    "utf8": utf8_length,
    "runes": rune_length,
    "graphemes": grapheme_length,
}


def _go_split(text: str, separator: str) -> list[str]:
    return list(text) if separator == "" else text.split(separator)


def merge_splits(
    splits: list[str], separator: str, chunk_size: int, overlap: int, length: LengthMeasure
) -> list[str]:
    """Pieces joined by ``separator`` into chunks of at most ``chunk_size`` where possible."""
    chunks: list[str] = []
    current: list[str] = []
    total = 0
    sep_len = length(separator)
    for split in splits:
        split_len = length(split)
        if current and total + split_len + sep_len > chunk_size:
            chunk = separator.join(current).strip(GO_SPACE)
            if chunk:
                chunks.append(chunk)
            # drop pieces from the front until what is left fits as overlap and leaves room
            while current and (
                total > overlap
                or (total + split_len + (sep_len if len(current) > 1 else 0) > chunk_size and total > 0)
            ):
                total -= length(current[0])
                if len(current) > 1:
                    total -= sep_len
                current = current[1:]
        current.append(split)
        total += split_len
        if len(current) > 1:
            total += sep_len
    chunk = separator.join(current).strip(GO_SPACE)
    if chunk:
        chunks.append(chunk)
    return chunks


def split_recursive(
    text: str, separators: list[str], chunk_size: int, overlap: int, length: LengthMeasure = rune_length
) -> list[str]:
    """langchaingo's RecursiveCharacter.SplitText (KeepSeparator off, as upstream uses it)."""
    separator, rest = separators[-1], []
    for i, candidate in enumerate(separators):
        if candidate == "" or candidate in text:
            separator, rest = candidate, separators[i + 1 :]
            break
    chunks: list[str] = []
    good: list[str] = []
    for split in _go_split(text, separator):
        if length(split) < chunk_size:
            good.append(split)
            continue
        if good:
            chunks.extend(merge_splits(good, separator, chunk_size, overlap, length))
            good = []
        if rest:
            chunks.extend(split_recursive(split, rest, chunk_size, overlap, length))
        else:
            chunks.append(split)
    if good:
        chunks.extend(merge_splits(good, separator, chunk_size, overlap, length))
    return chunks


def split_markdown(text: str, opts: MarkdownOptions) -> list[str]:
    """The markdown strategy: a chunk still too long is split as ``recursive_character`` does,
    at paragraphs, lines and spaces."""
    return markdown_chunks(
        text,
        opts,
        lambda snippet: split_recursive(
            snippet, ["\n\n", "\n", " "], opts.chunk_size, opts.chunk_overlap, opts.length
        ),
    )


class TextChunker:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        self.chunk_size = int(conf["chunk_size"])
        self.chunk_overlap = int(conf["chunk_overlap"])
        self.separators = [str(s) for s in conf["separators"]]
        self.length = LENGTH_MEASURES[str(conf["length_measure"])]
        self.markdown: MarkdownOptions | None = None
        if conf["strategy"] == "markdown":
            self.markdown = MarkdownOptions(
                self.chunk_size,
                self.chunk_overlap,
                self.length,
                code_blocks=bool(conf["include_code_blocks"]),
                reference_links=bool(conf["keep_reference_links"]),
            )
            markdown_parser()  # built once, before the first message

    def chunks(self, content: bytes) -> list[str]:
        text = content.decode("utf-8", "surrogateescape")
        if self.markdown is not None:
            return split_markdown(text, self.markdown)
        if not self.separators:  # Go indexes the last separator of an empty list: a panic upstream
            raise ValueError("text_chunker needs at least one separator")
        return split_recursive(text, self.separators, self.chunk_size, self.chunk_overlap, self.length)

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        # splitting a large or hostile document can take seconds (markdown parsing is per
        # character): off the loop, so other clients and the service endpoints are not stalled
        return await run_off_loop(self._split_batch, batch)

    def _split_batch(self, batch: list[Message]) -> list[list[Message]]:
        out = []
        for msg in batch:
            for chunk in self.chunks(msg.content):
                new = msg.copy()
                new.content = chunk.encode("utf-8", "surrogateescape")
                out.append(new)
        return [out]

    async def close(self) -> None:
        return None


register_processor(SPEC, TextChunker)
