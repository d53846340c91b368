"""The ``text_chunker`` processor's ``markdown`` strategy: langchaingo v0.1.14's
``MarkdownTextSplitter`` over the tokens of golang-commonmark, upstream's markdown parser.

langchaingo parses the document and walks its tokens, writing each block back as markdown of its
own making and gathering the blocks into chunks under their heading (see ``_MarkdownWalk``). We
parse with markdown-it-py: golang-commonmark is a Go port of markdown-it and markdown-it-py a
Python one, so their tokens line up. Where golang-commonmark went its own way, or follows an older
markdown-it, we replace markdown-it-py's rule with golang-commonmark's: line ends, tables, link
destinations and titles, reference definitions, empty headings, fence info strings, linkify (its
own scanner, in ``_go_linkify``), typographer replacements and smart quotes; and we set its options
as golang-commonmark's defaults are (tables, strikethrough, linkify, typographer, no raw HTML,
20 levels of nesting). langchaingo's splitter and these rules were checked against the Go code
(golang-commonmark as upstream pins it) on generated documents.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from processors._go_linkify import GO_SPACE, find_links

LengthMeasure = Callable[[str], int]

_MARKDOWN_PARSER: Any = None


def markdown_parser() -> Any:
    """The parser, built on first use (it needs the "text" extra)."""
    global _MARKDOWN_PARSER
    if _MARKDOWN_PARSER is None:
        from markdown_it import MarkdownIt  # optional: the "text" extra
        from markdown_it.rules_block import fence as fence_rule  # optional, as above
        from markdown_it.rules_block import heading as heading_rule  # optional, as above
        from markdown_it.rules_core.text_join import text_join  # optional, as above

        settings = {"typographer": True, "html": False, "maxNesting": 20}
        parser = MarkdownIt("default", settings)
        # golang-commonmark stops 20 levels deep (markdown-it-py at 100), makes line ends "\n"
        # itself (see markdown_chunks), merges escaped characters into the text before linkify
        # and the typographer run, and has rules of its own for the rest below
        parser.disable(["normalize", "linkify", "replacements", "smartquotes", "text_join"])
        parser.core.ruler.after("inline", "join_text_early", text_join)
        parser.core.ruler.after("join_text_early", "go_linkify", _linkify)
        parser.core.ruler.after("go_linkify", "go_replacements", _typographer_replacements)
        parser.core.ruler.after("go_replacements", "go_smartquotes", _smart_quotes)
        parser.block.ruler.at("table", _go_table, {"alt": ["paragraph", "reference"]})
        parser.block.ruler.at("reference", _go_reference)
        parser.block.ruler.at(
            "heading", _go_heading(heading_rule), {"alt": ["paragraph", "reference", "blockquote"]}
        )
        fence = _go_fence(fence_rule)
        parser.block.ruler.at("fence", fence, {"alt": ["paragraph", "reference", "blockquote", "list"]})
        parser.helpers = _LinkHelpers(parser.helpers)  # type: ignore[assignment]  # duck-typed
        _MARKDOWN_PARSER = parser
    return _MARKDOWN_PARSER


def _link_tokens(state: Any, text: str, level: int) -> list[Any] | None:
    """The text with the addresses golang-commonmark's linkify finds in it made links, or None
    if it finds none. An address without a scheme links to http://, an e-mail one to mailto:."""
    from markdown_it.token import Token  # optional: the "text" extra

    raw = text.encode("utf-8", "surrogateescape")
    links = find_links(raw)
    if not links:
        return None
    md, tokens, last = state.md, [], 0
    for link in links:
        shown = raw[link.start : link.end].decode("utf-8", "surrogateescape")
        prefix = {"": "http://", "mailto:": "mailto:"}.get(link.scheme, "")
        if prefix and shown.startswith(prefix) and link.scheme == "mailto:":
            prefix = ""
        href = md.normalizeLink(prefix + shown)
        if not md.validateLink(href):
            continue
        shown = (
            md.normalizeLinkText(prefix + shown).removeprefix(prefix)
            if prefix
            else md.normalizeLinkText(shown)
        )
        if link.start > last:
            before = raw[last : link.start].decode("utf-8", "surrogateescape")
            tokens.append(Token("text", "", 0, content=before, level=level))
        tokens.append(
            Token("link_open", "a", 1, attrs={"href": href}, level=level, markup="linkify", info="auto")
        )
        tokens.append(Token("text", "", 0, content=shown, level=level + 1))
        tokens.append(Token("link_close", "a", -1, level=level, markup="linkify", info="auto"))
        last = link.end
    if last < len(raw):
        tokens.append(
            Token("text", "", 0, content=raw[last:].decode("utf-8", "surrogateescape"), level=level)
        )
    return tokens


