"""Prompt normalisation for the rule layer: one canonical spelling for the ways people hide words.

Undoes, in order: HTML entities, invisible characters (format characters, combining marks,
variation selectors, blank fillers), compatibility forms (fullwidth, math letters), look-alikes
(Cyrillic, Greek, Armenian and Cherokee letters that render as Latin ones, Latin letters with
strokes and hooks, small capitals), accents, letters spelled apart ("n u d e", "n.u.d.e",
"k - i - l - l"), case, ages ("12yo" -> "minor"), leetspeak inside words ("s3x", "n∆k€d"), and
stretched letters ("nuuude"; a word that is one letter repeated is not stretched: "x", "xx" and
"xxx" stay apart, and a run of more than six is a row of the letter, kept as written).

`unmasked` is a second reading for words broken up by markup or symbols inside them ("na-ked",
"**na**ked", "<b>na</b>ked", "n🔥a🔥k🔥e🔥d", "n*ked"): moderation reads both, because joining
across a hyphen or a tag also joins words that were meant apart ("x-ray", "t-shirt").
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from functools import lru_cache

# Characters that render as nothing (or as blank space inside a word) beyond format (Cf) and
# combining characters: Hangul fillers and the blank Braille pattern.
_BLANK = frozenset(map(ord, "\u115f\u1160\u3164\uffa0\u2800"))

# Look-alikes NFKC leaves alone. Capitals first (Greek and Cherokee capitals look Latin while
# their small letters do not), then small letters, before case folding and again after it (which
# turns Cyrillic and Greek capitals into small letters that look Latin).
_CAPITALS = str.maketrans(
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧᎪᏴᏟᎠᎬᏀᎻᎫᏦᏞᎷᏢᏒᏚᎢᏙᏔᏃ",
    "abezhikmnoptyxabcdeghjklmprstvwz",
)
_SMALL = str.maketrans(
    "аеорсухіјѕԁһӏвнкмтпгьѵүԛԝҽɡєѐёӑӓәӧӱӹӗ"  # Cyrillic
    "αβγεικνορτυχωςϳ"  # Greek
    "օսցհոռքզ"  # Armenian
    "ɑɩǀ⍺℮",  # Latin and APL oddities
    "aeopcyxijsdhlbhkmtnrbvyqwegeeeaaeouyeabyeiknoptuxwcjoughnnpqailae",
)
_LEET = str.maketrans("01345789@$!|+€∆£†§", "oieastbgasiltealts")


def _latin_variants() -> dict[int, str]:
    """Latin letters with a stroke, hook, bar or dot, small capitals and boxed letters, by their
    Unicode names ("LATIN SMALL LETTER D WITH STROKE" -> "d"): the skeleton NFKD cannot give."""
    name = re.compile(
        r"LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?(?:SCRIPT |DOTLESS |REVERSED |OPEN |CLOSED )?"
        r"([A-Z])(?: WITH .*)?|(?:NEGATIVE )?(?:SQUARED|CIRCLED|PARENTHESIZED) LATIN (?:SMALL |CAPITAL )?"
        r"LETTER ([A-Z])"
    )
    table = {}
    for block in (range(0xC0, 0x2C80), range(0xA720, 0xA800), range(0xAB30, 0xAB70), range(0x1F100, 0x1F200)):
        for code in block:
            if (m := name.fullmatch(unicodedata.name(chr(code), ""))) is not None:
                table[code] = next(g for g in m.groups() if g).lower()
    return table


_VARIANTS = _latin_variants() if sys.maxunicode > 0xFFFF else {}

_AGE = re.compile(r"\b(\d{1,2})\s*[-\s]?\s*(?:yo|y/o|yr?s?|years?)(?:[-\s]*old)?\b|\baged?\s+(\d{1,2})\b")
# A run of three or more single characters split by the same gap each time: "n u d e", "s.e.x",
# "k - i - l - l". A different gap ends a word, so "h e i l  h i t l e r" reads as two, and so
# does a capital after a small letter ("D o n a l d T r u m p").
_SPELLED = re.compile(
    r"(?<![\w@$€£§])[\w@$€£§](\s*[._\-*~/|,·•]\s*|\s+)(?:[\w@$€£§]\1){1,}[\w@$€£§](?![\w@$€£§])"
)
_WORD = re.compile(r"[a-z0-9@$!|+€∆£†§*]+")
_STRETCH = re.compile(r"([a-z])\1{2,}")
# The longest word of one letter repeated still read as stretched ("xxxxx", "KKKK": twice "xxx").
_LONGEST_STRETCH = 6
# Markup and symbols inside a word, for `unmasked`: tags and comments, then any run of marks,
# emoji or punctuation (not an apostrophe) between two letters. A `*` standing for a letter stays.
_BOLD = re.compile(r"(?:\*\*|__)([^*_\s]+?)(?:\*\*|__)")
_MARKUP = re.compile(r"<!--.*?-->|</?[a-zA-Z][^<>]*>", re.S)
_INSIDE = re.compile(r"(?<=[^\W\d_])(?:[^\w\s'’*@$!|+€∆£†§]|_)+(?=[^\W\d_])")

_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen"
_WORD_AGE = re.compile(r"\b(" + _NUMBER_WORDS.replace(" ", "|") + r")[\s-]*(?:years?|yrs?)[\s-]*olds?\b")
# "a boy of ten", "a girl aged 9": a person's age stated after them.
_AGE_AFTER = re.compile(
    r"\b((?:boy|girl|child|kid|son|daughter|lad|lass|youngster)s?)\s+(?:of|aged?)\s+("
    + _NUMBER_WORDS.replace(" ", "|")
    + r"|\d{1,2})\b"
)


def _ages(text: str) -> str:
    """Replace stated ages with the words `minor` or `adult`, so rules need no arithmetic."""

    def by_digits(m: re.Match[str]) -> str:
        age = int(m.group(1) or m.group(2))
        return " minor " if age < 18 else " adult "

    def after(m: re.Match[str]) -> str:
        young = not m.group(2).isdigit() or int(m.group(2)) < 18  # the number words stop at seventeen
        return f"{m.group(1)} {'minor' if young else 'adult'}"

    text = _WORD_AGE.sub(lambda m: " minor ", text)
    text = _AGE_AFTER.sub(after, text)
    return _AGE.sub(by_digits, text)


def _unleet(word: str) -> str:
    # Only inside words that mix letters with digits/symbols: "s3x" is a word, "1999" is a year.
    if any(c.isalpha() for c in word) and not word.isalpha():
        return word.translate(_LEET)
    return word


def _unstretch(m: re.Match[str]) -> str:
    # A stretched letter inside a word is cut to two ("nuuude" -> "nuude"); a word that is one
    # letter repeated keeps three, so "x", "xx" and "xxx" stay three different words. A longer run
    # than a stretch ("x" * 3900, a row of x's filling a field) is no word: it stays as written.
    s, start, end = m.string, m.start(), m.end()
    alone = (start == 0 or not s[start - 1].isalnum()) and (end == len(s) or not s[end].isalnum())
    if alone and end - start > _LONGEST_STRETCH:
        return m.group(0)
    return m.group(1) * (3 if alone else 2)


def _unspell(m: re.Match[str]) -> str:
    letters = m.group(0)[:: len(m.group(1)) + 1]
    if letters.isupper():
        return letters
    # A capital after a small letter starts a new word where both are words of three letters or
    # more: "D o n a l d T r u m p" is two, while "N u D e" and "K i L l" stay one.
    runs = re.split(r"(?<=[a-z])(?=[A-Z])", letters)
    out = runs[0]
    for run in runs[1:]:
        last = out.split(" ")[-1]
        out += (" " if len(last) >= 3 and len(run) >= 3 else "") + run
    return out


def normalize(text: str) -> str:
    """The canonical form of `text`: lower-case ASCII words separated by single spaces.

    Remembered for the last 4,096 texts of up to 2,000 characters: a submit's prompt is
    normalised by the batch that embeds it, by its verdict's cache key and by the rule layer,
    and each time costs a dozen regex passes."""
    return _remembered(text) if len(text) <= 2000 else _normalize(text)


def unmasked(text: str) -> str:
    """`text` normalised after removing markup and rejoining words broken by symbols, emoji or
    markdown inside them ("na-ked", "<b>na</b>ked" -> "naked"; "n*ked" keeps its `*`, which
    the rule layer reads as any one letter). Usually the same as `normalize(text)`."""
    if "<" in text:
        text = _MARKUP.sub("", text)
    text = _BOLD.sub(r"\1", text)  # markdown's **bold** and __bold__ inside a word
    return normalize(_INSIDE.sub("", _visible(text)))


def plain_words(text: str) -> str:
    """`text` as written: its words in lower case, with stated ages read as `normalize` reads them
    ("aged 12 years" -> "minor") and nothing undone: no look-alike, spacing, leetspeak or
    stretching. A word that is only found after `normalize` was disguised."""
    text = _ages(text.casefold().replace("'", "").replace("’", ""))
    return " ".join(re.findall(r"[a-z0-9]+", text))


@lru_cache(maxsize=4096)
def _remembered(text: str) -> str:
    return _normalize(text)


def _visible(text: str) -> str:
    text = html.unescape(text) if "&" in text else text
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(
        c for c in text if unicodedata.category(c) not in ("Cf", "Mn", "Me") and ord(c) not in _BLANK
    )


def _normalize(text: str) -> str:
    text = _visible(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_CAPITALS).translate(_SMALL).translate(_VARIANTS)
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _SPELLED.sub(_unspell, text)
    text = text.casefold()
    if not text.isascii():
        text = text.translate(_SMALL).translate(_VARIANTS)
    text = _ages(text)
    text = _STRETCH.sub(_unstretch, text)
    words = [_unleet(w) for w in _WORD.findall(text)]
    words = [re.sub(r"[^a-z0-9*]", "", w).strip("*") for w in words]
    return " ".join(w for w in words if w)
