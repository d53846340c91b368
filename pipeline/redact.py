"""What counts as a secret outside a field marked secret, and how it is hidden.

Upstream hides the fields its specs mark secret (``echo`` prints ``!!!SECRET_SCRUBBED!!!``) and,
in a URL, the password of the user-info (Go's ``URL.Redacted`` writes ``xxxxx``). A config carries
secrets in more places than that: header values (``Authorization: Bearer ...``), query parameters
(``?api_key=...``) and URLs embedded in free text such as an error or a log line. benthic hides
these by rule, not by a list of fields, so a new component is covered without doing anything:

- a header or query parameter is sensitive when its name looks like a credential
  (:func:`is_sensitive_name`);
- a URL keeps its scheme, host, path and harmless parameters; its password and sensitive
  parameter values are masked (:func:`redact_url`);
- free text has every URL in it redacted the same way, and the credentials a response body or an
  error can echo outside a URL (bearer tokens, JWTs, header lines such as ``Authorization: ...``,
  sensitive JSON members and ``name=value`` pairs) masked (:func:`redact_text`).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

SECRET_MASK = "!!!SECRET_SCRUBBED!!!"
"""What ``echo``, the debug endpoints and the streams API print in place of a secret field."""

URL_MASK = "xxxxx"
"""What replaces a password or a sensitive parameter inside a URL (Go's ``URL.Redacted`` uses it)."""

_SENSITIVE_NAME = re.compile(
    r"authori[sz]ation|cookie|token|secret|passw(or)?d|pwd|api[-_]?key|apikey|access[-_]?key|"
    r"private[-_]?key|signature|sig$|credential|session|auth$",
    re.IGNORECASE,
)

# A URL in free text: a scheme, then anything up to white space or a quote/bracket that closes it.
# A backslash ends it too: in an escaped log line or JSON string it starts the escape of a quote.
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>()\[\]{}\\]+")


def is_sensitive_name(name: str) -> bool:
    """True for a header, query parameter or field name that usually holds a credential."""
    return bool(_SENSITIVE_NAME.search(name))


