"""golang-commonmark's linkify: where upstream's markdown parser finds bare web and e-mail
addresses in text, reproduced for the ``text_chunker`` processor's ``markdown`` strategy.

Upstream's parser (golang-commonmark/markdown) does not use linkify-it, as markdown-it does, but
its own scanner (golang-commonmark/linkify): it looks at each ".", "/", ":" and "@" in the text
and grows an address around it by hand-written rules; a host name must end in a top-level domain
from its list (or be an IPv4 address, or localhost with a port). This follows the scanner of
October 2019, the newest we could read (upstream builds with one of February 2020). The scanner works on UTF-8
bytes, and so does this one, so positions and the handling of bytes that are not UTF-8 agree.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

# the top-level domains golang-commonmark's scanner knows, and the octets of an IPv4 address,
# which it matches in the same table ("0." to "255.")
_TLDS = frozenset(
    """
abb abbott abogado ac academy accenture accountant accountants active actor ad ads adult ae aero
af afl ag agency ai aig airforce al allfinanz alsace am amsterdam an android ao apartments aq
aquarelle ar archi army arpa as asia associates at attorney au auction audio auto autos aw ax
axa az ba band bank bar barclaycard barclays bargains bauhaus bayern bb bbc bbva bd be beer
berlin best bf bg bh bi bible bid bike bingo bio bit biz bj black blackfriday bloomberg blue bm
bmw bn bnpparibas bo boats bond boo boutique br bridgestone broker brother brussels bs bt
budapest build builders business buzz bv bw by bz bzh ca cab cafe cal camera camp cancerresearch
canon capetown capital caravan cards care career careers cars cartier casa cash casino cat
catering cbn cc cd center ceo cern cf cfa cfd cg ch channel chat cheap chloe christmas chrome
church ci cisco citic city ck cl claims cleaning click clinic clothing club cm cn co coach codes
coffee college cologne com community company computer condos construction consulting contractors
cooking cool coop corsica country coupons courses cr credit creditcard cricket crs cruises cu
cuisinella cv cw cx cy cymru cyou cz dabur dad dance date dating datsun day dclk de deals degree
delivery democrat dental dentist desi design dev diamonds diet digital direct directory discount
dj dk dm dnp do docs dog doha domains doosan download durban dvag dz earth eat ec edu education
ee eg email emerck energy engineer engineering enterprises epson equipment er erni es esq estate
et eu eurovision eus events everbank exchange exit expert exposed express fail faith fan fans
farm fashion feedback fi film finance financial firmdale fish fishing fit fitness fj fk flights
florist flowers flsmidth fly fm fo foo football forex forsale foundation fr frl frogans fund
furniture futbol fyi ga gal gallery garden gb gbiz gd gdn ge gent gf gg ggee gh gi gift gifts
gives gl glass gle global globo gm gmail gmo gmx gn gnu gold goldpoint golf goo goog google gop
gov gp gq gr graphics gratis green gripe gs gt gu guge guide guitars guru gw gy hamburg hangout
haus healthcare help here hermes hiphop hitachi hiv hk hm hn hockey holdings holiday homedepot
homes honda horse host hosting house how hr ht hu i2p ibm icbc icu id ie ifm il im immo
immobilien in industries infiniti info ing ink institute insure int international investments io
iq ir irish is it iwc java jcb je jetzt jewelry jll jm jo jobs joburg jp juegos kaufen kddi ke
kg kh ki kim kitchen kiwi km kn koeln komatsu kp kr krd kred kw ky kyoto kz la lacaixa land lat
latrobe lawyer lb lc lds lease leclerc legal lgbt li liaison lidl life lighting limited limo
link lk loan loans local lol london lotte lotto love lr ls lt ltda lu lupin luxe luxury lv ly ma
madrid maif maison management mango market marketing markets marriott mba mc md me media meet
melbourne meme memorial men menu mg mh miami mil mini mk ml mm mma mn mo mobi moda moe monash
money mormon mortgage moscow motorcycles mov movie mp mq mr ms mt mtn mtpc mu museum mv mw mx my
mz na nadex nagoya name navy nc ne nec net network neustar new news nexus nf ng ngo nhk ni nico
ninja nissan nl no np nr nra nrw ntt nu nyc nz okinawa om one ong onion onl online ooo oracle
org organic osaka otsuka ovh pa page panerai paris partners parts party pe pf pg ph pharmacy
philips photo photography photos physio piaget pics pictet pictures pink pizza pk pl place
plumbing plus pm pn pohl poker porn post pr praxi press pro prod productions prof properties
property ps pt pub pw py qa qpon quebec racing re realtor recipes red redstone rehab reise
reisen reit ren rent rentals repair report republican rest restaurant review reviews rich rio
rip ro rocks rodeo rs rsvp ru ruhr run rw ryukyu sa saarland sale samsung sandvik
sandvikcoromant sap sarl saxo sb sc sca scb schmidt scholarships school schule schwarz science
scot sd se seat sener services sew sex sexy sg sh shiksha shoes show shriram si singles site sj
sk ski sky sl sm sn sncf so soccer social software sohu solar solutions sony soy space spiegel
spreadbetting sr st study style su sucks supplies supply support surf surgery suzuki sv swiss sx
sy sydney systems sz taipei tatar tattoo tax taxi tc td team tech technology tel temasek tennis
tf tg th thd theater tickets tienda tips tires tirol tj tk tl tm tn to today tokyo tools top
toray toshiba tours town toys tr trade trading training travel trust tt tui tv tw tz ua ug uk
university uno uol us uy uz va vacations vc ve vegas ventures versicherung vet vg vi viajes
video villas vision vlaanderen vn vodka vote voting voto voyage vu wales walter wang watch
webcam website wed wedding weir wf whoswho wien wiki williamhill win wme work works world ws wtc
wtf xbox xerox xin xn-- xxx xyz yachts yandex ye yodobashi yoga yokohama youtube yt za zip zkey
zm zone zuerich zw
""".split()
)
_SUFFIXES = frozenset(name.encode() for name in _TLDS) | frozenset(f"{n}.".encode() for n in range(256))
_LONGEST_SUFFIX = max(len(suffix) for suffix in _SUFFIXES)

_UNRESERVED = frozenset(b"-._~")
_TRAILING_PUNCT = frozenset(b".,?!;:")
_SUB_DELIMITERS = frozenset(b"!$&'()*+,;=")
_EMAIL_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-")
# Go's unicode.IsSpace (strings.TrimSpace trims these); unlike str.isspace, not U+001C..U+001F
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_BAD = "\ufffd"  # what Go's UTF-8 decoder gives for a byte that starts no character


class Link(NamedTuple):
    scheme: str  # "", "//", "http:", "https:", "ftp:" or "mailto:"
    start: int  # byte offsets into the UTF-8 text
    end: int


def _rune_at(s: bytes, pos: int) -> tuple[str, int]:
    """The character starting at byte ``pos`` and its length, as Go's utf8.DecodeRune."""
    if pos >= len(s):
        return _BAD, 0
    lead = s[pos]
    size = (
        1 if lead < 0x80 else 2 if lead >> 5 == 6 else 3 if lead >> 4 == 14 else 4 if lead >> 3 == 30 else 0
    )
    if size:
        try:
            return s[pos : pos + size].decode("utf-8"), size
        except UnicodeDecodeError:
            pass
    return _BAD, 1


