"""Prompt normalisation for the rule layer: one canonical spelling for the ways people hide words.

Undoes, in order: invisible characters, compatibility forms (fullwidth, math letters), homoglyphs
(Cyrillic and Greek look-alikes), accents, case, ages ("12yo" -> "minor"), leetspeak inside words
("s3x"), letters spelled apart ("n u d e", "n.u.d.e"), and stretched letters ("nuuude"; a word
that is one letter repeated is not stretched: "x", "xx" and "xxx" stay apart).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff"))

# Look-alikes that NFKC leaves alone: Cyrillic and Greek letters that render as Latin ones.
_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁһӏвнкмтАВЕКМНОРСТХІЈЅαβεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlbhkmtabekmhopctxijsabeiknoptyxabehikmnoptyx",
)

_LEET = str.maketrans("0134578@$!|+", "oieastbasilt")

_AGE = re.compile(r"\b(\d{1,2})\s*[-\s]?\s*(?:yo|y/o|yr?s?|years?)(?:[-\s]*old)?\b|\baged?\s+(\d{1,2})\b")
# A run of three or more single characters split by one space or punctuation mark: "n u d e",
# "s.e.x"; a wider gap ends a word, so "h e i l  h i t l e r" reads as two.
_SPELLED = re.compile(r"(?<![\w@$])(?:[\w@$][\s._\-*~/]){2,}[\w@$](?![\w@$])")
_WORD = re.compile(r"[a-z0-9@$!|+]+")
_STRETCH = re.compile(r"([a-z])\1{2,}")

_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen"
_WORD_AGE = re.compile(r"\b(" + _NUMBER_WORDS.replace(" ", "|") + r")[\s-]*(?:years?|yrs?)[\s-]*old\b")


def _ages(text: str) -> str:
    """Replace stated ages with the words `minor` or `adult`, so rules need no arithmetic."""

    def by_digits(m: re.Match[str]) -> str:
        age = int(m.group(1) or m.group(2))
        return " minor " if age < 18 else " adult "

    text = _WORD_AGE.sub(lambda m: " minor ", text)
    return _AGE.sub(by_digits, text)


def _unleet(word: str) -> str:
    # Only inside words that mix letters with digits/symbols: "s3x" is a word, "1999" is a year.
    if any(c.isalpha() for c in word) and not word.isalpha():
        return word.translate(_LEET)
    return word


def _unstretch(m: re.Match[str]) -> str:
    # A stretched letter inside a word is cut to two ("nuuude" -> "nuude"); a word that is one
    # letter repeated keeps three, so "x", "xx" and "xxx" stay three different words.
    s, start, end = m.string, m.start(), m.end()
    alone = (start == 0 or not s[start - 1].isalnum()) and (end == len(s) or not s[end].isalnum())
    return m.group(1) * (3 if alone else 2)


def squeeze(word: str) -> str:
    """`word` with every run of a repeated letter cut to one ("nuuude" and "nude" both give "nude").

    Digits are left alone: "88" and "8" are different numbers, and "148" is not "1488". So is a
    word that is one letter repeated: "x" is a letter, "xxx" is a rating.
    """
    if len(set(word)) == 1:
        return word
    return re.sub(r"([a-z])\1+", r"\1", word)


def normalize(text: str) -> str:
    """The canonical form of `text`: lower-case ASCII words separated by single spaces.

    Remembered for the last 4,096 texts of up to 2,000 characters: a submit's prompt is
    normalised by the batch that embeds it, by its verdict's cache key and by the rule layer,
    and each time costs a dozen regex passes."""
    return _remembered(text) if len(text) <= 2000 else _normalize(text)


@lru_cache(maxsize=4096)
def _remembered(text: str) -> str:
    return _normalize(text)


def _normalize(text: str) -> str:
    text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFKC", text).translate(_HOMOGLYPHS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.casefold()
    text = _ages(text)
    text = _SPELLED.sub(lambda m: re.sub(r"[\s._\-*~/]", "", m.group(0)), text)
    text = _STRETCH.sub(_unstretch, text)
    words = [_unleet(w) for w in _WORD.findall(text)]
    words = [re.sub(r"[^a-z0-9]", "", w) for w in words]
    return " ".join(w for w in words if w)