def redact_url(url: str) -> str:
    """The URL with its password and the values of its sensitive query parameters masked.

    A URL that cannot be parsed comes back whole only when it holds neither ``@`` nor ``?``;
    otherwise everything after the scheme is masked, because a malformed URL can still carry a
    credential.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        if "@" not in url and "?" not in url:
            return url
        scheme, sep, _ = url.partition("://")
        return f"{scheme}{sep}{URL_MASK}" if sep else URL_MASK
    netloc = parts.netloc
    if parts.password is not None:
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 literal keeps its brackets
            host = f"[{host}]"
        netloc = f"{parts.username or ''}:{URL_MASK}@{host}" + (f":{port}" if port else "")
    query = parts.query
    if query:
        # parameter by parameter on the raw text, so that what is not a secret stays as written
        query = "&".join(_redact_parameter(p) for p in query.split("&"))
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _redact_parameter(parameter: str) -> str:
    name, sep, _ = parameter.partition("=")
    return f"{name}={URL_MASK}" if sep and is_sensitive_name(unquote_plus(name)) else parameter


# Credentials that free text (a response body echoing a request, an error) can carry outside a URL:
# a bearer token or basic credentials, a JWT, a sensitive JSON member or ``name=value`` pair.
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/-]+=*)", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_JSON_MEMBER = re.compile(r'"([^"\\]{1,64})"(\s*:\s*)"((?:[^"\\]|\\.)*)"')
_NAME_VALUE = re.compile(r"\b([A-Za-z][A-Za-z0-9_.-]{0,63})=([^&\s\"'<>]+)")
# A header line in free text (a dumped request or response): at the start of a line, or after an
# escaped line break ("\n" written out, as in a quoted log value); the value runs to the line's end
# (a quote that ends a quoted log value is left in place).
_HEADER_LINE = re.compile(
    r"(?:^|(?<=\\n)|(?<=\\r))([ \t]*)([A-Za-z][A-Za-z0-9_-]{0,63})(:[ \t]*)"
    r'((?:[^\r\n\\"]|\\(?![rn])|"(?!\s|$))+)',
    re.MULTILINE,
)


def _mask_auth_scheme(match: re.Match[str]) -> str:
    scheme, space, credential = match.groups()
    if scheme.lower() == "basic" and not _is_basic_credential(credential):
        return match.group(0)  # the words "basic authentication", not a credential
    return f"{scheme}{space}{SECRET_MASK}"


def _is_basic_credential(text: str) -> bool:
    """True when ``text`` is base64 of ``user:password``, as a ``Basic`` header carries."""
    try:
        return b":" in base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        return False


def _mask_member(match: re.Match[str]) -> str:
    name, colon, value = match.groups()
    if not value or not is_sensitive_name(name) or value in (SECRET_MASK, URL_MASK):
        return match.group(0)
    return f'"{name}"{colon}"{SECRET_MASK}"'


def _mask_header_line(match: re.Match[str]) -> str:
    indent, name, colon, value = match.groups()
    if not is_sensitive_name(name) or value.strip() in (SECRET_MASK, URL_MASK):
        return match.group(0)
    scheme = _SCHEME_WORD.match(value)  # "Bearer <token>": the scheme says how, not what
    kept = scheme.group(0) if scheme is not None and scheme.group(1).lower() in _AUTH_SCHEMES else ""
    if value[len(kept) :].strip() in (SECRET_MASK, URL_MASK, ""):
        return match.group(0)
    return f"{indent}{name}{colon}{kept}{SECRET_MASK}"


_SCHEME_WORD = re.compile(r"([A-Za-z][A-Za-z0-9-]*)\s+")
_AUTH_SCHEMES = {"basic", "bearer", "digest", "token", "negotiate", "ntlm", "hoba", "mutual", "apikey"}


def _mask_pair(match: re.Match[str]) -> str:
    name, value = match.groups()
    if not is_sensitive_name(name) or value in (SECRET_MASK, URL_MASK):
        return match.group(0)
    return f"{name}={SECRET_MASK}"


def _redact_url_match(match: re.Match[str]) -> str:
    # punctuation that ends a sentence or precedes an error ("at nats://h:4222: refused") is not
    # part of the URL, and would make its port unparseable
    url = match.group(0)
    core = url.rstrip(".,:;!?")
    return redact_url(core) + url[len(core) :]


def redact_text(text: str) -> str:
    """Free text (an error, a log line, a response body) with every URL in it redacted, and the
    credentials text can carry outside a URL masked: ``Bearer``/``Basic`` credentials, JWTs,
    header lines (``Authorization: ...`` in a dumped request), JSON members and ``name=value``
    pairs whose name looks like a credential."""
    if "://" in text:
        text = _URL_IN_TEXT.sub(_redact_url_match, text)
    if '"' in text:
        text = _JSON_MEMBER.sub(_mask_member, text)
    if "=" in text:
        text = _NAME_VALUE.sub(_mask_pair, text)
    if ":" in text:
        text = _HEADER_LINE.sub(_mask_header_line, text)
    text = _AUTH_SCHEME.sub(_mask_auth_scheme, text)
    if "eyJ" in text:
        text = _JWT.sub(SECRET_MASK, text)
    return text


def url_secrets(text: str) -> list[str]:
    """The credentials that :func:`redact_text` would hide in a text: URL passwords and the
    values of sensitive query parameters (the logger masks them wherever they appear alone)."""
    found: list[str] = []
    for match in _URL_IN_TEXT.finditer(text):
        try:
            parts = urlsplit(match.group(0))
        except ValueError:
            continue
        if parts.password:
            found.append(parts.password)
        found.extend(
            v for k, v in parse_qsl(parts.query, keep_blank_values=True) if v and is_sensitive_name(k)
        )
    return found
