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
port, configured as golang-commonmark is and with golang-commonmark's typographer replacements.

Where we differ: the ``token`` strategy and ``token`` length measure need tiktoken's BPE files,
which the ``tiktoken`` package downloads from the internet the first time an encoding is used (no
PyPI package ships them); lint refuses both with a message saying so and what to use instead.
golang-commonmark follows CommonMark 0.28 and markdown-it-py 0.31, so markdown at the edges of the
two specifications (and bare addresses that linkify-it and golang-commonmark's linkify judge
differently) can parse differently. Both stop parsing deeper than 20 levels of nesting.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, boolean, enum, integer, string, string_list

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
            "text_chunker strategy markdown needs the Python packages 'markdown-it-py' and "
            "'linkify-it-py': pip install 'benthic[text]'"
        )
    if conf.get("length_measure") == "token":
        errors.append(f"text_chunker length_measure token {_TOKEN_REFUSAL}")
    if conf.get("length_measure") == "graphemes" and not _has_regex():
        errors.append(
            "text_chunker length_measure graphemes needs the Python package 'regex': pip install 'benthic[text]'"
        )
    return errors


SPEC.lint = _lint


def _has_regex() -> bool:
    return importlib.util.find_spec("regex") is not None


# Go's strings.TrimSpace: unicode.IsSpace, which (unlike str.strip) leaves U+001C..U+001F alone
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

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
            chunk = separator.join(current).strip(_GO_SPACE)
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
    chunk = separator.join(current).strip(_GO_SPACE)
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


# --- the markdown strategy ------------------------------------------------------------------------
#
# langchaingo parses the document with golang-commonmark (a Go port of markdown-it) and walks its
# tokens, writing each block back as markdown of its own making. We parse with markdown-it-py, the
# Python port of the same parser, set up as golang-commonmark is by default (GFM tables and
# strikethrough, linkify, typographer, no raw HTML), and walk its tokens the same way.


def _has_markdown_parser() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("markdown_it", "linkify_it"))


_MARKDOWN_PARSER: Any = None


def _markdown_parser() -> Any:
    global _MARKDOWN_PARSER
    if _MARKDOWN_PARSER is None:
        from markdown_it import MarkdownIt  # optional: the "text" extra
        from markdown_it.rules_core.text_join import text_join  # optional, as above

        settings = {"linkify": True, "typographer": True, "html": False, "maxNesting": 20}
        parser = MarkdownIt("default", settings)
        # golang-commonmark stops 20 levels deep (markdown-it-py at 100), keeps \r and NUL as
        # they are, merges escaped characters into the text before linkify and the typographer
        # run, and has tables, typographer replacements and smart quotes of its own
        parser.disable(["normalize", "replacements", "smartquotes", "text_join"])
        parser.core.ruler.after("inline", "join_text_early", text_join)
        parser.core.ruler.after("linkify", "go_replacements", _typographer_replacements)
        parser.core.ruler.after("go_replacements", "go_smartquotes", _smart_quotes)
        parser.block.ruler.at("table", _go_table, {"alt": ["paragraph", "reference"]})
        _MARKDOWN_PARSER = parser
    return _MARKDOWN_PARSER


# golang-commonmark's typographer: (c) (r) (p) (tm), +-, runs of dots, ?!, commas and dashes
_TYPOGRAPHY = re.compile(r"\([cCrRpP]\)|\([tT][mM]\)|\+-|\.{2,}|[?!]{4,}|,{2,}|-{2,}")
_SYMBOLS = {"c": "©", "r": "®", "p": "§", "tm": "™"}


