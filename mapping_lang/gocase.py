"""Unicode case mapping as upstream's Go methods do it.

``uppercase``/``lowercase`` call Go's ``strings.ToUpper``/``ToLower``: one rune in, one rune out,
using the *simple* mapping of UnicodeData.txt. Python's ``str.upper``/``lower`` apply the *full*
mapping (``"ß".upper() == "SS"``, ``"İ".lower() == "i̇"``) and a final-sigma rule; here a rune whose
full mapping is longer than one character keeps its simple mapping instead, and sigma is mapped
rune by rune.

``capitalize`` calls ``cases.Title(language.English)`` from golang.org/x/text: the first cased
rune of a word takes its (full) title case, the rest of the word is lower-cased (with final
sigma), and words are split by an approximation of Unicode word breaking: letters, digits,
combining marks, format characters and connector punctuation (``_``) continue a word; apostrophe,
full stop, colon and their look-alikes (``MidLetter``/``MidNumLet``) continue it only when single;
everything else starts a new word.

Where we differ: Python's Unicode tables (``unicodedata``) stand in for Go's, so a character
added to Unicode in a version only one side knows maps differently. Ideographs, kana and
South-East Asian scripts, which Go treats as word breaks for title casing, are treated here the
same way by script range, not by the WordBreakProperty table.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# WordBreakProperty MidLetter, MidNumLet and Single_Quote runes.
_MID = frozenset("'.:\u00b7\u0387\u055f\u05f4\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a")

# Letters Unicode word breaking does not count as ALetter (ideographs, kana, South-East Asian
# scripts): x/text treats them as breaks.
_NON_ALETTER_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x1950, 0x19DF),  # Tai Le, New Tai Lue
    (0x1A20, 0x1AAF),  # Tai Tham
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3005, 0x3007),
    (0x3021, 0x3029),
    (0x3031, 0x3035),  # kana repeat marks
    (0x3038, 0x303B),
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),
    (0x32D0, 0x32FE),
    (0x3300, 0x3357),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAA60, 0xAADF),  # Myanmar ext, Tai Viet
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0x20000, 0x3FFFF),
)

_BREAK, _LETTER, _MIDCAT = 0, 1, 2


@lru_cache(maxsize=4096)
def _simple_upper(c: str) -> str:
    u = c.upper()
    if len(u) == 1:
        return u
    # The full mapping expands; the simple one is the title-case rune when that is a single
    # rune (Greek with ypogegrammeni), else the rune itself (ß, ligatures, ŉ, ǰ, ...).
    t = c.title()
    return t if len(t) == 1 else c


@lru_cache(maxsize=4096)
def _simple_lower(c: str) -> str:
    lo = c.lower()
    if len(lo) == 1:
        return lo
    return "i" if c == "\u0130" else c


def go_upper(s: str) -> str:
    """strings.ToUpper."""
    if s.isascii():
        return s.upper()
    r = s.upper()
    if len(r) == len(s):  # no rune expanded, so the full mapping equals the simple one here
        return r
    return "".join(map(_simple_upper, s))


def go_lower(s: str) -> str:
    """strings.ToLower."""
    if s.isascii():
        return s.lower()
    r = s.lower()
    if len(r) == len(s) and "\u03a3" not in s:
        return r
    return "".join(map(_simple_lower, s))


def go_upper_bytes(b: bytes) -> bytes:
    """bytes.ToUpper: invalid UTF-8 comes out as U+FFFD, as Go's bytes.Map writes it."""
    if b.isascii():
        return b.upper()
    return go_upper(b.decode("utf-8", "replace")).encode()


def go_lower_bytes(b: bytes) -> bytes:
    if b.isascii():
        return b.lower()
    return go_lower(b.decode("utf-8", "replace")).encode()


@lru_cache(maxsize=4096)
def _is_cased(c: str) -> bool:
    return unicodedata.category(c) in ("Lu", "Ll", "Lt") or c.lower() != c or c.upper() != c


@lru_cache(maxsize=4096)
def _break_cat(c: str) -> int:
    if c in _MID:
        return _MIDCAT
    cat = unicodedata.category(c)
    if cat[0] == "L" or cat == "Nl":
        o = ord(c)
        for lo, hi in _NON_ALETTER_RANGES:
            if lo <= o <= hi:
                return _BREAK
        return _LETTER
    if cat in ("Nd", "Mn", "Me", "Mc", "Cf", "Pc"):
        return _LETTER
    return _BREAK


def _is_case_ignorable(c: str) -> bool:
    return c in _MID or unicodedata.category(c) in ("Mn", "Me", "Cf", "Lm", "Sk")


def _final_sigma(s: str, i: int) -> bool:
    """Whether the capital sigma at s[i] ends a word (no cased rune follows, ignorables skipped)."""
    for c in s[i + 1 :]:
        if _is_case_ignorable(c):
            continue
        return not _is_cased(c)
    return True


def go_title(s: str) -> str:
    """cases.Title(language.English).String(s)."""
    out: list[str] = []
    mid_word = False
    prev_mid = False
    for i, c in enumerate(s):
        cat = _break_cat(c)
        if prev_mid and cat == _MIDCAT:
            mid_word = False  # two mid-word punctuation marks in a row end the word
        if _is_cased(c):
            if not mid_word:
                out.append(c.title())
                mid_word = True
            elif c == "\u03a3":
                out.append("\u03c2" if _final_sigma(s, i) else "\u03c3")
            else:
                out.append(c.lower())
        else:
            out.append(c)
            if cat == _BREAK:
                mid_word = False
        prev_mid = cat == _MIDCAT
    return "".join(out)