def _rune_before(s: bytes, end: int) -> tuple[str, int]:
    """The character ending at byte ``end`` and its length, as Go's utf8.DecodeLastRune."""
    if end <= 0:
        return _BAD, 0
    start = end - 1
    while start > max(0, end - 4) and s[start] & 0xC0 == 0x80:
        start -= 1
    char, size = _rune_at(s, start)
    return (char, size) if start + size == end else (_BAD, 1)


def _letter_or_digit(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] == "L" or category == "Nd"


def _boundary(char: str) -> bool:
    """Punctuation, a separator, a control character, "<" or ">": what may surround an address."""
    category = unicodedata.category(char)
    return char in "<>\uff5c" or category[0] in "PZ" or category == "Cc"


def _unreserved(char: str) -> bool:
    return (len(char) == 1 and ord(char) < 0x7F and ord(char) in _UNRESERVED) or _letter_or_digit(char)


def _sub_delimiter(char: str) -> bool:
    return ord(char) < 0x7F and ord(char) in _SUB_DELIMITERS


def _digit(byte: int) -> bool:
    return 0x30 <= byte <= 0x39


def _hex_digit(byte: int) -> bool:
    return _digit(byte) or 0x61 <= byte <= 0x66 or 0x41 <= byte <= 0x46


def _suffix_length(s: bytes, start: int) -> int:
    """The length of the longest known suffix ``s[start:]`` begins with (any case), or -1."""
    head = s[start : start + _LONGEST_SUFFIX].lower()
    best = -1
    for length in range(1, len(head) + 1):
        if head[:length] in _SUFFIXES:
            best = length
    return best


