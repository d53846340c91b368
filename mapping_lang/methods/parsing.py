"""Parsing and serialisation methods: YAML, CSV, URLs, form bodies, logfmt, XML and MessagePack."""

from __future__ import annotations

import math
import re
import struct
import xml.etree.ElementTree as ET  # noqa: N817
from datetime import datetime
from typing import Any
from urllib.parse import quote

import yaml

from mapping_lang.errors import EvalError, TypeMismatch
from mapping_lang.gocsv import read_all
from mapping_lang.gofmt import go_quote
from mapping_lang.gostrconv import parse_float, parse_int, parse_uint
from mapping_lang.library import Param, method
from mapping_lang.libutil import as_bytes, as_text
from mapping_lang.methods.strings import escape_html_text, url_unescape
from mapping_lang.value import (
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    JsonNumber,
    format_float_g,
    format_timestamp,
    to_text,
)

CATEGORY = "Parsing"


# ---------------------------------------------------------------------------------------------
# YAML


class _Loader(yaml.SafeLoader):
    """Safe loading with yaml.v3's resolution of plain scalars (below) instead of YAML 1.1's."""


# yaml.v3 decoding into an interface: null and bool only in their YAML 1.2 spellings (``yes``/``on``
# stay strings), dates stay strings, and anything number-like goes through strconv (base prefixes,
# ``017`` octal, underscores dropped, uint64 above int64) or the YAML float syntax.
_V3_NUMBER_TAG = "tag:benthic,2024:yaml-v3-number"
_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(_V3_NUMBER_TAG, re.compile(r"^[-+.0-9]"), list("-+.0123456789"))

_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_YAML_SPECIAL_FLOATS = {
    **dict.fromkeys([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], math.inf),
    **dict.fromkeys(["-.inf", "-.Inf", "-.INF"], -math.inf),
    **dict.fromkeys([".nan", ".NaN", ".NAN"], math.nan),
}


def yaml_v3_scalar(text: str) -> Any:
    """A plain scalar that starts like a number, resolved as yaml.v3 does (else the string)."""
    if text in _YAML_SPECIAL_FLOATS:
        return _YAML_SPECIAL_FLOATS[text]
    plain = text.replace("_", "")
    for parse in (parse_int, parse_uint):
        try:
            return parse(plain)
        except EvalError:
            pass
    if _YAML_FLOAT.match(plain):
        try:
            return parse_float(plain)
        except EvalError:
            pass
    for prefix, sign in (("0b", 1), ("-0b", -1), ("0o", 1), ("-0o", -1)):
        if plain.startswith(prefix):
            digits = plain[len(prefix) :]
            base = 2 if "b" in prefix else 8
            if digits and all(c in "01234567"[:base] for c in digits):
                v = sign * int(digits, base)
                if INT64_MIN <= v <= INT64_MAX:
                    return v
            break
    return text


_Loader.add_constructor(_V3_NUMBER_TAG, lambda loader, node: yaml_v3_scalar(node.value))


def _allowed_alias_ratio(decoded: int) -> float:
    """yaml.v3's bound on the share of nodes reached through aliases (it shrinks as documents grow)."""
    if decoded <= 400_000:
        return 0.99
    if decoded >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * (decoded - 400_000) / 3_600_000


class _YamlValues:
    """PyYAML's document as our values. PyYAML shares an anchored node among its aliases; copying
    it out expands them, so (as yaml.v3 does while decoding) a document that reaches too many of
    its nodes through aliases is refused rather than expanded without bound."""

    def __init__(self) -> None:
        self.decoded = 0
        self.through_alias = 0
        self.alias_depth = 0
        self.seen: set[int] = set()

    def value(self, v: Any) -> Any:
        self.decoded += 1
        if self.alias_depth:
            self.through_alias += 1
            if (
                self.through_alias > 100
                and self.decoded > 1000
                and self.through_alias / self.decoded > _allowed_alias_ratio(self.decoded)
            ):
                raise EvalError("failed to parse yaml: yaml: document contains excessive aliasing")
        t = type(v)
        if t is dict or t is list:
            alias = id(v) in self.seen
            self.seen.add(id(v))
            self.alias_depth += alias
            try:
                if t is list:
                    return [self.value(x) for x in v]
                return {
                    (k if isinstance(k, str) else to_text(self.value(k))): self.value(x) for k, x in v.items()
                }
            finally:
                self.alias_depth -= alias
        if isinstance(v, int) and not isinstance(v, bool) and not INT64_MIN <= v <= UINT64_MAX:
            return float(v)  # (plain scalars beyond uint64 resolve to floats or strings already)
        return v


