"""String manipulation methods.

Strings are measured and indexed in UTF-8 bytes, as upstream's Go strings are. Most methods accept
bytes as well as strings and return the same kind they were given.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, quote_plus

from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.gocase import go_lower, go_lower_bytes, go_title, go_upper, go_upper_bytes
from mapping_lang.gofmt import UnquoteError, go_quote, go_quote_bytes, go_unquote, sprintf
from mapping_lang.library import Param, method
from mapping_lang.libutil import as_array, as_text, string_or_bytes
from mapping_lang.limits import MAX_VALUE_BYTES, value_too_large
from mapping_lang.value import to_text, type_name

CATEGORY = "String Manipulation"

# Go's unicode.IsSpace set, for TrimSpace (Python's str.strip also strips \x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_GO_SPACE_B = b"\t\n\v\f\r "


@method("uppercase", category=CATEGORY, description="Converts all letters of a string to upper case.")
def uppercase(ctx: Any, target: Any) -> Any:
    if type(target) is str:
        return go_upper(target)
    return go_upper_bytes(string_or_bytes(target))  # type: ignore[arg-type]


@method("lowercase", category=CATEGORY, description="Converts all letters of a string to lower case.")
def lowercase(ctx: Any, target: Any) -> Any:
    if type(target) is str:
        return go_lower(target)
    return go_lower_bytes(string_or_bytes(target))  # type: ignore[arg-type]


@method("capitalize", category=CATEGORY, description="Upper-cases the first letter of every word.")
def capitalize(ctx: Any, target: Any) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return go_title(v.decode("utf-8", "replace")).encode()
    return go_title(v)


@method("trim", category=CATEGORY,
        params=[Param("cutset", "string", optional=True, description="Characters to remove instead of whitespace.")],
        description="Removes leading and trailing whitespace, or the characters of a cutset.")  # fmt: skip
def trim(ctx: Any, target: Any, cutset: str | None = None) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return v.strip(_GO_SPACE_B if cutset is None else cutset.encode())
    return v.strip(_GO_SPACE if cutset is None else cutset)


@method("trim_prefix", category=CATEGORY, params=[Param("prefix", "string", description="The prefix to remove.")],
        description="Removes a prefix if the string starts with it.")  # fmt: skip
def trim_prefix(ctx: Any, target: Any, prefix: str) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return v.removeprefix(prefix.encode())
    return v.removeprefix(prefix)


@method("trim_suffix", category=CATEGORY, params=[Param("suffix", "string", description="The suffix to remove.")],
        description="Removes a suffix if the string ends with it.")  # fmt: skip
def trim_suffix(ctx: Any, target: Any, suffix: str) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return v.removesuffix(suffix.encode())
    return v.removesuffix(suffix)


def _replace(ctx: Any, target: Any, old: str, new: str) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return v.replace(old.encode(), new.encode())
    return v.replace(old, new)


_REPLACE_PARAMS = [
    Param("old", "string", description="Text to look for."),
    Param("new", "string", description="Text put in its place."),
]
method("replace_all", category=CATEGORY, params=_REPLACE_PARAMS,
       description="Swaps every occurrence of one string for another.")(_replace)  # fmt: skip
method("replace", category=CATEGORY, params=_REPLACE_PARAMS,
       description="Swaps every occurrence of one string for another.")(_replace)  # fmt: skip


def _replacer(values: list[Any]) -> tuple[re.Pattern[str], dict[str, str]]:
    if len(values) % 2 != 0:
        raise EvalError("invalid arguments count, must be an even number of replacement pairs")
    table: dict[str, str] = {}
    order: list[str] = []
    for i in range(0, len(values), 2):
        old, new = values[i], values[i + 1]
        if type(old) not in (str, bytes) or type(new) not in (str, bytes):
            raise TypeMismatch("string", old if type(old) not in (str, bytes) else new)
        old_s = old if type(old) is str else old.decode("utf-8", "replace")
        new_s = new if type(new) is str else new.decode("utf-8", "replace")
        if old_s not in table:  # argument order wins, as Go's strings.Replacer
            table[old_s] = new_s
            order.append(old_s)
    # Alternation tries the olds in argument order at each position, as Go's Replacer does; an
    # empty old matches between every character (and at the ends), Python's empty-match rules
    # after a non-empty match being Go's too.
    alternatives = "|".join(re.escape(o) for o in order)
    return re.compile(alternatives if order else r"(?!)"), table


def _prepare_replacer(values: list[Any]) -> tuple[Any, ...]:
    return (_replacer(values),)


def _replace_many(ctx: Any, target: Any, values: Any) -> Any:
    compiled = values if type(values) is tuple else _replacer(as_array(values))
    pattern, table = compiled
    v = string_or_bytes(target)
    text = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    result = pattern.sub(lambda m: table[m.group()], text)
    return result.encode() if isinstance(v, bytes) else result


_MANY_PARAMS = [Param("values", "array", description="An array of alternating old and new strings.")]
method("replace_all_many", category=CATEGORY, params=_MANY_PARAMS, prepare=_prepare_replacer,
       description="Applies a list of string replacements in a single pass.")(_replace_many)  # fmt: skip
method("replace_many", category=CATEGORY, params=_MANY_PARAMS, prepare=_prepare_replacer,
       description="Applies a list of string replacements in a single pass.")(_replace_many)  # fmt: skip


@method("split", category=CATEGORY,
        params=[Param("delimiter", "string", description="Separator between the parts."),
                Param("empty_as_null", "bool", False, "Whether empty parts become null.")],
        description="Cuts a string at every occurrence of the separator and returns the pieces as an array.")  # fmt: skip
def split(ctx: Any, target: Any, delimiter: str, empty_as_null: bool = False) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        if delimiter == "":
            text = v.decode("utf-8", "replace")
            parts_b: list[Any] = [c.encode() for c in text]
        else:
            parts_b = v.split(delimiter.encode())
        return [None if empty_as_null and not p else p for p in parts_b]
    parts: list[Any] = list(v) if delimiter == "" else v.split(delimiter)
    if empty_as_null:
        return [p if p else None for p in parts]
    return parts


@method("has_prefix", category=CATEGORY, params=[Param("value", "string", description="The prefix.")],
        description="True when the string begins with the given prefix.")  # fmt: skip
def has_prefix(ctx: Any, target: Any, value: str) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return v.startswith(value.encode())
    return v.startswith(value)


@method("has_suffix", category=CATEGORY, params=[Param("value", "string", description="The suffix.")],
        description="True when the string finishes with the given suffix.")  # fmt: skip
def has_suffix(ctx: Any, target: Any, value: str) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return v.endswith(value.encode())
    return v.endswith(value)


@method("index_of", category=CATEGORY, params=[Param("value", "string", description="The substring.")],
        description="Where the substring first occurs, as a byte offset; -1 if it does not occur.")  # fmt: skip
def index_of(ctx: Any, target: Any, value: str) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return v.find(value.encode())
    i = v.find(value)
    if i <= 0 or v.isascii():
        return i
    return len(v[:i].encode("utf-8", "surrogatepass"))


@method("quote", category=CATEGORY, description="Quotes a string with Go escape sequences.")
def quote_method(ctx: Any, target: Any) -> Any:
    v = string_or_bytes(target)
    if isinstance(v, bytes):
        return go_quote_bytes(v)
    return go_quote(v)


@method("unquote", category=CATEGORY, description="Unquotes a Go-quoted string, decoding escape sequences.")
def unquote(ctx: Any, target: Any) -> Any:
    try:
        return go_unquote(as_text(target))
    except UnquoteError as e:
        raise EvalError(str(e)) from None


_HTML_ESCAPES = str.maketrans({"&": "&amp;", "'": "&#39;", "<": "&lt;", ">": "&gt;", '"': "&#34;"})


def escape_html_text(s: str) -> str:
    """Go ``html.EscapeString``."""
    return s.translate(_HTML_ESCAPES)


@method("escape_html", category=CATEGORY, description="Escapes <, >, &, ' and \" as HTML entities.")
def escape_html(ctx: Any, target: Any) -> Any:
    return escape_html_text(as_text(target))


@method("unescape_html", category=CATEGORY, description="Decodes HTML entities.")
def unescape_html(ctx: Any, target: Any) -> Any:
    return html.unescape(as_text(target))


@method(
    "escape_url_query",
    category=CATEGORY,
    description="Percent-encodes a string so it can go into a URL's query.",
)
def escape_url_query(ctx: Any, target: Any) -> Any:
    return quote_plus(as_text(target), safe="")


@method(
    "escape_url_path",
    category=CATEGORY,
    description="Percent-encodes a string so it can be one segment of a URL path.",
)
def escape_url_path(ctx: Any, target: Any) -> Any:
    return quote(as_text(target), safe="$&+=:@")


_HEX = "0123456789abcdefABCDEF"


def url_unescape(s: str, plus_as_space: bool) -> str:
    """Go ``url.QueryUnescape``/``PathUnescape``: strict about malformed escapes."""
    if "%" not in s and not (plus_as_space and "+" in s):
        return s
    out = bytearray()
    raw = s.encode("utf-8", "surrogatepass")
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x25:  # %
            esc = raw[i + 1 : i + 3].decode("latin-1")
            if len(esc) < 2 or esc[0] not in _HEX or esc[1] not in _HEX:
                bad = raw[i : i + 3].decode("utf-8", "replace")
                raise EvalError(f'invalid URL escape "{bad}"')
            out.append(int(esc, 16))
            i += 3
            continue
        out.append(0x20 if plus_as_space and c == 0x2B else c)
        i += 1
    return out.decode("utf-8", "replace")


@method("unescape_url_query", category=CATEGORY, description="Decodes a URL query-escaped string.")
def unescape_url_query(ctx: Any, target: Any) -> Any:
    return url_unescape(as_text(target), True)


@method("unescape_url_path", category=CATEGORY, description="Decodes a URL path-escaped string.")
def unescape_url_path(ctx: Any, target: Any) -> Any:
    return url_unescape(as_text(target), False)


def _format(ctx: Any, target: Any, *args: Any) -> Any:
    if type(target) is not str:
        target = as_text(target)
    return sprintf(target, args)


method("format", category=CATEGORY, params=[Param("*values", "any")],
       description="Go printf-style formatting of the arguments with the target as format string.")(_format)  # fmt: skip


@method("repeat", category=CATEGORY, params=[Param("count", "int", description="How many times to repeat.")],
        description="Repeats a string a number of times.")  # fmt: skip
def repeat(ctx: Any, target: Any, count: int) -> Any:
    if count < 0:
        raise EvalError(f"invalid count, must be greater than or equal to zero: {count}")
    v = string_or_bytes(target)
    size = len(v) * count  # characters, a lower bound of the UTF-8 length
    if size > MAX_VALUE_BYTES // 4 and isinstance(v, str):
        size = len(v.encode("utf-8", "surrogatepass")) * count
    if size > MAX_VALUE_BYTES:
        raise EvalError(value_too_large("invalid count", size))
    return v * count


@method("reverse", category=CATEGORY, description="Reverses the runes of a string (or the bytes of bytes).")
def reverse(ctx: Any, target: Any) -> Any:
    v = string_or_bytes(target)
    return v[::-1]


# ---------------------------------------------------------------------------------------------
# file paths (slash-separated, as on the platforms upstream documents)


def clean_path(path: str) -> str:
    """Go ``path.Clean``."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