def _number_end(s: bytes, start: int, limit: int, zero_ok: bool) -> int:
    """Where a run of digits from ``start`` ends, or -1 if there is none, it exceeds ``limit``,
    or (unless ``zero_ok``) it is zero."""
    value, pos = 0, start
    while pos < len(s) and _digit(s[pos]):
        value = value * 10 + s[pos] - 0x30
        if value > limit:
            return -1
        pos += 1
    if pos == start or (value == 0 and not zero_ok):
        return -1
    return pos


def _ipv4_length(s: bytes, start: int) -> int:
    """The length of the dotted quad at ``start``, or -1."""
    pos = start
    for octet in range(4):
        if pos >= len(s):
            return -1
        if octet:
            if s[pos] != 0x2E:
                return -1
            pos += 1
        pos = _number_end(s, pos, 255, True)
        if pos < 0:
            return -1
    return pos - start


def _skip_port(s: bytes, start: int) -> int:
    if start >= len(s) or s[start] != 0x3A:
        return start
    end = _number_end(s, start + 1, 65535, False)
    return start if end < 0 else end


def _skip_part(s: bytes, start: int, lead: int, extra: bytes, hyphen_run: int) -> int:
    """Past a path ("/"), query ("?") or fragment ("#") from ``start``: brackets must balance
    (an unclosed one ends the address where it opened; a space is allowed only inside one), a
    "%" must start an escape, and a run of more than ``hyphen_run`` hyphens ends it."""
    if start >= len(s) or s[start] != lead:
        return start
    stack: list[str] = []
    unclosed = 0
    hyphens = 0
    end = start + 1
    while end < len(s):
        char, size = _rune_at(s, end)
        if char == _BAD:
            hyphens = 0
            break
        if _unreserved(char):
            if char == "-":
                hyphens += 1
                if hyphens > hyphen_run:
                    break
            else:
                hyphens = 0
        elif _sub_delimiter(char) or char in "[]":
            hyphens = 0
            if char in "[(":
                if not stack:
                    unclosed = end
                stack.append(char)
            elif char in "])":
                if not stack or stack[-1] != ("[" if char == "]" else "("):
                    break
                stack.pop()
        elif len(char) == 1 and ord(char) < 0x80 and ord(char) in extra:
            hyphens = 0
        elif char == "%":
            hyphens = 0
            if end + 2 >= len(s) or not (_hex_digit(s[end + 1]) and _hex_digit(s[end + 2])):
                break
            end += 2
        else:
            hyphens = 0
            if char != " " or not stack:
                break
        end += size
    if stack:
        return unclosed
    if hyphens > 0:
        return end - hyphens + 1
    return end


