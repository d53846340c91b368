"""Bloblang source → AST (Lark LALR parser with a contextual lexer, and a Transformer)."""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path as _FsPath
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.lexer import TerminalDef

from mapping_lang.errors import MappingError

MAX_NESTING = 200

# ---------------------------------------------------------------------------------------------
# AST


class Node:
    __slots__ = ("line", "column")


@dataclass(eq=False)
class Literal(Node):
    value: Any
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class ArrayLit(Node):
    items: list[Any]
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class ObjectLit(Node):
    pairs: list[tuple[Any, Any]]
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class Path(Node):
    """A field path: ``base`` is "this", "root", "label" (a lambda name) or "expr" (``target``)."""

    base: str
    segments: list[str]
    label: str | None = None
    target: Any = None
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class MetaRef(Node):
    key: str | None
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class VarRef(Node):
    name: str
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class Call(Node):
    """A function call (``target`` None) or a method call on ``target``."""

    name: str
    args: list[Any]
    named: dict[str, Any] | None
    target: Any = None
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class Capture(Node):
    target: Any
    query: Any
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class Lambda(Node):
    name: str
    body: Any
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class BinOp(Node):
    op: str
    left: Any
    right: Any
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class Unary(Node):
    op: str  # "-" | "!"
    operand: Any
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class IfExpr(Node):
    branches: list[tuple[Any, Any]]  # (condition, expression)
    otherwise: Any  # expression or None
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class Match(Node):
    subject: Any  # expression or None
    cases: list[tuple[Any, Any]]  # (pattern or None for `_`, result)
    line: int = 0
    column: int = 0


# statements


@dataclass(eq=False)
class Assign(Node):
    kind: str  # "root" | "meta" | "let"
    path: list[str] | str | None  # root: segments; meta: key or None; let: name
    value: Any
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class IfStmt(Node):
    branches: list[tuple[Any, list[Any]]]
    otherwise: list[Any] | None
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class MapDef(Node):
    name: str
    body: list[Any]
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class Program:
    statements: list[Any]
    maps: dict[str, MapDef] = field(default_factory=dict)


# intermediate (parse-only) shapes


@dataclass(eq=False)
class _Block:
    statements: list[Any]
    line: int
    column: int


@dataclass(eq=False)
class _RawIf(Node):
    branches: list[tuple[Any, _Block]]
    otherwise: _Block | None
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class _ExprStmt(Node):
    expr: Any
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class _Import(Node):
    path: str
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class _From(Node):
    path: str
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class _Named:
    name: str
    value: Any
    line: int
    column: int


# ---------------------------------------------------------------------------------------------
# strings

_GO_ESCAPE = re.compile(
    r"\\(?:([abfnrtv\\\"])|x([0-9A-Fa-f]{2})|([0-7]{3})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))"
)
_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


