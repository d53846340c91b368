"""Go ``encoding/json`` syntax errors, word for word.

Upstream decodes JSON with Go's ``encoding/json``, whose byte-at-a-time scanner names the state it
was in when a byte did not fit: ``invalid character 'o' in literal null (expecting 'u')``,
``... after object key``, ``... in \\u hexadecimal character escape``, ``unexpected end of JSON
input``. Users' tooling matches these strings, so benthic reproduces them here. The fast parsers
(orjson, the stdlib) decide *whether* a document is valid; this module only runs once they have
failed, to say *what* Go would have said. It is a state machine over bytes with an explicit stack:
linear in the input, no recursion, and nesting past Go's limit (10,000) stops it.

Go reports errors differently depending on the API (the three callers upstream uses):

* ``unmarshal_error`` - ``json.Unmarshal``/``json.Valid``: the whole input must be one value;
  trailing bytes are ``after top-level value``, a cut-off input is ``unexpected end of JSON input``
  (or, when the bytes so far cannot end there, the scanner's complaint about an imagined space).
* ``decode_first`` - one ``json.Decoder.Decode``: reads the first value and stops; whatever
  follows is left unread. An input of only spaces is ``EOF``, a cut-off value ``unexpected EOF``.
* ``message_error`` - upstream's ``message.Part`` parse (``internal/message/util.go``): a
  ``Decode``, then further ``Decode`` calls to prove nothing follows, giving ``message contains
  multiple valid documents`` when a second value parses, and the second value's own error when it
  does not (``{} not foo`` is ``invalid character 'o' in literal null (expecting 'u')``).

A character is shown as Go's ``quoteChar`` shows it: Go converts the offending *byte* to a rune, so
a byte of a multi-byte UTF-8 sequence shows as its Latin-1 character (0xC3 is ``'Ã'``).
"""

from __future__ import annotations

import json as _json
import re
from typing import Any

import orjson

__all__ = [
    "MAX_DEPTH",
    "JsonEOF",
    "JsonSyntaxError",
    "decode_first",
    "first_value_end",
    "message_error",
    "quote_char",
    "unmarshal_error",
]

MAX_DEPTH = 10000  # Go's maxNestingDepth
# How many steps (a byte, or a run of bytes skipped in bulk) one look at an input may take: a
# few tenths of a second of CPU on dense JSON. Past it the error is worded from where Python's decoder
# stopped instead (``_approximate``), so a huge hostile body cannot hold a worker for seconds.
STEP_BUDGET = 500_000


class JsonSyntaxError(ValueError):
    """A Go JSON error; ``str()`` is Go's text, ``offset`` the bytes read when it was found."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class JsonEOF(JsonSyntaxError):
    """``io.EOF`` from a ``json.Decoder``: nothing but spaces where a value could start."""


class _OverBudget(Exception):
    """The scan took more than ``STEP_BUDGET`` steps."""


def _approximate(data: bytes, start: int = 0) -> JsonSyntaxError:
    """The error worded from where orjson stopped: exact for most inputs (a bad byte where a
    value should start, a cut-off input), without Go's context words for the rest."""
    body = data[start:]
    stripped = body.lstrip(b" \t\r\n")
    offset = start + len(body) - len(stripped)
    try:
        orjson.loads(stripped)
    except orjson.JSONDecodeError as err:
        # orjson counts characters; the offending character's first byte is what Go would show
        prefix = stripped.decode("utf-8", "surrogateescape")[: err.pos].encode("utf-8", "surrogateescape")
        if len(prefix) >= len(stripped):
            return JsonSyntaxError("unexpected end of JSON input", offset + len(prefix))
        return JsonSyntaxError(
            f"invalid character {quote_char(stripped[len(prefix)])} looking for beginning of value",
            offset + len(prefix),
        )
    return JsonSyntaxError("invalid JSON", offset)


# ---------------------------------------------------------------------------------------------
# How a byte is shown

_NAMED_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}


def _show_byte(b: int) -> str:
    if b == 0x27:
        return "'\\''"
    if b == 0x22:
        return "'\"'"
    if b == 0x5C:
        return "'\\\\'"
    # Go's strconv.IsPrint over U+0000..U+00FF: ASCII graphics and space, and Latin-1 from U+00A1
    # except the soft hyphen; everything else is escaped the way strconv.Quote escapes it
    if 0x20 <= b < 0x7F or (0xA1 <= b <= 0xFF and b != 0xAD):
        return f"'{chr(b)}'"
    if b in _NAMED_ESCAPES:
        return f"'{_NAMED_ESCAPES[b]}'"
    if b < 0x20 or b == 0x7F:
        return f"'\\x{b:02x}'"
    return f"'\\u{b:04x}'"