def _skip_tail(s: bytes, end: int, port: bool = True) -> int:
    """Past the port, path, query and fragment after a host, less one trailing punctuation mark."""
    if port:
        end = _skip_port(s, end)
    end = _skip_part(s, end, 0x2F, b"/:@", 2)
    end = _skip_part(s, end, 0x3F, b"?/:@", 1)
    end = _skip_part(s, end, 0x23, b"?/:@", 1)
    if 0 < end <= len(s) and s[end - 1] in _TRAILING_PUNCT:
        return end - 1
    return end


def _ends_well(s: bytes, end: int) -> bool:
    """An address must be followed by the end of the text, or a boundary other than "%"."""
    if end >= len(s):
        return True
    char, _ = _rune_at(s, end)
    return _boundary(char) and char != "%"


def _hostname_start(s: bytes, start: int) -> int:
    """Where the host name that ends at ``start`` begins, or -1 if it is not a host name."""
    end, after_dot, hyphens = start, True, 0
    while end > 0:
        char, size = _rune_before(s, end)
        if char == _BAD:
            return -1
        if char == ".":
            if hyphens:
                return -1
            after_dot = True
        elif char == "-":
            if end == start or after_dot:
                return -1
            hyphens += 1
            if hyphens == 3:
                return -1
        elif char in ":/\\_":
            return -1
        elif _boundary(char):
            break
        else:  # a letter, a digit, or any other character that is no boundary
            after_dot, hyphens = False, 0
        end -= size
    if after_dot or hyphens:
        return -1
    return end


def _hostname_end(s: bytes, start: int) -> tuple[int, int] | None:
    """Where the host name from ``start`` ends, and where its last dot is (-1 if it has none)."""
    end, after_dot, last_dot, hyphens = start, False, -1, 0
    while end < len(s):
        char, size = _rune_at(s, end)
        if char == _BAD:
            return None
        if char == ".":
            if hyphens:
                return None
            if after_dot:
                break
            after_dot, last_dot, hyphens = True, end, 0
        elif char == "-":
            after_dot = False
            if end == start:
                return None
            hyphens += 1
            if hyphens == 3:
                break
        elif char in "\\_":
            return None
        elif _boundary(char):
            break
        else:  # a letter, a digit, or any other character that is no boundary
            after_dot, hyphens = False, 0
        end += size
    if hyphens:
        end -= hyphens
    elif after_dot:
        if s[end - 1] == 0x2E:
            end -= 1
        last_dot = end - 1
        while last_dot >= start and s[last_dot] != 0x2E:
            last_dot -= 1
        if last_dot < start:
            last_dot = -1
    return end, last_dot


def _known_domain(s: bytes, dot: int, end: int) -> bool:
    """Whether the host name ending at ``end`` has a known top-level domain after ``dot`` (or is
    an internationalised one)."""
    if s[dot + 1 : dot + 5] == b"xn--":
        return True
    return dot + _suffix_length(s, dot + 1) + 1 == end


def _email_start(s: bytes, start: int) -> int:
    """Where the local part of an address that ends at ``start`` begins, or -1."""
    end, dot_ok = start, False
    while end >= 0:
        byte = s[end]
        if byte in _EMAIL_CHARS:
            dot_ok = True
        elif byte == 0x2E:
            if not dot_ok:
                return -1
            dot_ok = False
        else:
            if end == start or s[end + 1] == 0x2E:
                return -1
            char, _ = _rune_before(s, end + 1)
            if char == _BAD or char not in GO_SPACE:
                return -1
            return end + 1
        end -= 1
    if end < start and s[end + 1] == 0x2E:
        return -1
    return end + 1