def unquote(lexeme: str) -> str:
    """Go ``strconv.Unquote`` of a double-quoted string; raises ``ValueError``."""
    body = lexeme[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    raw_bytes: list[int] = []
    pos = 0
    n = len(body)

    def flush() -> None:
        if raw_bytes:
            out.append(bytes(raw_bytes).decode("utf-8", errors="replace"))
            raw_bytes.clear()

    while pos < n:
        i = body.find("\\", pos)
        if i < 0:
            flush()
            out.append(body[pos:])
            break
        if i > pos:
            flush()
            out.append(body[pos:i])
        m = _GO_ESCAPE.match(body, i)
        if m is None:
            raise ValueError("invalid syntax")
        simple, hx, octal, u4, u8 = m.groups()
        if simple is not None:
            flush()
            out.append(_SIMPLE[simple])
        elif hx is not None:
            raw_bytes.append(int(hx, 16))
        elif octal is not None:
            v = int(octal, 8)
            if v > 255:
                raise ValueError("invalid syntax")
            raw_bytes.append(v)
        else:
            cp = int(u4 or u8, 16)
            if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                cp = 0xFFFD
            flush()
            out.append(chr(cp))
        pos = m.end()
    flush()
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# the lark parser


class NewlineFilter:
    """Drop layout line breaks (see grammar.lark) and bound bracket nesting."""

    always_accept = ("_NL",)

    def __init__(self) -> None:
        self.drop_after: set[str] = set()
        self.open_paren: set[str] = set()
        self.open_brace: set[str] = set()
        self.close: set[str] = set()
        self.spaced: set[str] = set()

    def configure(self, terminals: Collection[TerminalDef]) -> None:
        by_pattern = {t.pattern.value: t.name for t in terminals if t.pattern.type == "str"}

        def names(*pats: str) -> set[str]:
            return {by_pattern[p] for p in pats if p in by_pattern}

        self.open_paren = names("(", "[")
        self.open_brace = names("{")
        self.close = names(")", "]", "}")
        self.drop_after = names("(", "[", "{", ",", ":", ".", "-", "!", "->", "=>", "=") | {
            "LOGIC_OP",
            "COMPARE_OP",
            "ADD_OP",
            "PRODUCT_OP",
        }
        # `=` of a statement and a lambda's `->` need a space or tab on both sides upstream
        self.spaced = names("=", "->")

    text = ""  # the source being parsed (set under _parse_lock)

    def process(self, stream: Any) -> Any:
        # The contextual lexer lexes each token in the parser state left by the previous one, so
        # this filter must not buffer tokens: it decides on a line break from what came before
        # it and by peeking at the raw text that follows it.
        stack: list[str] = []
        prev: str | None = None
        open_paren, open_brace, close = self.open_paren, self.open_brace, self.close
        drop_after = self.drop_after
        spaced = self.spaced
        text = self.text
        peek = _NEXT_SIGNIFICANT.match
        for tok in stream:
            t = tok.type
            if t in spaced:
                _require_spaces(text, tok)
            if t == "_NL":
                if prev is None or prev == "_NL" or prev in drop_after or (stack and stack[-1] == "("):
                    continue
                m = peek(text, tok.end_pos)
                if m is not None and (m.group(1) or m.end() >= len(text)):
                    continue
                prev = t
                yield tok
                continue
            if t in open_paren:
                stack.append("(")
                if len(stack) > MAX_NESTING:
                    raise _err("maximum nesting depth exceeded", tok.line, tok.column)
            elif t in open_brace:
                stack.append("{")
                if len(stack) > MAX_NESTING:
                    raise _err("maximum nesting depth exceeded", tok.line, tok.column)
            elif t in close and stack:
                stack.pop()
            prev = t
            yield tok


def _require_spaces(text: str, tok: Any) -> None:
    start, end = tok.start_pos, tok.end_pos
    if start > 0 and text[start - 1] not in " \t":
        raise _err("expected whitespace", tok.line, tok.column)
    if end < len(text) and text[end] not in " \t":
        raise _err("expected whitespace", tok.end_line, tok.end_column)


# after a line break: skip blank space, comments and further line breaks; group 1 is set when the
# next significant text makes the break mere layout (a closing bracket, `else`, a comma).
_NEXT_SIGNIFICANT = re.compile(r"(?:[ \t\r\n]|#[^\n]*)*([)\]},]|else(?![A-Za-z0-9_]))?")


_GRAMMAR = (_FsPath(__file__).parent / "grammar.lark").read_text()
_postlex = NewlineFilter()
_parse_lock = threading.Lock()


def _pos(meta_or_tok: Any) -> tuple[int, int]:
    line = getattr(meta_or_tok, "line", None) or 0
    col = getattr(meta_or_tok, "column", None) or 0
    return line, col


def _reject_leading_digits(tok: Any) -> None:
    """Go reads digits at the start of a term as a number literal (``1e3`` is ``1`` then ``e3``,
    ``0x10`` is ``0`` then ``x10``), so a bare name may not start with a digit."""
    text = str(tok)
    if not text[:1].isdigit():
        return
    n = len(text) - len(text.lstrip("0123456789"))
    raise _err(f"expected line break, got: {text[n:]}", tok.line, tok.column + n)


def _err(msg: str, line: int, col: int) -> MappingError:
    return MappingError(f"line {line} char {col}: {msg}", line, col)


_INT64_MAX = (1 << 63) - 1


@v_args(meta=True)
class ToAst(Transformer):
    """Parse tree → AST nodes."""

    def __init__(self) -> None:
        super().__init__()
        # bare names that start with a digit, pending until known not to be assignment targets
        self.digit_names: dict[int, tuple[Path, MappingError]] = {}  # the path is kept alive for its id

    # --- statements ------------------------------------------------------------------------

    def start(self, meta: Any, children: list[Any]) -> list[Any]:
        return children[0] if children else []

    def body(self, meta: Any, children: list[Any]) -> list[Any]:
        return list(children)

    def block(self, meta: Any, children: list[Any]) -> _Block:
        line, col = _pos(meta)
        return _Block(children[0] if children else [], line, col)

    def expression_stmt(self, meta: Any, children: list[Any]) -> _ExprStmt:
        line, col = _pos(meta)
        return _ExprStmt(children[0], line, col)

    def assignment(self, meta: Any, children: list[Any]) -> Assign:
        target, value = children
        line, col = _pos(meta)
        self.digit_names.pop(id(target), None)
        segs = _target_path(target)
        if segs is None:
            raise _err("expected import, map, or assignment", line, col)
        if segs and segs[0] == "root":
            return Assign("root", segs[1:], value, line, col)
        return Assign("root", segs, value, line, col)

    def let_stmt(self, meta: Any, children: list[Any]) -> Assign:
        name_tok, value = children
        line, col = _pos(meta)
        return Assign("let", _name_of(name_tok), value, line, col)

    def meta_stmt(self, meta: Any, children: list[Any]) -> Assign:
        line, col = _pos(meta)
        if len(children) == 1:
            return Assign("meta", None, children[0], line, col)
        return Assign("meta", _name_of(children[0]), children[1], line, col)

    def map_def(self, meta: Any, children: list[Any]) -> MapDef:
        name_tok, block = children
        line, col = _pos(meta)
        body = [_statement(s, in_map=True) for s in block.statements]
        return MapDef(_name_of(name_tok), body, line, col)

    def import_stmt(self, meta: Any, children: list[Any]) -> _Import:
        line, col = _pos(meta)
        return _Import(_string(children[0]), line, col)

    def from_import(self, meta: Any, children: list[Any]) -> _From:
        line, col = _pos(meta)
        return _From(_string(children[0]), line, col)

    # --- operators -------------------------------------------------------------------------

    def _binop(self, meta: Any, children: list[Any]) -> BinOp:
        left, op, right = children
        return BinOp(str(op), left, right, op.line, op.column)

    logical = comparison = sum = product = _binop

    def subtract(self, meta: Any, children: list[Any]) -> BinOp:
        left, right = children
        line, col = _pos(meta)
        return BinOp("-", left, right, line, col)

    def negate(self, meta: Any, children: list[Any]) -> Any:
        (x,) = children
        line, col = _pos(meta)
        if isinstance(x, Literal) and type(x.value) in (int, float) and not isinstance(x.value, bool):
            v = 0 - x.value  # Go subtracts from int 0: -0.0 becomes 0.0
            if type(v) is int and v > _INT64_MAX:
                v = v - (1 << 64)
            return Literal(v, line, col)
        return Unary("-", x, line, col)

    def not_op(self, meta: Any, children: list[Any]) -> Unary:
        line, col = _pos(meta)
        return Unary("!", children[0], line, col)

    def lambda_(self, meta: Any, children: list[Any]) -> Lambda:
        name, body = children
        line, col = _pos(meta)
        if str(name) in ("this", "root"):
            raise _err(f"context label '{name}' is not allowed", name.line, name.column)
        if isinstance(body, Lambda):
            raise _err("cannot name a context twice", body.line, body.column)
        return Lambda(str(name), body, line, col)

    # --- tails -----------------------------------------------------------------------------

    def method_call(self, meta: Any, children: list[Any]) -> Call:
        target, name, (args, named) = children
        return Call(str(name), args, named, target, name.line, name.column)

    def field_access(self, meta: Any, children: list[Any]) -> Path:
        target, seg = children
        line, col = _pos(meta)
        if isinstance(target, Path):
            return Path(
                target.base, target.segments + [seg], target.label, target.target, target.line, target.column
            )
        return Path("expr", [seg], None, target, line, col)

    def path_segment(self, meta: Any, children: list[Any]) -> str:
        tok = children[0]
        if tok.type == "STRING":
            return _string(tok)
        return str(tok)

    def context_capture(self, meta: Any, children: list[Any]) -> Capture:
        target, query = children
        line, col = _pos(meta)
        return Capture(target, query, line, col)

    # --- primaries -------------------------------------------------------------------------

    def function_call(self, meta: Any, children: list[Any]) -> Call:
        name, (args, named) = children
        _reject_leading_digits(name)
        return Call(str(name), args, named, None, name.line, name.column)

    def arguments(self, meta: Any, children: list[Any]) -> tuple[list[Any], dict[str, Any] | None]:
        positional = [c for c in children if not isinstance(c, _Named)]
        named_list = [c for c in children if isinstance(c, _Named)]
        if positional and named_list:
            first = named_list[0]
            raise _err("cannot mix named and nameless arguments", first.line, first.column)
        if named_list:
            named: dict[str, Any] = {}
            for n in named_list:
                if n.name in named:
                    raise _err(f"duplicate named argument: {n.name}", n.line, n.column)
                named[n.name] = n.value
            return [], named
        return positional, None

    def named_argument(self, meta: Any, children: list[Any]) -> _Named:
        name, value = children
        return _Named(str(name), value, name.line, name.column)

    def meta_ref(self, meta: Any, children: list[Any]) -> MetaRef:
        tok = children[0]
        key = str(tok)[1:]
        return MetaRef(key or None, tok.line, tok.column)

    def meta_ref_quoted(self, meta: Any, children: list[Any]) -> MetaRef:
        tok = children[0]
        return MetaRef(
            _string(Token("STRING", str(tok)[1:], line=tok.line, column=tok.column)), tok.line, tok.column
        )

    def var_ref(self, meta: Any, children: list[Any]) -> VarRef:
        tok = children[0]
        return VarRef(str(tok)[1:], tok.line, tok.column)

    def this_ref(self, meta: Any, children: list[Any]) -> Path:
        line, col = _pos(meta)
        return Path("this", [], None, None, line, col)

    def root_ref(self, meta: Any, children: list[Any]) -> Path:
        line, col = _pos(meta)
        return Path("root", [], None, None, line, col)

    def bare_ident(self, meta: Any, children: list[Any]) -> Path:
        tok = children[0]
        path = Path("bare", [str(tok)], None, None, tok.line, tok.column)
        try:
            _reject_leading_digits(tok)
        except MappingError as err:
            self.digit_names[id(path)] = (path, err)
        # resolved against lambda names by the compiler ("label" base)
        return path

    def if_expr(self, meta: Any, children: list[Any]) -> _RawIf:
        line, col = _pos(meta)
        cond, block = children[0], children[1]
        branches = [(cond, block)]
        otherwise = None
        for c in children[2:]:
            if isinstance(c, tuple):
                branches.append(c)
            else:
                otherwise = c
        return _RawIf(branches, otherwise, line, col)

    def else_if(self, meta: Any, children: list[Any]) -> tuple[Any, _Block]:
        return (children[0], children[1])

    def else_branch(self, meta: Any, children: list[Any]) -> _Block:
        return children[0]

    def match_expr(self, meta: Any, children: list[Any]) -> Match:
        line, col = _pos(meta)
        if len(children) == 2:
            return Match(children[0], children[1], line, col)
        return Match(None, children[0], line, col)

    def match_empty(self, meta: Any, children: list[Any]) -> Match:
        # no cases: never matches. Without a subject `match {}` reads `{}` as the subject, like
        # upstream, and then misses its block.
        line, col = _pos(meta)
        return Match(children[0], [], line, col)

    def match_cases(self, meta: Any, children: list[Any]) -> list[Any]:
        return list(children)

    def match_case(self, meta: Any, children: list[Any]) -> tuple[Any, Any]:
        pattern, result = children
        if isinstance(pattern, Path) and pattern.base == "bare" and pattern.segments == ["_"]:
            pattern = None
        return (pattern, _expr(result))

    # --- literals --------------------------------------------------------------------------

    def number(self, meta: Any, children: list[Any]) -> Literal:
        tok = children[0]
        s = str(tok)
        if "." in s:
            return Literal(float(s), tok.line, tok.column)
        v = int(s)
        if v > _INT64_MAX:  # Go parses the digits without the sign: -9223372036854775808 fails too
            msg = f'strconv.ParseInt: parsing "{s}": value out of range'
            raise _err(f"failed to parse '{s}' as integer: {msg}", tok.line, tok.column)
        return Literal(v, tok.line, tok.column)

    def string(self, meta: Any, children: list[Any]) -> Literal:
        tok = children[0]
        return Literal(_string(tok), tok.line, tok.column)

    def raw_string(self, meta: Any, children: list[Any]) -> Literal:
        tok = children[0]
        return Literal(str(tok)[3:-3], tok.line, tok.column)

    def true(self, meta: Any, children: list[Any]) -> Literal:
        return Literal(True, *_pos(meta))

    def false(self, meta: Any, children: list[Any]) -> Literal:
        return Literal(False, *_pos(meta))

    def null(self, meta: Any, children: list[Any]) -> Literal:
        return Literal(None, *_pos(meta))

    def array(self, meta: Any, children: list[Any]) -> ArrayLit:
        return ArrayLit([_expr(c) for c in children], *_pos(meta))

    def object(self, meta: Any, children: list[Any]) -> ObjectLit:
        return ObjectLit(list(children), *_pos(meta))

    def key_value(self, meta: Any, children: list[Any]) -> tuple[Any, Any]:
        key, value = children
        if isinstance(key, Literal) and not isinstance(key.value, str):
            tn = {bool: "bool", int: "int64", float: "float64", type(None): "null"}.get(
                type(key.value), "value"
            )
            raise _err(f"object keys must be strings, received: {tn}", key.line, key.column)
        return (_expr(key), _expr(value))


# `lambda` is a Python keyword: Lark looks the callback up by rule name.
setattr(ToAst, "lambda", ToAst.lambda_)


def _name_of(tok: Token) -> str:
    return _string(tok) if tok.type == "STRING" else str(tok)


def _string(tok: Token) -> str:
    try:
        return unquote(str(tok))
    except ValueError:
        # lexed tokens always carry a position (Lark types it optional for hand-made tokens)
        raise _err(
            "failed to unescape quoted string contents: invalid syntax", tok.line or 1, tok.column or 1
        ) from None


def _target_path(target: Any) -> list[str] | None:
    if isinstance(target, Path):
        if target.base == "root":
            return ["root"] + target.segments
        if target.base == "this":
            return ["this"] + target.segments
        if target.base == "bare":
            return target.segments
    return None


def _expr(node: Any) -> Any:
    """Turn an if construct into an if expression (error if its bodies are statements)."""
    if isinstance(node, _RawIf):
        branches = [(c, _block_expr(b)) for c, b in node.branches]
        otherwise = _block_expr(node.otherwise) if node.otherwise is not None else None
        return IfExpr(branches, otherwise, node.line, node.column)
    return node


def _block_expr(block: _Block) -> Any:
    st = block.statements
    if len(st) == 1 and isinstance(st[0], _ExprStmt):
        return _expr(st[0].expr)
    raise _err("expected query", block.line, block.column)


def _is_expr_if(node: _RawIf) -> bool:
    blocks = [b for _, b in node.branches] + ([node.otherwise] if node.otherwise else [])
    return all(len(b.statements) == 1 and isinstance(b.statements[0], _ExprStmt) for b in blocks)


def _statement(st: Any, *, in_map: bool = False, top: bool = False) -> Any:
    if isinstance(st, _ExprStmt):
        expr = st.expr
        if isinstance(expr, _RawIf):
            if (
                any(
                    not (len(b.statements) == 1 and isinstance(b.statements[0], _ExprStmt))
                    for b in [b for _, b in expr.branches] + ([expr.otherwise] if expr.otherwise else [])
                )
                or not top
            ):
                return _if_stmt(expr, in_map)
        raise _err("expected import, map, or assignment", st.line, st.column)
    if isinstance(st, Assign):
        st.value = _expr(st.value)
        return st
    if in_map and isinstance(st, (MapDef, _Import, _From)):
        raise _err("expected let or assignment", st.line, st.column)
    if in_map and isinstance(st, Assign) and st.kind == "meta":
        raise _err("setting meta fields is not allowed within this block", st.line, st.column)
    return st


def _if_stmt(node: _RawIf, in_map: bool) -> IfStmt:
    def stmts(b: _Block) -> list[Any]:
        out = []
        for s in b.statements:
            if isinstance(s, (MapDef, _Import, _From)):
                raise _err("expected assignment", s.line, s.column)
            out.append(_statement(s, in_map=in_map))
        return out

    return IfStmt(
        [(_expr(c), stmts(b)) for c, b in node.branches],
        stmts(node.otherwise) if node.otherwise is not None else None,
        node.line,
        node.column,
    )


_lark: Lark | None = None


def _parser() -> Lark:
    """The LALR parser, built on the first parse: building it takes about a quarter of a second,
    which a process that never compiles a mapping should not pay at start-up."""
    global _lark
    if _lark is None:
        built = Lark(
            _GRAMMAR,
            parser="lalr",
            lexer="contextual",
            postlex=_postlex,
            propagate_positions=True,
            maybe_placeholders=False,
        )
        _postlex.configure(built.terminals)
        _lark = built
    return _lark


# ---------------------------------------------------------------------------------------------
# error messages

_FRIENDLY = {
    "_NL": "line break",
    "NAME": "field path",
    "STRING": "quoted string",
    "NUMBER": "number",
    "RBRACE": "}",
    "LBRACE": "{",
    "RPAR": ")",
    "LPAR": "(",
    "RSQB": "]",
    "EQUAL": "=",
    "COLON": ":",
    "COMMA": ",",
    "DOT": ".",
    "$END": "end of input",
}


def _describe_expected(expected: set[str]) -> str:
    if "_NL" in expected or "$END" in expected:
        return "expected line break"
    names = sorted({_FRIENDLY.get(e, e.lower().strip("_")) for e in expected})
    if not names:
        return "unexpected input"
    if len(names) > 6:
        return "expected query"
    if len(names) == 1:
        return f"expected {names[0]}"
    return "expected " + ", ".join(names[:-1]) + ", or " + names[-1]


def _line_col_at(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    return line, pos - start + 1


def _convert_error(e: Exception, text: str) -> MappingError:
    if isinstance(e, MappingError):
        return e
    if isinstance(e, VisitError) and isinstance(e.orig_exc, MappingError):
        return e.orig_exc
    if isinstance(e, UnexpectedCharacters):
        line, col = e.line, e.column
        # Lark declares pos_in_stream as None on UnexpectedInput; UnexpectedCharacters sets the lexer offset
        pos: int = e.pos_in_stream  # type: ignore[assignment]
        ch = text[pos] if pos < len(text) else ""
        if ch == '"' or ch == "@" and text[pos + 1 : pos + 2] == '"':
            return _err(
                "required: expected end quote",
                *_line_col_at(text, len(text) if "\n" not in text[pos:] else text.index("\n", pos)),
            )
        shown = text[pos : pos + 10].split("\n")[0]
        return _err(
            f"unexpected character {shown[:1]!r}: {_describe_expected(set(e.allowed or ()))}", line, col
        )
    if isinstance(e, UnexpectedEOF):
        line, col = _line_col_at(text, len(text))
        return _err("unexpected end of input", line, col)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            line, col = _line_col_at(text, len(text.rstrip()))
            exp = set(e.expected or ())
            if "NAME" in exp and len(exp) <= 3:
                return _err("required: expected method or field path", line, col)
            return _err("unexpected end of input: " + _describe_expected(exp), line, col)
        line, col = tok.line or 1, tok.column or 1
        shown = str(tok).split("\n")[0][:20]
        return _err(f"{_describe_expected(set(e.expected or ()))}, got: {shown or tok.type}", line, col)
    if isinstance(e, UnexpectedInput):
        line = getattr(e, "line", 1) or 1
        col = getattr(e, "column", 1) or 1
        return _err(str(e).split("\n")[0], line, col)
    return _err(str(e).split("\n")[0] or type(e).__name__, 1, 1)


def parse(source: str) -> Program:
    """Parse a mapping into a ``Program`` (raises ``MappingError`` with a position)."""
    text = source
    if text.startswith("#!"):
        pass  # shebang is a comment
    try:
        stmts = _parse_tree(text)
    except RecursionError:
        raise _err("mapping is too deeply nested", 1, 1) from None
    except MappingError:
        # `meta(...)` can only begin an expression (a meta statement is `meta x = ...`), but the
        # statement rule claims the keyword first: read the text as the `root = ...` shorthand
        if not _META_CALL_START.match(text):
            raise
        stmts = _parse_shifted("root = ", text)
    if not stmts:
        line, col = _first_content_pos(text)
        raise _err("expected import, map, or assignment", line, col)
    out: list[Any] = []
    maps: dict[str, MapDef] = {}
    top_expr = len(stmts) == 1 and isinstance(stmts[0], _ExprStmt)
    if top_expr:
        expr = stmts[0].expr
        if not isinstance(expr, _RawIf) or _is_expr_if(expr):
            e = _expr(expr)
            return Program([Assign("root", [], e, stmts[0].line, stmts[0].column)], maps)
    for i, st in enumerate(stmts):
        if isinstance(st, _ExprStmt) and not isinstance(st.expr, _RawIf):
            if i == 0:
                nxt = stmts[1]
                raise _err(
                    "expected the mapping to end here as the beginning is shorthand for `root = "
                    "...`, but this shorthand form cannot be followed with more assignments",
                    nxt.line,
                    nxt.column,
                )
            raise _err("expected import, map, or assignment", st.line, st.column)
        if isinstance(st, MapDef):
            if st.name in maps:
                raise _err(f"map name collision: {st.name}", st.line, st.column)
            maps[st.name] = st
            continue
        if isinstance(st, _From):
            if len(stmts) > 1:
                raise _err("from statement must be the only statement of a mapping", st.line, st.column)
            out.append(st)
            continue
        out.append(_statement(st, top=True) if not isinstance(st, _Import) else st)
    return Program(out, maps)


_META_CALL_START = re.compile(r"\A(?:\s|#[^\n]*\n)*meta\s*\(")


def _parse_shifted(prefix: str, text: str) -> list[Any]:
    """Parse ``prefix + text``; errors keep their positions in ``text``."""
    try:
        return _parse_tree(prefix + text)
    except MappingError as err:
        if err.line == 1 and err.column is not None and err.column > len(prefix):
            column = err.column - len(prefix)
            message = re.sub(r"^line 1 char \d+", f"line 1 char {column}", str(err))
            raise MappingError(message, err.line, column) from None
        raise


def _first_content_pos(text: str) -> tuple[int, int]:
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c == "#":
            j = text.find("\n", i)
            if j < 0:
                i = n
            else:
                i = j + 1
        else:
            break
    return _line_col_at(text, i)


def _parse_tree(text: str) -> list[Any]:
    try:
        with _parse_lock:
            _postlex.text = text
            tree = _parser().parse(text)
        ast = ToAst()
        result = ast.transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, MappingError):
            raise e.orig_exc from None
        if isinstance(e.orig_exc, RecursionError):
            raise _err("mapping is too deeply nested", 1, 1) from None
        raise _err(str(e.orig_exc), 1, 1) from None
    except MappingError:
        raise
    except RecursionError:
        raise
    except LarkError as e:
        raise _convert_error(e, text) from None
    # a bare name starting with a digit is only valid as an assignment target (`1st = 5`)
    if ast.digit_names:
        raise min(
            (err for _, err in ast.digit_names.values()), key=lambda err: (err.line or 0, err.column or 0)
        )
    return result