_SHOWN = tuple(_show_byte(b) for b in range(256))


def quote_char(b: int) -> str:
    """Go's ``quoteChar``: the byte ``b`` as the error message shows it, quotes included."""
    return _SHOWN[b]


# ---------------------------------------------------------------------------------------------
# The scanner

# where the scanner is
_BEGIN_VALUE = 0  # at the start, after ':' and after ',' in an array
_FIRST_ELEMENT = 1  # just after '[': a value or ']'
_FIRST_KEY = 2  # just after '{': a key or '}'
_NEXT_KEY = 3  # after ',' in an object
_AFTER_VALUE = 4  # a value just ended: what follows depends on the enclosing container
_IN_STRING = 5
_ESCAPE = 6  # after a backslash in a string
_HEX = 7  # inside \uXXXX (``_hex_left`` digits to go)
_MINUS = 8  # after a leading '-'
_INT_DIGITS = 9  # in the integer part after a non-zero first digit
_ZERO = 10  # after an integer part that is a lone 0 (or after _INT_DIGITS ends)
_DOT = 11  # after the decimal point
_FRACTION = 12  # in the fraction digits
_EXP_MARK = 13  # after 'e' or 'E'
_EXP_SIGN = 14  # after the exponent's sign (or where it could have been)
_EXP_DIGITS = 15
_LITERAL = 16  # inside true/false/null (``_word``, ``_matched`` bytes seen)
_TOP_DONE = 17  # the top-level value is complete: only spaces may follow

# what the innermost open container is waiting for
_ARRAY_ELEMENT = 0
_OBJECT_KEY = 1  # a key was read (or is being read); ':' comes next
_OBJECT_VALUE = 2  # a member's value is being read; ',' or '}' comes next

# what ``feed`` reports
MORE = 0  # keep going
ENDED_BEFORE = 1  # the top-level value ended before this byte (the byte is not part of it)
ENDED_WITH = 2  # this byte closed the top-level array or object

_SPACE = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_SIMPLE_ESCAPE_LETTERS = frozenset(b'bfnrt\\/"')
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}
_PLAIN_STRING_RUN = re.compile(rb'[^"\\\x00-\x1f]+')  # string bytes that need no attention
_DIGIT_RUN = re.compile(rb"[0-9]+")
_SPACE_RUN = re.compile(rb"[ \t\r\n]+")
# states in which a run of digits, or of spaces, leaves the state as it is
_DIGIT_STATES = frozenset((_INT_DIGITS, _FRACTION, _EXP_DIGITS))
_SPACE_STATES = frozenset((_BEGIN_VALUE, _FIRST_ELEMENT, _FIRST_KEY, _NEXT_KEY, _TOP_DONE))