def _email_end(s: bytes, start: int) -> int:
    """Where an address whose local part starts at ``start`` ends, or -1."""
    end, dot_ok = start, False
    while end < len(s):
        byte = s[end]
        if byte in _EMAIL_CHARS:
            dot_ok = True
        elif byte == 0x2E:
            if not dot_ok:
                return -1
            dot_ok = False
        elif byte == 0x40:
            break
        else:
            return -1
        end += 1
    if end >= len(s) - 5 or (end > start and s[end - 1] == 0x2E):
        return -1
    host = _hostname_end(s, end + 1)
    if host is None or host[1] == -1:
        return -1
    end, dot = host
    return end if _known_domain(s, dot, end) else -1


def _after_dot(s: bytes, i: int, links: list[Link]) -> tuple[int, bool]:
    """An IPv4 address or a domain name around the "." at ``i``: where to resume (``i`` itself
    if nothing was found) and whether the scan is over."""
    length = _suffix_length(s, i + 1)
    if length <= 0:
        return i, False
    pos = i + 1 + length
    if s[pos - 1] == 0x2E:  # an octet and its dot: an IPv4 address
        if pos >= len(s):
            return i, False
        if not _digit(s[i - 1]) or not _digit(s[pos]):
            return pos, False
        j = i - 2
        lowest = max(0, j - 3)
        while j >= lowest and _digit(s[j]):
            j -= 1
        if i - 2 - j > 2:
            return pos + 1, False  # at most three digits
        start = 0
        if j >= 0:
            char, size = _rune_before(s, j + 1)
            if not _boundary(char) or char in ".:/\\-_":
                return pos + 1, False
            start = j + 2 - size
        quad = _ipv4_length(s, start)
        if quad < 0:
            return pos + 1, False
        end = start + quad
        if end == len(s):
            links.append(Link("", start, end))
            return i, True
        if not _boundary(_rune_at(s, end)[0]):
            return i, False
        end = _skip_tail(s, end)
        if not _ends_well(s, end):
            return i, False
        links.append(Link("", start, end))
        return end, False
    # a domain name: no boundary before the dot, a known top-level domain after it
    if _boundary(_rune_before(s, i)[0]):
        return i, False
    if pos == len(s):
        start = _hostname_start(s, i)
        if start < 0:
            return i, False
        links.append(Link("", start, pos))
        return i, True
    if s[i + 1 : pos] != b"xn--" and _letter_or_digit(_rune_at(s, pos)[0]):
        return i, False
    host = _hostname_end(s, pos)
    if host is None:
        return i, False
    end, dot = host
    if not _known_domain(s, max(dot, i), end):
        return i, False
    start = _hostname_start(s, i)
    if start < 0:
        return i, False
    end = _skip_tail(s, end)
    if not _ends_well(s, end):
        return i, False
    links.append(Link("", start, end))
    return end, False


def _after_slashes(s: bytes, i: int, links: list[Link]) -> int:
    """A scheme-relative address ("//host/...") at ``i``: where to resume."""
    if s[i + 1] != 0x2F:
        return i
    if i > 0:
        if s[i - 1] == 0x3A or not _boundary(_rune_before(s, i)[0]):
            return i + 1
    if not _letter_or_digit(_rune_at(s, i + 2)[0]):
        return i + 1
    host = _hostname_end(s, i + 2)
    if host is None:
        return i
    end, dot = host
    if s[i + 2 : end] != b"localhost":
        if dot == -1:
            return i
        quad = _ipv4_length(s, i + 2)
        if (quad < 0 or i + 2 + quad != end) and dot + _suffix_length(s, dot + 1) + 1 != end:
            return i
    end = _skip_tail(s, end)
    if not _ends_well(s, end):
        return i
    links.append(Link("//", i, end))
    return end