def _typography(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        found = match.group()
        if found[0] == "(":
            return _SYMBOLS[found[1:-1].lower()]
        if found == "+-":
            return "±"
        if found[0] == ".":
            start = match.start()
            return ".." if start > 0 and text[start - 1] in "?!" else "…"
        if found[0] in "?!":
            return found[:3]
        if found[0] == ",":
            return ","
        return {2: "–", 3: "—"}.get(len(found), found)  # four dashes or more stay

    return _TYPOGRAPHY.sub(replace, text)


def _typographer_replacements(state: Any) -> None:
    for block in state.tokens:
        if block.type != "inline":
            continue
        inside_link = False
        for child in block.children or []:
            if child.type == "link_open":
                inside_link = True
            elif child.type == "link_close":
                inside_link = False
            elif child.type == "text" and not inside_link:
                child.content = _typography(child.content)


_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _is_punct(char: str) -> bool:
    return char in _ASCII_PUNCT or unicodedata.category(char).startswith("P")


@dataclass
class _OpenQuote:
    text: list[str]
    pos: int
    single: bool
    level: int


def _neighbour_char(children: list[Any], indices: range, last: bool) -> str:
    """The character next to a quote at the edge of its text, from the nearest text token before
    (``last``) or after it; a line break, or no text at all, counts as a space."""
    for index in indices:
        kind = children[index].type
        if kind in ("softbreak", "hardbreak"):
            break
        if kind == "text":
            content = children[index].content
            return (content[-1] if last else content[0]) if content else "\ufffd"
    return " "


def _smart_quote_run(children: list[Any]) -> None:
    """golang-commonmark's smart quotes for one paragraph's inline tokens. It follows an early
    markdown-it: a quote that is the first or second character of its text looks for the
    character before it in the tokens before (so "I'm" at the start of a paragraph keeps its
    straight apostrophe), only text tokens are looked through, and a quote that could both open
    and close only closes, and only before punctuation."""
    stack: list[_OpenQuote] = []
    texts: dict[int, list[str]] = {}
    for i, token in enumerate(children):
        level = token.level
        while stack and stack[-1].level > level:
            stack.pop()
        if token.type != "text" or ('"' not in token.content and "'" not in token.content):
            continue
        text = texts[i] = list(token.content)
        pos = 0
        while pos < len(text):
            index = next((at for at in range(pos, len(text)) if text[at] in "'\""), -1)
            if index < 0:
                break
            pos = index + 1
            single = text[index] == "'"
            last = text[index - 1] if index > 1 else _neighbour_char(children, range(i - 1, -1, -1), True)
            following = (
                text[pos]
                if pos < len(text)
                else _neighbour_char(children, range(i + 1, len(children)), False)
            )
            last_punct, next_punct = _is_punct(last), _is_punct(following)
            last_space, next_space = last in _GO_SPACE, following in _GO_SPACE
            can_open = not next_space and not (next_punct and not (last_space or last_punct))
            can_close = not last_space and not (last_punct and not (next_space or next_punct))
            if following == '"' and text[index] == '"' and "0" <= last <= "9":
                can_open = can_close = False
            if can_open and can_close:
                can_open, can_close = False, next_punct
            if not can_open and not can_close:
                if single:
                    text[index] = "’"
                continue
            if can_close:
                opener = None
                for depth in range(len(stack) - 1, -1, -1):
                    if stack[depth].level < level:
                        break
                    if stack[depth].single == single and stack[depth].level == level:
                        opener = depth
                        break
                if opener is not None:
                    found = stack[opener]
                    found.text[found.pos] = "‘" if single else "“"
                    text[index] = "’" if single else "”"
                    del stack[opener:]
                    continue
            if can_open:
                stack.append(_OpenQuote(text, index, single, level))
            elif single:
                text[index] = "’"
    for i, chars in texts.items():
        children[i].content = "".join(chars)


def _smart_quotes(state: Any) -> None:
    for block in state.tokens:
        if block.type == "inline":
            _smart_quote_run(block.children or [])


# golang-commonmark's tables predate GFM's later rules: a row needs a "|" (a line without one
# ends the table instead of becoming a row), the header may have fewer cells than the delimiter
# row, a "|" inside backticks does not split cells, and lines are read from the block's indent
_TABLE_DELIMITER = re.compile(r":?-+:?")


def _table_line(state: Any, line: int) -> str:
    start, end = state.bMarks[line] + state.blkIndent, state.eMarks[line]
    return str(state.src[start:end]) if start < end else ""


def _table_cells(row: str) -> list[str]:
    """A row split at each "|" that is neither escaped nor inside a code span; a backtick left
    open at the end of the row does not count."""
    cells: list[str] = []
    pos, last, backslashes, in_code, tick = 0, 0, 0, False, 0
    while pos < len(row):
        char = row[pos]
        if char == "`":
            if in_code:
                in_code, tick = False, pos
            elif backslashes % 2 == 0:
                in_code, tick = True, pos
        elif char == "|" and backslashes % 2 == 0 and not in_code:
            cells.append(row[last:pos])
            last = pos + 1
        backslashes = backslashes + 1 if char == "\\" else 0
        pos += 1
        if pos == len(row) and in_code:
            in_code, pos = False, tick + 1
    cells.append(row[last:])
    return cells


def _strip_pipes(row: str) -> str:
    row = row[1:] if row.startswith("|") else row
    return row[:-1] if row.endswith("|") else row


def _push_row(state: Any, cell_type: str, cells: list[str], count: int, line: int) -> None:
    state.push("tr_open", "tr", 1)
    for index in range(count):
        state.push(f"{cell_type}_open", cell_type, 1)
        inline = state.push("inline", "", 0)
        inline.content = cells[index].strip(_GO_SPACE) if index < len(cells) else ""
        inline.map = [line, line + 1]
        inline.children = []
        state.push(f"{cell_type}_close", cell_type, -1)
    state.push("tr_close", "tr", -1)


def _go_table(state: Any, start_line: int, end_line: int, silent: bool) -> bool:
    if start_line + 2 > end_line:
        return False
    delimiter = start_line + 1
    if not 0 <= state.sCount[delimiter] - state.blkIndent < 4:
        return False
    pos, end = state.bMarks[delimiter] + state.tShift[delimiter], state.eMarks[delimiter]
    if pos >= end or state.src[pos] not in "|-:" or any(c not in "|-: \t" for c in state.src[pos + 1 : end]):
        return False
    parts = _table_line(state, delimiter).split("|")
    columns = 0
    for index, part in enumerate(parts):
        part = part.strip(_GO_SPACE)
        if part == "" and index in (0, len(parts) - 1):
            continue
        if not _TABLE_DELIMITER.fullmatch(part):
            return False
        columns += 1
    header_text = _table_line(state, start_line).strip(_GO_SPACE)
    if "|" not in header_text or state.sCount[start_line] - state.blkIndent >= 4:
        return False
    header = _table_cells(_strip_pipes(header_text))
    if len(header) > columns:
        return False
    if silent:
        return True
    table = state.push("table_open", "table", 1)
    table.map = [start_line, 0]
    state.push("thead_open", "thead", 1)
    _push_row(state, "th", header, len(header), start_line)
    state.push("thead_close", "thead", -1)
    state.push("tbody_open", "tbody", 1)
    line = start_line + 2
    while line < end_line and state.sCount[line] >= state.blkIndent:
        row = _table_line(state, line).strip(_GO_SPACE)
        if "|" not in row or state.sCount[line] - state.blkIndent >= 4:
            break
        _push_row(state, "td", _table_cells(_strip_pipes(row)), len(header), line)
        line += 1
    state.push("tbody_close", "tbody", -1)
    state.push("table_close", "table", -1)
    table.map[1] = line
    state.line = line
    return True


# the block tokens whose extent the walk looks up, by the type that closes them
_CLOSERS = {
    f"{name}_open": f"{name}_close"
    for name in ("heading", "bullet_list", "ordered_list", "paragraph", "blockquote", "list_item")
    + ("table", "thead", "tbody")
}
_CODE_SPACE = re.compile(r"[ \n]+")


def _closing_index(tokens: list[Any], start: int, end: int) -> int:
    """Where the block opened at ``start`` closes (``end`` if it never does; ``start`` if it is
    a token that does not open a block)."""
    opener = tokens[start].type
    closer = _CLOSERS.get(opener)
    if closer is None:
        return start
    depth = 0
    for index in range(start + 1, end):
        kind = tokens[index].type
        if kind == opener:
            depth += 1
        elif kind == closer:
            if depth == 0:
                return index
            depth -= 1
    return end


def _indent_lines(text: str, mark: str) -> str:
    return "\n".join(mark + line for line in text.split("\n"))


def _table_row(cells: list[str]) -> str:
    return "".join(f"| {cell} " for cell in cells) + ("|" if cells else "")


def _table_header(cells: list[str]) -> str:
    return _table_row(cells) + "\n" + _table_row(["---"] * len(cells))


@dataclass
class MarkdownOptions:
    """What langchaingo's markdown splitter is told; upstream sets the first five."""

    chunk_size: int
    chunk_overlap: int
    length: LengthMeasure = rune_length
    code_blocks: bool = False
    reference_links: bool = False
    heading_hierarchy: bool = False
    join_table_rows: bool = False


class _MarkdownWalk:
    """One pass over a range of tokens, gathering chunks. Lists and block quotes are walked by a
    nested walk, which (as upstream's) carries the headings and list state but not the options
    that render code, keep reference links, join table rows or stack headings: inside them those
    behave as their defaults, whatever the configuration says."""

    def __init__(self, tokens: list[Any], start: int, end: int, opts: MarkdownOptions, source: str) -> None:
        self.tokens, self.pos, self.end, self.opts, self.source = tokens, start, end, opts, source
        self.render_code = opts.code_blocks
        self.raw_inline = not opts.reference_links
        self.join_rows = opts.join_table_rows
        self.stack_headings = opts.heading_hierarchy
        self.title = ""
        self.title_stack: list[str] = []
        self.title_emitted = False
        self.ordered = False
        self.bullet = False
        self.item_number = 0
        self.depth = 0
        self.chunks: list[str] = []
        self.snippet = ""

    def nested(self, start: int, end: int) -> _MarkdownWalk:
        walk = _MarkdownWalk(self.tokens, start, end, self.opts, self.source)
        walk.render_code = walk.join_rows = walk.stack_headings = False
        walk.raw_inline = False
        walk.title, walk.title_stack, walk.title_emitted = (
            self.title,
            list(self.title_stack),
            self.title_emitted,
        )
        walk.ordered, walk.bullet, walk.item_number, walk.depth = (
            self.ordered,
            self.bullet,
            self.item_number,
            self.depth,
        )
        return walk

    def run(self) -> list[str]:
        handlers = {
            "heading_open": self.heading,
            "table_open": self.table,
            "paragraph_open": self.paragraph,
            "blockquote_open": self.blockquote,
            "bullet_list_open": self.bullet_list,
            "ordered_list_open": self.ordered_list,
            "list_item_open": self.list_item,
            "code_block": self.code_block,
            "fence": self.fence,
            "hr": self.rule,
        }
        while self.pos < self.end:
            handler = handlers.get(self.tokens[self.pos].type)
            if handler is None:
                self.pos = _closing_index(self.tokens, self.pos, self.end) + 1
            else:
                handler()
        self.flush()
        return self.chunks

    # -- snippets and chunks

    def join(self, piece: str) -> None:
        """Adds a rendered block to the snippet, flushing first if the two would not fit."""
        if self.snippet == "":
            self.snippet = piece
        elif self.opts.length(self.snippet + piece) >= self.opts.chunk_size:
            self.flush()
            self.snippet = piece
        else:
            self.snippet = f"{self.snippet}\n{piece}"

    def flush(self) -> None:
        """Turns the snippet into chunks (split again if too long), headed by the current title."""
        snippet, self.snippet = self.snippet, ""
        pieces: list[str] = []
        if snippet:
            opts = self.opts
            if opts.length(snippet) <= opts.chunk_size + opts.chunk_overlap:
                pieces = [snippet]
            else:
                pieces = split_recursive(
                    snippet, ["\n\n", "\n", " "], opts.chunk_size, opts.chunk_overlap, opts.length
                )
        if not pieces and self.title and not self.title_emitted:
            self.chunks.append(self.title)  # a heading with nothing under it is a chunk of its own
            self.title_emitted = True
            return
        for piece in pieces:
            if piece == "":
                continue
            self.title_emitted = True
            if self.title and self.title not in snippet:
                piece = f"{self.title}\n{piece}"
            self.chunks.append(piece)

    # -- blocks

    def heading(self) -> None:
        close = _closing_index(self.tokens, self.pos, self.end)
        level = int(self.tokens[self.pos].tag[1:])
        inline = self.tokens[self.pos + 1]
        self.pos = close + 1
        if inline.type != "inline":
            return
        self.flush()
        self.title = "#" * level + " " + inline.content
        self.title_stack.extend([""] * (level - len(self.title_stack)))
        if self.stack_headings:
            self.title_stack = self.title_stack[: level - 1] + [self.title]
            self.title = "\n".join(title for title in self.title_stack if title)
        self.title_emitted = False

    def paragraph(self) -> None:
        close = _closing_index(self.tokens, self.pos, self.end)
        inline = self.tokens[self.pos + 1]
        self.pos = close + 1
        if inline.type == "inline":
            self.join(self.render_inline(inline))

    def blockquote(self) -> None:
        close = _closing_index(self.tokens, self.pos, self.end)
        inner = self.nested(self.pos + 1, close)
        inner.title = ""
        self.pos = close + 1
        for chunk in inner.run():
            self.join(_indent_lines(chunk, "> "))
        self.flush()

    def bullet_list(self) -> None:
        self.bullet, self.ordered = True, False
        self.list_block()

    def ordered_list(self) -> None:
        self.ordered, self.bullet = True, False
        self.item_number = 0
        self.list_block()

    def list_block(self) -> None:
        close = _closing_index(self.tokens, self.pos, self.end)
        self.depth += 1
        items = self.nested(self.pos + 1, close)
        self.pos = close + 1
        for chunk in items.run():
            self.join(_indent_lines(chunk, "  ") if items.depth > 1 else chunk)
        self.depth -= 1

    def list_item(self) -> None:
        close = _closing_index(self.tokens, self.pos, self.end)
        self.pos += 1
        # as upstream, the token just before the item's end is never looked at
        while self.pos < close - 1:
            kind = self.tokens[self.pos].type
            if kind == "paragraph_open":
                self.list_paragraph()
            elif kind == "bullet_list_open":
                self.bullet_list()
            elif kind == "ordered_list_open":
                self.ordered_list()
            else:
                self.pos += 1
        self.pos = close + 1
        self.flush()

    def list_paragraph(self) -> None:
        close = _closing_index(self.tokens, self.pos, self.end)
        inline = self.tokens[self.pos + 1]
        self.pos = close + 1
        if inline.type != "inline":
            return
        line = self.render_inline(inline)
        if self.ordered:
            self.item_number += 1
            line = f"{self.item_number}. {line}"
        if self.bullet:
            line = f"- {line}"
        self.join(line)
        self.title = ""

    def table(self) -> None:
        close = _closing_index(self.tokens, self.pos, self.end)
        tokens, at = self.tokens, self.pos + 1
        self.pos = close + 1
        if tokens[at].type != "thead_open":
            return
        header: list[str] = []
        head_close = _closing_index(tokens, at, self.end)
        if tokens[at + 1].type == "tr_open":
            at += 1
            while tokens[at + 1].type == "th_open" and tokens[at + 2].type == "inline":
                header.append(tokens[at + 2].content)
                at += 3
        at = head_close + 1
        rows: list[list[str]] = []
        if tokens[at].type == "tbody_open":
            while tokens[at + 1].type == "tr_open":
                at += 1
                row: list[str] = []
                while tokens[at + 1].type == "td_open" and tokens[at + 2].type == "inline":
                    row.append(tokens[at + 2].content)
                    at += 3
                rows.append(row)
                at += 1
        self.table_rows(header, rows)

    def table_rows(self, header: list[str], rows: list[list[str]]) -> None:
        if not any(header) and rows:  # a table whose header cells are all empty is headed by its first row
            header, rows = rows[0], rows[1:]
        header_md = _table_header(header)
        if not rows:
            self.join(header_md)
            self.flush()
            return
        for row in rows:
            line = _table_row(row)
            if self.snippet == "" or self.opts.length(self.snippet + line) >= self.opts.chunk_size:
                line = f"{header_md}\n{line}"  # a chunk that starts a table repeats its header
            self.join(line)
            if not self.join_rows:
                self.flush()

    def code_block(self) -> None:
        token = self.tokens[self.pos]
        self.pos += 1
        if self.render_code:
            content = token.content
            # golang-commonmark gives no line end to code on the last line of a text that has none
            if token.map and token.map[1] >= _line_count(self.source) and not self.source.endswith("\n"):
                content = content[:-1]
            self.join("\n" + _indent_lines(content, "    "))

    def fence(self) -> None:
        token = self.tokens[self.pos]
        self.pos += 1
        if self.render_code:
            self.join(f"\n```{token.info.strip(_GO_SPACE)}\n{token.content}```\n")

    def rule(self) -> None:
        self.pos += 1
        self.join("\n---")

    # -- inline

    def render_inline(self, inline: Any) -> str:
        children = inline.children or []
        if not children or self.raw_inline:
            return str(inline.content)
        out: list[str] = []
        link: Any = None
        for child in children:
            kind = child.type
            if kind == "softbreak":
                out.append("\n")
            elif kind == "hardbreak":
                out.append("\\\n")
            elif kind in ("strong_open", "strong_close"):
                out.append("**")
            elif kind in ("em_open", "em_close"):
                out.append("*")
            elif kind in ("s_open", "s_close"):
                out.append("~~")
            elif kind in ("text", "html_inline"):
                out.append(child.content)
            elif kind == "code_inline":
                # golang-commonmark follows an older CommonMark: inner runs of spaces and line
                # ends become one space, and the ends are trimmed
                out.append("`" + _CODE_SPACE.sub(" ", child.content).strip(_GO_SPACE) + "`")
            elif kind == "link_open":
                out.append("[")
                link = child
            elif kind == "link_close":
                out.append(_link_end(link))
            elif kind == "image":
                out.append(_image(child))
        return "".join(out)


def _line_count(source: str) -> int:
    return source.count("\n") + (0 if source.endswith("\n") or not source else 1)


def _link_end(link: Any) -> str:
    href = str(link.attrGet("href") or "") if link is not None else ""
    title = str(link.attrGet("title") or "") if link is not None else ""
    if href == "":
        return "]()"
    return f']({href} "{title}")' if title else f"]({href})"


def _image(image: Any) -> str:
    label = "".join(c.content for c in image.children or [] if c.type in ("text", "text_special"))
    src, title = image.attrGet("src") or "", image.attrGet("title") or ""
    return f'![{label}]({src} "{title}")' if title else f"![{label}]({src})"


def split_markdown(text: str, opts: MarkdownOptions) -> list[str]:
    """langchaingo's MarkdownTextSplitter.SplitText."""
    if text == "":
        return []
    tokens = _markdown_parser().parse(text)
    return _MarkdownWalk(tokens, 0, len(tokens), opts, text).run()


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
            _markdown_parser()  # built once, before the first message

    def chunks(self, content: bytes) -> list[str]:
        text = content.decode("utf-8", "surrogateescape")
        if self.markdown is not None:
            return split_markdown(text, self.markdown)
        if not self.separators:  # Go indexes the last separator of an empty list: a panic upstream
            raise ValueError("text_chunker needs at least one separator")
        return split_recursive(text, self.separators, self.chunk_size, self.chunk_overlap, self.length)

    async def process(self, batch: list[Message]) -> list[list[Message]]:
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