@method("parse_yaml", category=CATEGORY, description="Parses a YAML document into a structured value.")
def parse_yaml(ctx: Any, target: Any) -> Any:
    try:
        document = yaml.load(as_bytes(target), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        raise EvalError(f"failed to parse yaml: {e}") from None
    return _YamlValues().value(document)


class _Dumper(yaml.SafeDumper):
    """yaml.v3's layout: four-space indentation with sequences indented under their keys."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_OLD_BOOLS = frozenset("y Y yes Yes YES on On ON n N no No NO off Off OFF".split())
_BASE60_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_V3_NON_STRINGS = re.compile(r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|)$")
_V3_DATE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?$")


def _v3_string_style(s: str) -> str | None:
    """yaml.v3's choice for a string: literal block when it has a newline, double quotes when the
    plain text would read back as something else (number, bool, null, date, YAML 1.1 bool or
    sexagesimal), else plain (the emitter falls back to single quotes where plain is invalid)."""
    if "\n" in s:
        return "|"
    if _V3_NON_STRINGS.match(s) or s in _OLD_BOOLS or _BASE60_FLOAT.match(s) or _V3_DATE.match(s):
        return '"'
    if s[:1] in "-+.0123456789" and yaml_v3_scalar(s) is not s:
        return '"'
    return None


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=_v3_string_style(data))


_Dumper.add_representer(str, _represent_str)


def _to_yaml(v: Any) -> Any:
    t = type(v)
    if t is JsonNumber:
        n = float(v)
        return int(n) if n.is_integer() and "." not in v.lexeme and "e" not in v.lexeme.lower() else n
    if t is dict:
        return {k: _to_yaml(x) for k, x in v.items()}
    if t is list:
        return [_to_yaml(x) for x in v]
    if t is bytes:
        return v.decode("utf-8", "replace")
    if hasattr(v, "tzinfo") and hasattr(v, "year"):
        return format_timestamp(v)
    return v


@method("format_yaml", category=CATEGORY, description="Serialises a value as YAML bytes.")
def format_yaml(ctx: Any, target: Any) -> Any:
    text = yaml.dump(_to_yaml(target), Dumper=_Dumper, indent=4, sort_keys=True, allow_unicode=True,
                     default_flow_style=False, width=1 << 30)  # fmt: skip
    if text.endswith("\n...\n"):
        text = text[:-4]
    return text.encode()


# ---------------------------------------------------------------------------------------------
# CSV


@method("parse_csv", category=CATEGORY,
        params=[Param("parse_header_row", "bool", True, "Whether the first row is a header."),
                Param("delimiter", "string", ",", "The field delimiter (one character)."),
                Param("lazy_quotes", "bool", False, "Allow quotes in unquoted fields.")],
        description="Reads CSV text: an array of objects keyed by the header row, or of arrays when `parse_header_row` is false.")  # fmt: skip
def parse_csv(ctx: Any, target: Any, parse_header_row: bool = True, delimiter: str = ",",
              lazy_quotes: bool = False) -> Any:  # fmt: skip
    if len(delimiter) != 1:
        raise EvalError("delimiter value must be exactly one character")
    t = type(target)
    if t is str:
        data = target.encode("utf-8", "surrogatepass")
    elif t is bytes:
        data = target
    else:
        raise TypeMismatch("string", target)
    rows = read_all(data, delimiter, lazy_quotes)
    if not rows:
        raise EvalError("zero records were parsed")
    if not parse_header_row:
        return rows
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


# ---------------------------------------------------------------------------------------------
# URLs and form bodies

_URL_RE = re.compile(
    r"^(?:([A-Za-z][A-Za-z0-9+.\-]*):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$", re.S
)
_PATH_SAFE = "/;,:@&=+$!*'()~-._"


def _escaped_default(raw: str, unescaped: str) -> bool:
    return quote(unescaped, safe=_PATH_SAFE) == raw


_HOST_OK = frozenset("!$&'()*+,;=:[]<>\"-_.~")
_USERINFO_OK = frozenset("-._:~!$&'()*+,;=%@")
_PORT = re.compile(r"(?::[0-9]*)?\Z")


def _check_host(host: str) -> None:
    """net/url's parseHost: a bracketed IPv6 literal or a name, an optional numeric port, and no
    ASCII character a host may not hold (%-escapes only for non-ASCII bytes)."""
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise EvalError("missing ']' in host")
        if not _PORT.match(host[end + 1 :]):
            raise EvalError(f"invalid port {go_quote(host[end + 1 :])} after host")
        return
    colon = host.rfind(":")
    if colon >= 0 and not _PORT.match(host[colon:]):
        raise EvalError(f"invalid port {go_quote(host[colon:])} after host")
    i = 0
    while i < len(host):
        c = host[i]
        if c == "%":
            esc = host[i : i + 3]
            if len(esc) < 3 or not all(h in "0123456789abcdefABCDEF" for h in esc[1:]):
                raise EvalError(f"invalid URL escape {go_quote(esc)}")
            if int(esc[1], 16) < 8 and esc != "%25":
                raise EvalError(f"invalid URL escape {go_quote(esc)}")
            i += 3
            continue
        if c.isascii() and not (c.isalnum() or c in _HOST_OK):
            raise EvalError(f"invalid character {go_quote(c)} in host name")
        i += 1


def parse_url_object(text: str) -> dict[str, Any]:
    if any(c < " " or c == "\x7f" for c in text.partition("#")[0]):
        raise EvalError("net/url: invalid control character in URL")
    m = _URL_RE.match(text)
    if m is None:
        raise EvalError(f'parse "{text}": invalid URI')
    scheme, authority, path, query, fragment = m.groups()
    result: dict[str, Any] = {
        "scheme": (scheme or "").lower(),
        "opaque": "",
        "host": "",
        "path": "",
        "raw_path": "",
        "raw_query": query or "",
        "fragment": "",
        "raw_fragment": "",
    }
    if scheme and authority is None and path and not path.startswith("/"):
        result["opaque"] = path
        path = ""
    if authority is not None:
        userinfo, sep, host = authority.rpartition("@")
        if sep and not all(c.isascii() and (c.isalnum() or c in _USERINFO_OK) for c in userinfo):
            raise EvalError("net/url: invalid userinfo")
        _check_host(host)
        result["host"] = host
        if sep:
            name, has_pw, password = userinfo.partition(":")
            user: dict[str, Any] = {"name": url_unescape(name, False)}
            if has_pw:
                user["password"] = url_unescape(password, False)
            result["user"] = user
    if path:
        unescaped = url_unescape(path, False)
        result["path"] = unescaped
        if not _escaped_default(path, unescaped):
            result["raw_path"] = path
    if fragment:
        unescaped = url_unescape(fragment, False)
        result["fragment"] = unescaped
        if not _escaped_default(fragment, unescaped):
            result["raw_fragment"] = fragment
    return result


@method("parse_url", category=CATEGORY, description="Parses a URL into an object of its components.")
def parse_url(ctx: Any, target: Any) -> Any:
    text = as_text(target)
    try:
        return parse_url_object(text)
    except EvalError as err:
        message = str(err)
        if message.startswith("parse "):
            raise
        # Go's url.Parse wraps its errors as: parse "<url>": <reason>
        raise EvalError(f"parse {go_quote(text.partition('#')[0])}: {message}") from None


@method("parse_form_url_encoded", category=CATEGORY,
        description="Parses an application/x-www-form-urlencoded body into an object.")  # fmt: skip
def parse_form_url_encoded(ctx: Any, target: Any) -> Any:
    values: dict[str, list[str]] = {}
    for part in as_text(target).split("&"):
        if not part:
            continue
        if ";" in part:
            raise EvalError("invalid semicolon separator in query")
        key, _, value = part.partition("=")
        values.setdefault(url_unescape(key, True), []).append(url_unescape(value, True))
    return {k: v[0] if len(v) == 1 else v for k, v in values.items()}


# ---------------------------------------------------------------------------------------------
# logfmt

_LOGFMT_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


@method("parse_logfmt", category=CATEGORY, description="Parses logfmt text into an object.")
def parse_logfmt(ctx: Any, target: Any) -> Any:
    # Upstream's own scanner: pairs split on spaces and tabs, a key without "=" is true, a lone
    # "=" is skipped, a quoted value takes JSON-like escapes (others kept with their backslash),
    # the last value of a repeated key wins.
    s = as_text(target) if type(target) in (str, bytes) else _string_target(target)
    out: dict[str, Any] = {}
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n:
            break
        start = i
        while i < n and s[i] not in "= \t":
            i += 1
        key = s[start:i]
        if not key:
            i += 1
            continue
        if i >= n or s[i] != "=":
            out[key] = True
            continue
        i += 1
        if i < n and s[i] == '"':
            i += 1
            val: list[str] = []
            while i < n and s[i] != '"':
                if s[i] == "\\" and i + 1 < n:
                    i += 1
                    c = s[i]
                    val.append(_LOGFMT_ESCAPES.get(c, "\\" + c))
                else:
                    val.append(s[i])
                i += 1
            if i >= n:
                raise EvalError(f"logfmt: unterminated quoted value for key {go_quote(key)}")
            i += 1
            out[key] = "".join(val)
        else:
            start = i
            while i < n and s[i] not in " \t":
                i += 1
            out[key] = s[start:i]
    return out


def _string_target(target: Any) -> str:
    if isinstance(target, datetime):  # IGetString formats a timestamp as RFC 3339
        return to_text(target)
    raise TypeMismatch("string", target)


# ---------------------------------------------------------------------------------------------
# XML


def _cast(text: str) -> Any:
    try:
        if text.strip() == text and text:
            f = float(text)
            if not math.isinf(f) or text.lower().lstrip("+-") in ("inf", "infinity"):
                return f
    except ValueError:
        pass
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return text


def _element_value(elem: Any, cast: bool) -> Any:
    obj: dict[str, Any] = {}
    for name, value in elem.attrib.items():
        obj["-" + name] = _cast(value) if cast else value
    for child in elem:
        value = _element_value(child, cast)
        if child.tag in obj:
            existing = obj[child.tag]
            obj[child.tag] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            obj[child.tag] = value
    text = (elem.text or "").strip() if len(elem) or elem.attrib else (elem.text or "")
    if len(elem) == 0 and not elem.attrib:
        return _cast(text) if cast else text
    if text:
        obj["#text"] = _cast(text) if cast else text
    return obj


@method("parse_xml", category=CATEGORY,
        params=[Param("cast", "bool", False, "Whether to cast numeric and boolean text.")],
        description="Parses XML into an object; attributes are prefixed with - and text is #text.")  # fmt: skip
def parse_xml(ctx: Any, target: Any, cast: bool = False) -> Any:
    try:
        root = ET.fromstring(as_bytes(target))  # noqa: S314 - entity expansion is bounded by expat
    except ET.ParseError as e:
        raise EvalError(f"failed to parse xml: {e}") from None
    return {root.tag: _element_value(root, cast)}


def _xml_text(v: Any) -> str:
    if type(v) is float:
        return format_float_g(v)
    return escape_html_text(to_text(v)).replace("&#39;", "&#39;").replace("&#34;", "&#34;")


def _xml_element(tag: str, value: Any, indent: str, level: int, pretty: bool) -> list[str]:
    pad = indent * level if pretty else ""
    if type(value) is list:
        lines: list[str] = []
        for item in value:
            lines.extend(_xml_element(tag, item, indent, level, pretty))
        return lines
    if type(value) is dict:
        attrs = "".join(f' {k[1:]}="{_xml_text(v)}"' for k, v in sorted(value.items()) if k.startswith("-"))
        children = [(k, v) for k, v in sorted(value.items()) if not k.startswith("-") and k != "#text"]
        text = _xml_text(value["#text"]) if "#text" in value else ""
        if not children:
            if not text:
                return [f"{pad}<{tag}{attrs}/>"]
            return [f"{pad}<{tag}{attrs}>{text}</{tag}>"]
        lines = [f"{pad}<{tag}{attrs}>{text}"]
        for k, v in children:
            lines.extend(_xml_element(k, v, indent, level + 1, pretty))
        lines.append(f"{pad}</{tag}>")
        return lines
    if value is None:
        return [f"{pad}<{tag}/>"]
    return [f"{pad}<{tag}>{_xml_text(value)}</{tag}>"]


@method("format_xml", category=CATEGORY,
        params=[Param("indent", "string", "    ", "The indentation string."),
                Param("no_indent", "bool", False, "Disable indentation."),
                Param("root_tag", "string", optional=True, description="A root element to wrap the document in.")],
        description="Serialises an object as XML bytes.")  # fmt: skip
def format_xml(ctx: Any, target: Any, indent: str = "    ", no_indent: bool = False,
               root_tag: str | None = None) -> Any:  # fmt: skip
    if type(target) is not dict:
        raise TypeMismatch("object", target)
    if root_tag:
        tag, value = root_tag, target
    elif len(target) == 1:
        tag, value = next(iter(target.items()))
    else:
        tag, value = "doc", target
    lines = _xml_element(tag, value, indent, 0, not no_indent)
    return ("".join(lines) if no_indent else "\n".join(lines)).encode()


# ---------------------------------------------------------------------------------------------
# MessagePack


def _pack(v: Any, out: bytearray) -> None:
    t = type(v)
    if v is None:
        out.append(0xC0)
    elif t is bool:
        out.append(0xC3 if v else 0xC2)
    elif t is int or (
        t is JsonNumber and re.fullmatch(r"-?\d+", v.lexeme) and INT64_MIN <= int(v.lexeme) <= INT64_MAX
    ):
        n = int(v.lexeme) if t is JsonNumber else v
        if 0 <= n < 128:
            out.append(n)
        elif -32 <= n < 0:
            out.append(n & 0xFF)
        elif 0 <= n <= 0xFF:
            out += b"\xcc" + struct.pack(">B", n)
        elif 0 <= n <= 0xFFFF:
            out += b"\xcd" + struct.pack(">H", n)
        elif 0 <= n <= 0xFFFFFFFF:
            out += b"\xce" + struct.pack(">I", n)
        elif n > 0:
            out += b"\xcf" + struct.pack(">Q", n)
        elif n >= -128:
            out += b"\xd0" + struct.pack(">b", n)
        elif n >= -32768:
            out += b"\xd1" + struct.pack(">h", n)
        elif n >= -(1 << 31):
            out += b"\xd2" + struct.pack(">i", n)
        else:
            out += b"\xd3" + struct.pack(">q", n)
    elif t is float or t is JsonNumber:
        out += b"\xcb" + struct.pack(">d", float(v))
    elif t is str or hasattr(v, "tzinfo"):
        data = (v if t is str else format_timestamp(v)).encode("utf-8", "surrogatepass")
        n = len(data)
        if n < 32:
            out.append(0xA0 | n)
        elif n <= 0xFF:
            out += b"\xd9" + struct.pack(">B", n)
        elif n <= 0xFFFF:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += data
    elif t is bytes:
        n = len(v)
        if n <= 0xFF:
            out += b"\xc4" + struct.pack(">B", n)
        elif n <= 0xFFFF:
            out += b"\xc5" + struct.pack(">H", n)
        else:
            out += b"\xc6" + struct.pack(">I", n)
        out += v
    elif t is list:
        n = len(v)
        if n < 16:
            out.append(0x90 | n)
        elif n <= 0xFFFF:
            out += b"\xdc" + struct.pack(">H", n)
        else:
            out += b"\xdd" + struct.pack(">I", n)
        for x in v:
            _pack(x, out)
    elif t is dict:
        n = len(v)
        if n < 16:
            out.append(0x80 | n)
        elif n <= 0xFFFF:
            out += b"\xde" + struct.pack(">H", n)
        else:
            out += b"\xdf" + struct.pack(">I", n)
        for k in sorted(v):
            _pack(k, out)
            _pack(v[k], out)
    else:
        raise EvalError(f"msgpack: cannot encode value of type {type(v).__name__}")


@method("format_msgpack", category=CATEGORY, description="Serialises a value as MessagePack bytes.")
def format_msgpack(ctx: Any, target: Any) -> Any:
    out = bytearray()
    _pack(target, out)
    return bytes(out)


class _Unpacker:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise EvalError("msgpack: unexpected EOF")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self) -> Any:
        b = self.take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0x80 <= b <= 0x8F:
            return self._map(b & 0x0F)
        if 0x90 <= b <= 0x9F:
            return [self.value() for _ in range(b & 0x0F)]
        if 0xA0 <= b <= 0xBF:
            return self._str(b & 0x1F)
        simple: dict[int, Any] = {
            0xC0: lambda: None, 0xC2: lambda: False, 0xC3: lambda: True,
            0xC4: lambda: self.take(self.unpack(">B")), 0xC5: lambda: self.take(self.unpack(">H")),
            0xC6: lambda: self.take(self.unpack(">I")),
            0xCA: lambda: float(self.unpack(">f")), 0xCB: lambda: self.unpack(">d"),
            0xCC: lambda: self.unpack(">B"), 0xCD: lambda: self.unpack(">H"), 0xCE: lambda: self.unpack(">I"),
            0xCF: lambda: self._u64(), 0xD0: lambda: self.unpack(">b"), 0xD1: lambda: self.unpack(">h"),
            0xD2: lambda: self.unpack(">i"), 0xD3: lambda: self.unpack(">q"),
            0xD9: lambda: self._str(self.unpack(">B")), 0xDA: lambda: self._str(self.unpack(">H")),
            0xDB: lambda: self._str(self.unpack(">I")),
            0xDC: lambda: [self.value() for _ in range(self.unpack(">H"))],
            0xDD: lambda: [self.value() for _ in range(self.unpack(">I"))],
            0xDE: lambda: self._map(self.unpack(">H")), 0xDF: lambda: self._map(self.unpack(">I")),
        }  # fmt: skip
        fn = simple.get(b)
        if fn is None:
            raise EvalError(f"msgpack: unsupported type code 0x{b:02x}")
        return fn()

    def _u64(self) -> Any:
        n = self.unpack(">Q")
        return n if n <= INT64_MAX else float(n)

    def _str(self, n: int) -> str:
        return self.take(n).decode("utf-8", "replace")

    def _map(self, n: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for _ in range(n):
            k = self.value()
            out[k if type(k) is str else to_text(k)] = self.value()
        return out


@method("parse_msgpack", category=CATEGORY, description="Parses MessagePack bytes into a structured value.")
def parse_msgpack(ctx: Any, target: Any) -> Any:
    unpacker = _Unpacker(as_bytes(target))
    return unpacker.value()


# ---------------------------------------------------------------------------------------------
# formats benthic cannot parse without third-party libraries


def _unsupported(name: str, category: str, reason: str, params: list[Param] | None = None) -> None:
    def impl(ctx: Any, target: Any, *args: Any) -> Any:
        raise EvalError(f"{name} is not supported by benthic: {reason}")

    method(name, category=category, params=params, description=f"Unsupported in benthic: {reason}.")(impl)


_unsupported("parse_parquet", CATEGORY, "no Parquet reader in the Python standard library",
             [Param("byte_array_as_string", "bool", False)])  # fmt: skip
_unsupported("vector", "SQL", "SQL vector values need a database driver")