def _after_colon(s: bytes, i: int, links: list[Link]) -> int:
    """An address with a scheme (http, https, ftp, mailto) or localhost with a port, around the
    ":" at ``i``: where to resume."""
    if i < 3:
        return i
    if i >= 9 and s[i - 9 : i] == b"localhost":
        j = i - 9
        if not _digit(s[j + 10]):
            return i
        if j > 0 and not _boundary(_rune_before(s, j)[0]):
            return i + 1
        end = _skip_port(s, j + 9)
        if end == j + 9:
            return i
        end = _skip_tail(s, end, port=False)
        if not _ends_well(s, end):
            return i + 1
        links.append(Link("", j, end))
        return end
    j = i - 1
    marker = s[j] | 0x20 if 0x41 <= s[j] <= 0x5A else s[j]
    if marker == 0x6F:  # mailto:
        if j < 5 or len(s) - j < 8 or s[j - 5 : j + 2].lower() != b"mailto:":
            return i
        if _letter_or_digit(_rune_before(s, j - 5)[0]):
            return i
        char, _ = _rune_at(s, j + 2)
        if not (ord(char) < 0x7F and ord(char) in _EMAIL_CHARS):
            return i
        end = _email_end(s, j + 2)
        if end < 0:
            return i
        links.append(Link("mailto:", j - 5, end))
        return end
    if marker == 0x70:  # http: or ftp:
        if len(s) - j < 8:
            return i
        before = s[j - 2] | 0x20 if 0x41 <= s[j - 2] <= 0x5A else s[j - 2]
        if before == 0x66 and s[j - 2 : j + 4].lower() == b"ftp://":
            start, scheme = j - 2, "ftp:"
        elif before == 0x74 and j >= 3 and s[j - 3 : j + 4].lower() == b"http://":
            start, scheme = j - 3, "http:"
        else:
            return i
    elif marker == 0x73:  # https:
        if j < 4 or len(s) - j < 8 or s[j - 4 : j + 4].lower() != b"https://":
            return i
        start, scheme = j - 4, "https:"
    else:
        return i
    if start > 0 and not _boundary(_rune_before(s, start)[0]):
        return i
    if _boundary(_rune_at(s, j + 4)[0]):
        return i
    host = _hostname_end(s, j + 4)
    if host is None:
        return i
    end, dot = host
    if s[j + 4 : end] != b"localhost":
        if dot == -1:
            return i
        quad = _ipv4_length(s, j + 4)
        if (quad < 0 or j + 4 + quad != end) and not _known_domain(s, dot, end):
            return i
    end = _skip_tail(s, end)
    if not _ends_well(s, end):
        return i
    links.append(Link(scheme, start, end))
    return end


def _around_at(s: bytes, i: int, links: list[Link]) -> int:
    """An e-mail address without a scheme around the "@" at ``i``: where to resume."""
    if i == 0 or len(s) - i < 5:
        return i
    char, _ = _rune_before(s, i)
    if not (ord(char) < 0x7F and ord(char) in _EMAIL_CHARS):
        return i
    if not _letter_or_digit(_rune_at(s, i + 1)[0]):
        return i
    start = _email_start(s, i - 1)
    if start < 0:
        return i
    host = _hostname_end(s, i + 1)
    if host is None or host[1] == -1:
        return i
    end, dot = host
    if not _known_domain(s, dot, end):
        return i
    links.append(Link("mailto:", start, end))
    return end


def find_links(s: bytes) -> list[Link]:
    """The addresses in ``s`` (UTF-8), in order, as golang-commonmark's linkify finds them."""
    links: list[Link] = []
    i = -1
    while True:
        i += 1  # where a rule resumes is the byte before the next one to look at
        if i >= len(s) - 2:
            return links
        byte = s[i]
        if byte == 0x2E:
            if i == 0:
                continue
            i, done = _after_dot(s, i, links)
            if done:
                return links
        elif byte == 0x2F:
            i = _after_slashes(s, i, links)
        elif byte == 0x3A:
            i = _after_colon(s, i, links)
        elif byte == 0x40:
            i = _around_at(s, i, links)