@method(
    "filepath_join",
    category=CATEGORY,
    description="Puts path elements together with slashes into a single cleaned path.",
)
def filepath_join(ctx: Any, target: Any) -> Any:
    parts: list[str] = []
    for i, v in enumerate(as_array(target)):
        if type(v) is not str:
            raise EvalError(f"path element {i}: {TypeMismatch('string', v)}")
        parts.append(v)
    joined = "/".join(p for p in parts if p)
    return clean_path(joined) if joined else ""


@method("filepath_split", category=CATEGORY, description="Splits a path into a directory and a file name.")
def filepath_split(ctx: Any, target: Any) -> Any:
    path = as_text(target)
    i = path.rfind("/")
    return [path[: i + 1], path[i + 1 :]]


# ---------------------------------------------------------------------------------------------
# slug

_SLUG_LANG_SUBS: dict[str, dict[str, str]] = {
    "en": {"&": "and", "@": "at"},
    "de": {
        "&": "und",
        "@": "an",
        "ä": "ae",
        "Ä": "Ae",
        "ö": "oe",
        "Ö": "Oe",
        "ü": "ue",
        "Ü": "Ue",
        "ß": "ss",
    },
    "fr": {"&": "et", "@": "arobase"},
    "es": {"&": "y", "@": "en"},
    "it": {"&": "e", "@": "chiocciola"},
    "nl": {"&": "en", "@": "at"},
    "pl": {"&": "i", "@": "na"},
    "pt": {"&": "e", "@": "em"},
    "sv": {"&": "och", "@": "snabel a", "å": "a", "Å": "A", "ä": "a", "Ä": "A", "ö": "o", "Ö": "O"},
    "fi": {"&": "ja", "@": "at", "å": "a", "Å": "A", "ä": "a", "Ä": "A", "ö": "o", "Ö": "O"},
    "cs": {"&": "a", "@": "zavinac"},
    "hu": {"&": "es", "@": "kukac"},
    "tr": {"&": "ve", "@": "et"},
}
_SLUG_DEFAULT_SUBS = {'"': "", "'": "", "’": "", "‒": "-", "–": "-", "—": "-", "―": "-"}
_TRANSLIT = {
    "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L",
    "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ı": "i",
}  # fmt: skip
_SLUG_INVALID = re.compile(r"[^a-z0-9\-_]+")
_SLUG_DASHES = re.compile(r"-+")