def _linkify(state: Any) -> None:
    """golang-commonmark's linkify rule: text outside links, scanned from the end of each
    paragraph back, has its addresses made links."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children = block.children
        index = len(children) - 1
        while index >= 0:
            token = children[index]
            if token.type == "link_close":  # step back over the link to its opening
                index -= 1
                while children[index].level != token.level and children[index].type != "link_open":
                    index -= 1
            elif token.type == "text":
                replaced = _link_tokens(state, token.content, token.level)
                if replaced is not None:
                    children[index : index + 1] = replaced
            index -= 1


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
            last_space, next_space = last in GO_SPACE, following in GO_SPACE
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
        inline.content = cells[index].strip(GO_SPACE) if index < len(cells) else ""
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
        part = part.strip(GO_SPACE)
        if part == "" and index in (0, len(parts) - 1):
            continue
        if not _TABLE_DELIMITER.fullmatch(part):
            return False
        columns += 1
    header_text = _table_line(state, start_line).strip(GO_SPACE)
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
        row = _table_line(state, line).strip(GO_SPACE)
        if "|" not in row or state.sCount[line] - state.blkIndent >= 4:
            break
        _push_row(state, "td", _table_cells(_strip_pipes(row)), len(header), line)
        line += 1
    state.push("tbody_close", "tbody", -1)
    state.push("table_close", "table", -1)
    table.map[1] = line
    state.line = line
    return True


# golang-commonmark's link destinations and titles follow CommonMark 0.28: "<...>" holds no
# space, parentheses nest without limit, and a title in parentheses may hold "(". It parses
# reference definitions the older way too: the paragraph's lines first, then the definition in
# them (with a slip kept: after dropping a title, it skips spaces in the document, not the lines)


class _Parsed:
    """What markdown-it-py's link rules expect back from a destination or title parser (when it
    is not ``ok``, ``pos`` is where the parser gave up)."""

    __slots__ = ("can_continue", "ok", "pos", "str")

    def __init__(self, ok: bool = False, pos: int = 0, text: str = "") -> None:
        self.ok, self.pos, self.str, self.can_continue = ok, pos, text, False


def _link_destination(text: str, pos: int, end: int) -> _Parsed:
    from markdown_it.common.utils import unescapeAll  # optional: the "text" extra

    start = pos
    if pos < end and text[pos] == "<":
        pos += 1
        while pos < end:
            char = text[pos]
            if char in "\n \t":
                return _Parsed(pos=pos)
            if char == ">":
                return _Parsed(True, pos + 1, unescapeAll(text[start + 1 : pos]))
            pos += 2 if char == "\\" and pos + 1 < end else 1
        return _Parsed(pos=end)
    depth = 0
    while pos < end:
        char = text[pos]
        if char == " " or ord(char) < 0x20 or char == "\x7f":
            break
        if char == "\\" and pos + 1 < end:
            pos += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        pos += 1
    if start == pos or depth:
        return _Parsed(pos=pos)
    return _Parsed(True, pos, unescapeAll(text[start:pos]))


def _link_title(text: str, pos: int, end: int, _previous: Any = None) -> _Parsed:
    from markdown_it.common.utils import unescapeAll  # optional: the "text" extra

    if pos >= end or text[pos] not in "\"'(":
        return _Parsed(pos=pos)
    start, closer = pos, ")" if text[pos] == "(" else text[pos]
    pos += 1
    while pos < end:
        if text[pos] == closer:
            return _Parsed(True, pos + 1, unescapeAll(text[start + 1 : pos]))
        pos += 2 if text[pos] == "\\" and pos + 1 < end else 1
    return _Parsed(pos=end)


def _go_fence(fence: Any) -> Any:
    """markdown-it-py's fence rule, but refusing an info string that holds the fence's marker
    for "~" fences too (golang-commonmark refuses it for both markers)."""

    def rule(state: Any, start_line: int, end_line: int, silent: bool) -> bool:
        pos, end = state.bMarks[start_line] + state.tShift[start_line], state.eMarks[start_line]
        if pos < end and state.src[pos] == "~":
            after = pos
            while after < end and state.src[after] == "~":
                after += 1
            if "~" in state.src[after:end]:
                return False
        return bool(fence(state, start_line, end_line, silent))

    return rule


def _go_heading(heading: Any) -> Any:
    """markdown-it-py's ATX heading rule, less the inline token when golang-commonmark writes
    none: a heading with no text, where only a closing run of "#" could stand in for it."""

    def rule(state: Any, start_line: int, end_line: int, silent: bool) -> bool:
        count = len(state.tokens)
        if not heading(state, start_line, end_line, silent):
            return False
        if not silent:
            src, end = state.src, state.eMarks[start_line]
            pos = state.bMarks[start_line] + state.tShift[start_line]
            while pos < end and src[pos] == "#":
                pos += 1
            while end > pos and src[end - 1] in " \t":
                end -= 1
            closing = end
            while closing > pos and src[closing - 1] == "#":
                closing -= 1
            if closing > pos and src[closing - 1] in " \t":
                end = closing
            if pos >= end and state.tokens[count + 1].type == "inline":
                del state.tokens[count + 1]
        return True

    return rule


class _LinkHelpers:
    """markdown-it-py's ``md.helpers`` with golang-commonmark's destination and title rules."""

    def __init__(self, helpers: Any) -> None:
        self.parseLinkLabel = helpers.parseLinkLabel
        self.parseLinkDestination = _link_destination
        self.parseLinkTitle = _link_title


def _go_reference(state: Any, start_line: int, _end_line: int, silent: bool) -> bool:
    src = state.src
    pos, end = state.bMarks[start_line] + state.tShift[start_line], state.eMarks[start_line]
    if state.sCount[start_line] - state.blkIndent >= 4 or pos >= len(src) or src[pos] != "[":
        return False
    pos += 1
    while pos < end:
        if src[pos] == "]" and src[pos - 1] != "\\":
            if pos + 1 == end or src[pos + 1] != ":":
                return False
            break
        pos += 1
    parent = state.parentType
    state.parentType = "reference"  # left so if this is no definition, as golang-commonmark does
    # The definition is read from the lines of its whole paragraph. A definition rarely needs more
    # than its first lines, so they are read in a window that grows until the reading stays
    # clear of its last line: the same answer, without going through a long run of definitions
    # once for each.
    window = 4
    while True:
        stop, whole = _paragraph_stop(state, start_line, window)
        text = state.getLines(start_line, stop, state.blkIndent, False).strip(GO_SPACE)
        definition, reach = _definition(state, text)
        if whole or reach <= text.rfind("\n"):
            break
        window *= 2
    if definition is None:
        return False
    if silent:
        return True
    label, href, title, lines = definition
    references = state.env.setdefault("references", {})
    references.setdefault(label, {"title": title, "href": href, "map": [start_line, start_line + lines + 1]})
    state.parentType = parent
    state.line = start_line + lines + 1
    return True


def _paragraph_stop(state: Any, start_line: int, window: int) -> tuple[int, bool]:
    """The line that ends the paragraph a definition opens at ``start_line`` (an empty line, or
    one another block starts on), looked for within ``window`` lines; and whether it was found."""
    terminators = state.md.block.ruler.getRules("reference")
    line, last = start_line + 1, state.lineMax
    bound = min(last, start_line + window)
    while line < bound:
        if state.isEmpty(line):
            return line, True
        if state.sCount[line] - state.blkIndent <= 3 and state.sCount[line] >= 0:
            if any(rule(state, line, last, True) for rule in terminators):
                return line, True
        line += 1
    return line, bound == last


def _definition(state: Any, text: str) -> tuple[tuple[str, str, str, int] | None, int]:
    """golang-commonmark's reading of a reference definition from its paragraph's lines: the
    label, address, title and the count of lines it takes past the first (or None), and the
    furthest index of ``text`` it looked at."""
    size, lines, label_end = len(text), 0, 0
    pos = 1
    while pos < size:
        char = text[pos]
        if char == "[":
            return None, pos
        if char == "]":
            label_end = pos
            break
        if char == "\n":
            lines += 1
        elif char == "\\":
            pos += 1
            if pos < size and text[pos] == "\n":
                lines += 1
        pos += 1
    reach = max(pos, label_end + 1)
    if label_end <= 0 or label_end + 1 >= size or text[label_end + 1] != ":":
        return None, reach
    pos = label_end + 2
    while pos < size and text[pos] in "\n \t":
        lines += text[pos] == "\n"
        pos += 1
    destination = _link_destination(text, pos, size)
    reach = max(reach, destination.pos)
    if not destination.ok:
        return None, reach
    href = state.md.normalizeLink(destination.str)
    if not state.md.validateLink(href):
        return None, reach
    pos = destination_end = destination.pos
    lines_at_destination = lines
    start = pos
    while pos < size and text[pos] in "\n \t":
        lines += text[pos] == "\n"
        pos += 1
    title = _link_title(text, pos, size)
    reach = max(reach, pos, title.pos)
    title_text = title.str
    if pos < size and start != pos and title.ok:
        pos = title.pos
    else:
        pos, lines = destination_end, lines_at_destination
    while pos < size and text[pos] in " \t":
        pos += 1
    reach = max(reach, pos)
    if pos < size and text[pos] != "\n" and title_text:
        # golang-commonmark skips the spaces at this byte offset of the document, not of the
        # definition's lines: done in bytes here to land where it does
        title_text, lines = "", lines_at_destination
        lines_raw = text.encode("utf-8", "surrogateescape")
        src_raw = state.src[: len(lines_raw)].encode("utf-8", "surrogateescape")
        at = len(text[:destination_end].encode("utf-8", "surrogateescape"))
        while at < len(lines_raw) and src_raw[at] in b" \t":
            at += 1
        reach = max(reach, len(lines_raw[: at + 1].decode("utf-8", "surrogateescape")))
        if at < len(lines_raw) and lines_raw[at] != 0x0A:
            return None, reach
    elif pos < size and text[pos] != "\n":
        return None, reach
    label = _reference_label(text[1:label_end])
    if not label:
        return None, reach
    return (label, href, title_text, lines), reach


def _reference_label(label: str) -> str:
    from markdown_it.common.utils import normalizeReference  # optional: the "text" extra

    return str(normalizeReference(label))


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
    length: LengthMeasure = len  # code points
    code_blocks: bool = False
    reference_links: bool = False
    heading_hierarchy: bool = False
    join_table_rows: bool = False


class _MarkdownWalk:
    """One pass over a range of tokens, gathering chunks. Lists and block quotes are walked by a
    nested walk, which (as upstream's) carries the headings and list state but not the options
    that render code, keep reference links, join table rows or stack headings: inside them those
    behave as their defaults, whatever the configuration says."""

    def __init__(
        self,
        tokens: list[Any],
        start: int,
        end: int,
        opts: MarkdownOptions,
        source: str,
        resplit: Callable[[str], list[str]],
    ) -> None:
        self.tokens, self.pos, self.end, self.opts, self.source = tokens, start, end, opts, source
        self.resplit = resplit
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
        walk = _MarkdownWalk(self.tokens, start, end, self.opts, self.source, self.resplit)
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
                pieces = self.resplit(snippet)
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
            self.join(f"\n```{token.info.strip(GO_SPACE)}\n{token.content}```\n")

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
                out.append("`" + _CODE_SPACE.sub(" ", child.content).strip(GO_SPACE) + "`")
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


def markdown_chunks(text: str, opts: MarkdownOptions, resplit: Callable[[str], list[str]]) -> list[str]:
    """langchaingo's MarkdownTextSplitter.SplitText; ``resplit`` splits a chunk still too long."""
    if text == "":
        return []
    # golang-commonmark reads CR LF and a lone CR as line ends (and leaves NUL be, where
    # markdown-it-py's own normalising would replace it)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    tokens = markdown_parser().parse(text)
    return _MarkdownWalk(tokens, 0, len(tokens), opts, text, resplit).run()