class _Scanner:
    """Go's JSON scanner: ``feed`` one byte at a time; raises ``JsonSyntaxError`` on a bad byte."""

    def __init__(self) -> None:
        self.state = _BEGIN_VALUE
        self.containers: list[int] = []
        self.bytes_read = 0
        self._word = b""
        self._matched = 0
        self._hex_left = 0

    def _fail(self, b: int, context: str) -> JsonSyntaxError:
        return JsonSyntaxError(f"invalid character {quote_char(b)} {context}", self.bytes_read)

    def feed(self, b: int) -> int:
        state = self.state
        if state == _IN_STRING:
            if b == 0x22:
                self.state = _AFTER_VALUE
            elif b == 0x5C:
                self.state = _ESCAPE
            elif b < 0x20:
                raise self._fail(b, "in string literal")
            return MORE
        if state == _AFTER_VALUE:
            return self._after_value(b)
        if state == _BEGIN_VALUE:
            return self._begin_value(b)
        if state == _FIRST_ELEMENT:
            if b == 0x5D:  # ']'
                return self._after_value(b)
            return self._begin_value(b)
        if state == _FIRST_KEY:
            if b == 0x7D:  # '}': an empty object ends like a member value does
                self.containers[-1] = _OBJECT_VALUE
                return self._after_value(b)
            return self._begin_key(b)
        if state == _NEXT_KEY:
            return self._begin_key(b)
        if state == _ESCAPE:
            if b in _SIMPLE_ESCAPE_LETTERS:
                self.state = _IN_STRING
            elif b == 0x75:  # 'u'
                self.state, self._hex_left = _HEX, 4
            else:
                raise self._fail(b, "in string escape code")
            return MORE
        if state == _HEX:
            if b not in _HEX_DIGITS:
                raise self._fail(b, "in \\u hexadecimal character escape")
            self._hex_left -= 1
            if not self._hex_left:
                self.state = _IN_STRING
            return MORE
        if state == _LITERAL:
            expected = self._word[self._matched]
            if b != expected:
                word = self._word.decode()
                raise self._fail(b, f"in literal {word} (expecting {quote_char(expected)})")
            self._matched += 1
            if self._matched == len(self._word):
                self.state = _AFTER_VALUE
            return MORE
        if state == _TOP_DONE:
            if b not in _SPACE:
                raise self._fail(b, "after top-level value")
            return MORE
        return self._number(state, b)

    def _number(self, state: int, b: int) -> int:
        # each state either takes the byte or hands it to the state it falls back to, as Go does
        # (an integer part may be followed by a fraction, which may be followed by an exponent)
        if state == _MINUS:
            if b == 0x30:
                self.state = _ZERO
            elif b in _DIGITS:
                self.state = _INT_DIGITS
            else:
                raise self._fail(b, "in numeric literal")
            return MORE
        if state == _INT_DIGITS:
            if b in _DIGITS:
                return MORE
            state = _ZERO
        if state == _ZERO:
            if b == 0x2E:  # '.'
                self.state = _DOT
                return MORE
            if b == 0x65 or b == 0x45:
                self.state = _EXP_MARK
                return MORE
            return self._after_value(b)
        if state == _DOT:
            if b not in _DIGITS:
                raise self._fail(b, "after decimal point in numeric literal")
            self.state = _FRACTION
            return MORE
        if state == _FRACTION:
            if b in _DIGITS:
                return MORE
            if b == 0x65 or b == 0x45:
                self.state = _EXP_MARK
                return MORE
            return self._after_value(b)
        if state == _EXP_MARK:
            if b == 0x2B or b == 0x2D:
                self.state = _EXP_SIGN
                return MORE
            state = _EXP_SIGN
        if state == _EXP_SIGN:
            if b not in _DIGITS:
                raise self._fail(b, "in exponent of numeric literal")
            self.state = _EXP_DIGITS
            return MORE
        # _EXP_DIGITS
        if b in _DIGITS:
            return MORE
        return self._after_value(b)

    def _begin_value(self, b: int) -> int:
        if b in _SPACE:
            return MORE
        if b == 0x7B:  # '{'
            return self._open(b, _OBJECT_KEY, _FIRST_KEY)
        if b == 0x5B:  # '['
            return self._open(b, _ARRAY_ELEMENT, _FIRST_ELEMENT)
        if b == 0x22:
            self.state = _IN_STRING
        elif b == 0x2D:
            self.state = _MINUS
        elif b == 0x30:
            self.state = _ZERO
        elif b in _DIGITS:
            self.state = _INT_DIGITS
        elif b in _LITERALS:
            self.state, self._word, self._matched = _LITERAL, _LITERALS[b], 1
        else:
            raise self._fail(b, "looking for beginning of value")
        return MORE

    def _begin_key(self, b: int) -> int:
        if b in _SPACE:
            return MORE
        if b != 0x22:
            raise self._fail(b, "looking for beginning of object key string")
        self.state = _IN_STRING
        return MORE

    def _open(self, b: int, waiting_for: int, state: int) -> int:
        self.containers.append(waiting_for)
        if len(self.containers) > MAX_DEPTH:
            raise self._fail(b, "exceeded max depth")
        self.state = state
        return MORE

    def _after_value(self, b: int) -> int:
        containers = self.containers
        if not containers:
            self.state = _TOP_DONE
            return ENDED_BEFORE
        self.state = _AFTER_VALUE
        if b in _SPACE:
            return MORE
        waiting_for = containers[-1]
        if waiting_for == _OBJECT_KEY:
            if b != 0x3A:  # ':'
                raise self._fail(b, "after object key")
            containers[-1] = _OBJECT_VALUE
            self.state = _BEGIN_VALUE
            return MORE
        if waiting_for == _OBJECT_VALUE:
            if b == 0x2C:  # ','
                containers[-1] = _OBJECT_KEY
                self.state = _NEXT_KEY
                return MORE
            if b != 0x7D:  # '}'
                raise self._fail(b, "after object key:value pair")
            return self._close()
        if b == 0x2C:
            self.state = _BEGIN_VALUE
            return MORE
        if b != 0x5D:  # ']'
            raise self._fail(b, "after array element")
        return self._close()

    def _close(self) -> int:
        self.containers.pop()
        if self.containers:
            return MORE
        self.state = _TOP_DONE
        return ENDED_WITH

    def run(self, data: bytes, start: int, stop_at_end: bool) -> tuple[int, int]:
        """Feed ``data[start:]``; ``(ENDED_BEFORE | ENDED_WITH, index)`` when the top-level value
        ends and ``stop_at_end``, else ``(MORE, len(data))``. Runs of bytes that cannot change the
        state (plain string bytes, digits inside a number, spaces between tokens, the rest of a
        literal) are skipped in bulk, which keeps big documents quick."""
        i, n = start, len(data)
        steps = 0
        while i < n:
            steps += 1
            if steps > STEP_BUDGET:
                raise _OverBudget
            state = self.state
            run = None
            if state == _IN_STRING:
                run = _PLAIN_STRING_RUN.match(data, i)
            elif state in _DIGIT_STATES:
                run = _DIGIT_RUN.match(data, i)
            elif state in _SPACE_STATES or (state == _AFTER_VALUE and self.containers):
                run = _SPACE_RUN.match(data, i)
            elif state == _LITERAL:
                rest = self._word[self._matched :]
                if data.startswith(rest, i):  # the rest of true/false/null, all at once
                    self.bytes_read += len(rest)
                    self._matched = len(self._word)
                    self.state = _AFTER_VALUE
                    i += len(rest)
                    continue
            if run is not None:
                self.bytes_read += run.end() - i
                i = run.end()
                continue
            self.bytes_read += 1
            event = self.feed(data[i])
            if event != MORE and stop_at_end:
                return event, i
            if event == ENDED_BEFORE:
                self.bytes_read -= 1
                continue  # Go looks at this byte again, now after the top-level value
            i += 1
        return MORE, n

    def end_of_input(self) -> bool:
        """Whether the top-level value can end here; Go checks by feeding an imagined space, which
        raises when the bytes so far cannot be followed by one."""
        if self.state == _TOP_DONE:
            return True
        return self.feed(0x20) != MORE or self.state == _TOP_DONE