def _ascii_fold(s: str) -> str:
    out: list[str] = []
    for c in unicodedata.normalize("NFKD", s):
        if c.isascii():
            out.append(c)
        elif c in _TRANSLIT:
            out.append(_TRANSLIT[c])
        elif unicodedata.combining(c):
            continue
    return "".join(out)


@lru_cache(maxsize=4096)
def make_slug(text: str, lang: str) -> str:
    subs = dict(_SLUG_DEFAULT_SUBS)
    subs.update(_SLUG_LANG_SUBS.get(lang, _SLUG_LANG_SUBS["en"]))
    text = "".join(subs.get(c, c) for c in text)
    text = _ascii_fold(text).lower()
    text = _SLUG_INVALID.sub("-", text)
    text = _SLUG_DASHES.sub("-", text)
    return text.strip("-_")


@method("slug", category=CATEGORY,
        params=[Param("lang", "string", "en", "The language of substitutions such as & → and.")],
        description="Creates a URL-friendly slug of a string.")  # fmt: skip
def slug(ctx: Any, target: Any, lang: str = "en") -> Any:
    return make_slug(as_text(target), lang)


# ---------------------------------------------------------------------------------------------
# strip_html


class _Stripper(HTMLParser):
    _SKIP_CONTENT = frozenset({"script", "style"})

    def __init__(self, preserve: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.preserve = preserve
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP_CONTENT and tag not in self.preserve:
            self.skipping += 1
        elif tag in self.preserve and not self.skipping:
            self.out.append(f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.preserve and not self.skipping:
            self.out.append(f"<{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP_CONTENT and tag not in self.preserve:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.preserve and not self.skipping:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(escape_html_text(data))


@method("strip_html", category=CATEGORY,
        params=[Param("preserve", "any", optional=True, description="An array of element names to keep.")],
        description="Strips HTML markup from a string, except for the elements listed to keep.")  # fmt: skip
def strip_html(ctx: Any, target: Any, preserve: Any = None) -> Any:
    keep: frozenset[str] = frozenset()
    if preserve is not None:
        keep = frozenset(to_text(p).lower() for p in as_array(preserve))
    stripper = _Stripper(keep)
    stripper.feed(as_text(target))
    stripper.close()
    return "".join(stripper.out)


# ---------------------------------------------------------------------------------------------
# unicode_segments (an approximation of UAX #29 without the Unicode break tables)

_EXTEND = "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f\u0900-\u0903\u093a-\u094f" \
    "\u1ab0-\u1aff\u1dc0-\u1dff\u200c\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f\U0001f3fb-\U0001f3ff" \
    "\U000e0020-\U000e007f\U000e0100-\U000e01ef"  # fmt: skip
_GRAPHEME = re.compile(
    f"\r\n|[\U0001f1e6-\U0001f1ff]{{2}}|(?:.[{_EXTEND}]*)(?:\u200d.[{_EXTEND}]*)*",
    re.S,
)
_SENTENCE = re.compile(r".*?(?:[.!?]+['\")\]]*(?:\s+|$)(?![a-z0-9])|\n+|$)", re.S)
_WORD = re.compile(
    r"\r\n|[^\S\r\n]+|\n|\r|(?:\w+(?:['.’:,]\w+)*)|"
    f"[\U0001f1e6-\U0001f1ff]{{2}}|(?:.[{_EXTEND}]*)(?:\u200d.[{_EXTEND}]*)*",
    re.S,
)


def segments(text: str, kind: str) -> list[str]:
    if kind == "grapheme":
        pattern = _GRAPHEME
    elif kind == "word":
        pattern = _WORD
    elif kind == "sentence":
        pattern = _SENTENCE
    else:
        raise EvalError(f"unknown segmentation type: {kind}")
    return [m.group() for m in pattern.finditer(text) if m.group()]


@method("unicode_segments", category=CATEGORY,
        params=[Param("segmentation_type", "string", description="One of grapheme, word or sentence.")],
        description="Splits text into grapheme clusters, words or sentences.")  # fmt: skip
def unicode_segments(ctx: Any, target: Any, segmentation_type: str) -> Any:
    return segments(as_text(target), segmentation_type)


# ---------------------------------------------------------------------------------------------
# password hashes: not available without third-party libraries


def _secret(target: Any) -> bytes:
    if isinstance(target, str):
        return target.encode()
    if isinstance(target, bytes):
        return target
    raise EvalError(f"expected string value, got {type_name(target)}")


@method("compare_bcrypt", category=CATEGORY, params=[Param("hashed_secret", "string")],
        description="Checks whether a string matches a bcrypt hash (needs the optional bcrypt package).")  # fmt: skip
def compare_bcrypt(ctx: Any, target: Any, hashed_secret: str) -> Any:
    try:
        import bcrypt  # optional dependency (the full extra)
    except ImportError:
        raise EvalError("compare_bcrypt needs the bcrypt package: pip install 'benthic[full]'") from None
    try:
        return bool(bcrypt.checkpw(_secret(target), hashed_secret.encode()))
    except ValueError as err:
        raise EvalError(f"failed comparing bcrypt hash: {err}") from None


@method("compare_argon2", category=CATEGORY, params=[Param("hashed_secret", "string")],
        description="Checks whether a string matches an argon2 hash (needs the optional argon2-cffi package).")  # fmt: skip
def compare_argon2(ctx: Any, target: Any, hashed_secret: str) -> Any:
    try:
        from argon2 import PasswordHasher  # optional dependency (the full extra)
        from argon2.exceptions import InvalidHashError, VerificationError  # optional (argon2)
    except ImportError:
        raise EvalError("compare_argon2 needs the argon2-cffi package: pip install 'benthic[full]'") from None
    try:
        return bool(PasswordHasher().verify(hashed_secret, _secret(target)))
    except VerificationError:
        return False
    except InvalidHashError as err:
        raise EvalError(f"failed comparing argon2 hash: {err}") from None