# ---------------------------------------------------------------------------------------------
# The three ways upstream reads JSON


def unmarshal_error(data: bytes) -> str | None:
    """What ``json.Unmarshal(data, &v)`` says about ``data``'s syntax (None: it is valid)."""
    scanner = _Scanner()
    try:
        scanner.run(data, 0, stop_at_end=False)
        if not scanner.end_of_input():
            return "unexpected end of JSON input"
    except JsonSyntaxError as err:
        return str(err)
    except _OverBudget:
        return str(_approximate(data))
    return None


def decode_first(data: bytes, start: int = 0) -> int:
    """Read one value from ``data[start:]`` as ``json.Decoder.Decode`` does; the index just past
    it. Raises ``JsonEOF`` when only spaces remain, else ``JsonSyntaxError`` (``unexpected EOF``
    for a cut-off value) when there is no value."""
    scanner = _Scanner()
    try:
        event, index = scanner.run(data, start, stop_at_end=True)
    except _OverBudget:
        raise _approximate(data, start) from None
    if event == ENDED_BEFORE:
        return index
    if event == ENDED_WITH:
        return index + 1
    try:
        if scanner.end_of_input():
            return len(data)
    except JsonSyntaxError:
        pass  # the decoder ignores what the imagined space did; the input just ended too soon
    if data[start:].strip(b" \t\r\n"):
        raise JsonSyntaxError("unexpected EOF", scanner.bytes_read)
    raise JsonEOF("EOF", scanner.bytes_read)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity; Go does not


_STRICT = _json.JSONDecoder(parse_constant=_no_constants)


def first_value_end(data: bytes) -> int:
    """``decode_first`` for a value of any size: Python's C decoder finds where a valid first
    value ends (the step budget never cuts it short); when it cannot, Go's scanner says why."""
    text = data.decode("utf-8", "surrogateescape")
    stripped = text.lstrip(" \t\r\n")
    try:
        _, end = _STRICT.raw_decode(stripped)
    except (ValueError, RecursionError):
        return decode_first(data)
    return len(text[: len(text) - len(stripped) + end].encode("utf-8", "surrogateescape"))


def message_error(data: bytes) -> str | None:
    """What upstream's message parse (``decodeJSON`` in ``internal/message/util.go``) says about
    ``data`` (None: it holds exactly one valid value)."""
    try:
        end = decode_first(data)
    except JsonSyntaxError as err:
        return str(err)
    try:
        end = decode_first(data, end)
    except JsonEOF:
        return None
    except JsonSyntaxError as err:
        return str(err)
    try:
        decode_first(data, end)  # a third look: its syntax error, if any, wins
    except JsonEOF:
        pass
    except JsonSyntaxError as err:
        return str(err)
    return "message contains multiple valid documents"
