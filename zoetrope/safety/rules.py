"""The rule layer of the prompt policy: its word lists compiled to patterns, and the checks that
read a prompt with them (as normalised, as written, in context)."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

from zoetrope.safety.normalize import normalize, plain_words, unmasked
from zoetrope.safety.policy import Excused, Policy

# Endings every listed word may carry ("stab" matches "stabs", "stabbed", "stabbing").
_ENDINGS = r"(?:s|es|d|ed|ing|er|ers|y)?"
# A name's only ending: a plural or a possessive typed without its apostrophe ("the bidens",
# "putins face"); "trumped" and "trumping" name no one.
_NAME_ENDINGS = r"s?"


def _letters(word: str, *, plain: bool = False) -> str:
    """A regex for `word` that also takes its letters stretched ("nuude") or masked by a `*`
    ("n*ked"): each letter may repeat, so "coon" still needs two o's and is not "con", and a `*`
    stands for one letter (one alternative or the other at each place: no backtracking to try).
    `plain`: the word as spelled, and nothing else."""
    if plain:
        return re.escape(word)
    if len(set(word)) == 1 and word.isalpha():
        # A word of one letter repeated ("kkk", "ss") is its length, or three: `normalize` reads a
        # short run of the letter as three ("KKKK"), and a longer one is a row of it, no word.
        c, k = word[0], len(word)
        return f"[{c}*]{{{k}}}" + (f"(?:{c}{{{3 - k}}})?" if k < 3 else "")
    parts = []
    for run in re.finditer(r"([a-z])\1*|.", word):
        c, k = run.group(0)[0], len(run.group(0))
        # k of the letter, each of which a `*` may stand for, then any more of it, kept (`*+`: a
        # long run of stars or letters is never tried split another way).
        parts.append(f"[{c}*]{{{k}}}{c}*+" if c.isalpha() else re.escape(run.group(0)))
    return "".join(parts)


def _pattern(terms: list[str], *, endings: str = _ENDINGS, plain: bool = False) -> re.Pattern[str] | None:
    """One regex matching any of `terms` as whole words of normalised text, the last word of
    each also taking `endings` (the usual ones; `_NAME_ENDINGS`: "trump" is "trumps", not
    "trumped"; "": the word as written)."""
    alternatives = []
    for term in terms:
        raw_words = term.split()
        parts = []
        for i, raw in enumerate(raw_words):
            # `*` may end any word ("gouge* out"); the last word also takes the endings.
            default = endings if i == len(raw_words) - 1 else ""
            ending = {"*": r"[a-z0-9*]*", "!": ""}.get(raw[-1:], default)
            words = normalize(raw.rstrip("*!")).split()
            if words:
                parts.append(r"\s".join(_letters(w, plain=plain) for w in words) + ending)
        if parts:
            alternatives.append(r"\s".join(parts))
    if not alternatives:
        return None
    return re.compile(r"(?<!\S)(?:" + "|".join(alternatives) + r")(?!\S)")


class RuleSet:
    """The fast layer: compiled word lists, matched against normalised prompt text."""

    def __init__(self, policy: Policy, *, plain: bool = False) -> None:
        """`plain`: the listed words match only as spelled (no stretched or masked letters), which
        `excusable` reads: whether a prompt says the words outright or disguises them."""
        self._benign = _pattern(policy.benign_phrases)
        endings = {name: _ENDINGS if c.inflect else _NAME_ENDINGS for name, c in policy.categories.items()}
        self._terms = {
            name: _pattern(c.terms, endings=endings[name], plain=plain)
            for name, c in policy.categories.items()
        }
        self._groups = {
            name: [_group(group, endings=endings[name], plain=plain) for group in c.all_of]
            for name, c in policy.categories.items()
        }
        self._excused = {
            name: [_Excuse.compile(e, endings=endings[name], plain=plain) for e in c.excused]
            for name, c in policy.categories.items()
        }
        self._needs = {name: _pattern(c.semantic_needs) for name, c in policy.categories.items()}
        self._frames = _pattern(policy.framing.frames, endings=_ENDINGS)
        self._unframing = _pattern(policy.framing.never_with, endings="")
        self._framable = set(policy.framing.categories)
        self._policy, self._is_plain = policy, plain
        self._excusing = {name: set(c.classifier_excuses) for name, c in policy.categories.items()}
        self._ambiguous = {name for name, c in policy.categories.items() if c.ambiguous}

    # The plain and strict rule sets read only prompts the rules above fired on: built on the first
    # such prompt, not by every process that checks a prompt (three more compilations of the lists).
    @cached_property
    def _plain(self) -> RuleSet | None:
        return RuleSet(self._policy, plain=True) if not self._is_plain else None

    @cached_property
    def _strict(self) -> RuleSet | None:
        if not self._ambiguous or self._is_plain:
            return None
        strict = {name: c.strict() for name, c in self._policy.categories.items()}
        return RuleSet(self._policy.model_copy(update={"categories": strict}))

    def ambiguous(self, text: str, readings: list[str], hits: dict[str, str]) -> set[str]:
        """The categories of `hits` (`check`'s of `readings`) that only the category's `ambiguous`
        words fire ("a topless tour bus", "women laughing at a stupid joke"), each said plainly: the rules
        without those words fire nothing there, the plain text (`plain_words`) fires the category
        as listed, and every word that fired stands in it as written. A disguised word ("t0pless",
        "f a g g o t") is never ambiguous: nobody hides a word they mean in its everyday sense."""
        asked = self._ambiguous & set(hits)
        if not asked or self._strict is None or self._plain is None:
            return set()
        asked -= {n for r in readings for n in self._strict.match(r, only=asked)}
        if not asked:
            return set()
        return self._as_written(text, hits, asked)

    def _as_written(self, text: str, hits: dict[str, str], asked: set[str]) -> set[str]:
        """Those of `asked` that the same rules fire on `text` read as written (`plain_words`), with
        every word that fired (`hits`'s reasons, " + "-joined) standing in it as written."""
        # Read with an apostrophe dropped ("putin's" -> "putins") and as a break ("Modi'in": a place,
        # not a name): both are what was written.
        spelled = {plain_words(text), plain_words(re.sub(r"['’]", " ", text))}
        plain = {
            n for words in spelled for n in self._plain.match(self._plain._cut_benign(words), only=asked)
        }
        said = {w for words in spelled for w in words.split()}
        return {
            name
            for name in asked
            if name in plain and all(set(part.split()) <= said for part in hits[name].split(" + "))
        }

    def framed(self, text: str) -> bool:
        """Whether `text`, read as written (`plain_words`), holds a frame word of the policy's
        `framing` and, outside the frame's words, none of its `never_with` words: a frame in a
        disguised word is none."""
        if self._frames is None:
            return False
        words = plain_words(text)
        if self._frames.search(words) is None:
            return False
        # Read past the frame's own words: "how to spot self harm" is a frame, "how to" alone is not.
        rest = self._frames.sub(" | ", words)
        return self._unframing is None or self._unframing.search(rest) is None

    def frameable(self, text: str, hits: dict[str, str]) -> set[str]:
        """The categories of `hits` (`check`'s) that a frame may excuse: of the policy's
        `framing.categories`, fired by the same rules on `text` read as written, and every word
        that fired standing in it as written. A disguised word ("d3c4pitat3d") is never framed."""
        asked = self._framable & set(hits)
        if not asked or self._plain is None:
            return set()
        return self._as_written(text, hits, asked)

    def excusable(self, text: str, hits: dict[str, str]) -> set[str]:
        """The categories of `hits` (`check`'s) that the classifier may excuse: fired by a kind of
        rule (a term, or an all_of group, whose words are " + "-joined) that the category's
        `classifier_excuses` names, and by the same kind in `text` read as written (`plain_words`: lower case, stated ages
        read, each listed word spelled as listed). A word found only by `normalize` was
        disguised (letters swapped, spaced, masked, stretched, hidden in markup): never excused."""
        assert self._plain is not None, "a plain rule set reads only plain words"
        asked = {name for name, words in hits.items() if _kind(words) in self._excusing[name]}
        if not asked:
            return set()
        plain = self._plain.match(self._plain._cut_benign(plain_words(text)))
        return {name for name in asked if name in plain and _kind(plain[name]) == _kind(hits[name])}

    def prepare(self, text: str) -> str:
        """Normalised `text` with the benign look-alike phrases cut out."""
        return self._cut_benign(normalize(text))

    def _cut_benign(self, prepared: str) -> str:
        if self._benign is not None:
            prepared = self._benign.sub(" | ", prepared)
        return prepared

    def readings(self, text: str) -> list[str]:
        """`text` prepared for matching, once per distinct reading (`normalize`, `unmasked`)."""
        first, other = normalize(text), unmasked(text)
        return [self._cut_benign(r) for r in ([first] if other == first else [first, other])]

    def check(self, readings: list[str]) -> dict[str, str]:
        """The categories whose rules fire on any of `readings`, each with the words that fired."""
        hits: dict[str, str] = {}
        for prepared in reversed(readings):
            hits |= self.match(prepared)
        return hits

    def unmet(self, readings: list[str]) -> set[str]:
        """The categories whose `semantic_needs` words appear in none of `readings`."""
        return {
            name
            for name, pattern in self._needs.items()
            if pattern is not None and not any(pattern.search(r) for r in readings)
        }

    def match(self, prepared: str, *, only: set[str] | None = None) -> dict[str, str]:
        """The categories (of `only`, where given) whose rules fire on `prepared` text, each with
        the words that fired."""
        hits: dict[str, str] = {}
        for name, pattern in self._terms.items():
            if only is not None and name not in only:
                continue
            if pattern is not None and (m := pattern.search(prepared)):
                hits[name] = m.group(0)
                continue
            for group in self._groups[name]:
                if (words := _all_found(group, prepared)) is not None:
                    hits[name] = words
                    break
            else:
                for entry in self._excused[name]:
                    if (words := entry.unexcused(prepared)) is not None:
                        hits[name] = words
                        break
        return hits


def _kind(words: str) -> str:
    """Which kind of rule fired, from the words `RuleSet.match` names: an all_of group " + "-joins them."""
    return "all_of" if " + " in words else "terms"


@dataclass(frozen=True)
class _Excuse:
    """One `excused` entry compiled (see `Excused`)."""

    terms: re.Pattern[str] | None
    group: list[re.Pattern[str]]
    by: re.Pattern[str] | None
    never: re.Pattern[str] | None
    setting: re.Pattern[str] | None
    in_setting: re.Pattern[str] | None
    setting_never: re.Pattern[str] | None
    setting_near: int
    near: int

    @classmethod
    def compile(cls, e: Excused, *, endings: str, plain: bool = False) -> _Excuse:
        return cls(
            terms=_pattern(e.terms, endings=endings, plain=plain),
            group=_group(e.all_of, endings=endings, plain=plain),
            by=_pattern(e.by, endings=""),
            never=_pattern(e.never_with, endings=""),
            setting=_pattern(e.setting, endings=""),
            in_setting=_pattern(e.in_setting, endings=""),
            setting_never=_pattern(e.setting_never_with, endings=""),
            setting_near=e.setting_near,
            near=e.near,
        )

    def unexcused(self, prepared: str) -> str | None:
        """The words that fired, or None: the listed words are absent, or each occurrence has a
        word of `by` within `near` words (or, inside an `in_setting` compound, a word of
        `setting` within `setting_near`, where no word of `setting_never_with` is) and no word
        of `never_with` is anywhere in `prepared`."""
        if self.terms is not None and (found := list(self.terms.finditer(prepared))):
            words = None
        elif (words := _all_found(self.group, prepared)) is not None:
            found = list(self.group[0].finditer(prepared))  # the group's first list: the word to excuse
        else:
            return None
        fired = words or found[0].group(0)
        if self.by is None or self._never(self.never, prepared):
            return fired
        starts = [m.start() for m in re.finditer(r"\S+", prepared)]
        excuses = _spans(starts, self.by, prepared)
        settings = [] if self._never(self.setting_never, prepared) else _spans(starts, self.setting, prepared)
        subjects = _spans(starts, self.in_setting, prepared)
        for m in found:
            first, last = _span(starts, m)
            if _within(first, last, excuses, self.near):
                continue
            inside = any(a <= first and last <= b for a, b in subjects)
            if inside and _within(first, last, settings, self.setting_near):
                continue
            return words or m.group(0)
        return None

    @staticmethod
    def _never(pattern: re.Pattern[str] | None, prepared: str) -> bool:
        return pattern is not None and pattern.search(prepared) is not None


def _spans(starts: list[int], pattern: re.Pattern[str] | None, prepared: str) -> list[tuple[int, int]]:
    """The word positions (first, last) of each match of `pattern` in `prepared`."""
    return [] if pattern is None else [_span(starts, m) for m in pattern.finditer(prepared)]


def _within(first: int, last: int, spans: list[tuple[int, int]], near: int) -> bool:
    """Whether any of `spans` is within `near` word positions of the words first..last."""
    return any(max(a - last, first - b) <= near for a, b in spans)


def _span(starts: list[int], m: re.Match[str]) -> tuple[int, int]:
    """The positions of the first and last words of match `m`, given where each word starts."""
    return bisect_right(starts, m.start()) - 1, bisect_right(starts, m.end() - 1) - 1


def _group(lists: list[list[str]], *, endings: str = _ENDINGS, plain: bool = False) -> list[re.Pattern[str]]:
    """An `all_of` group compiled: one pattern per word list."""
    return [p for p in (_pattern(words, endings=endings, plain=plain) for words in lists) if p is not None]


def _all_found(group: list[re.Pattern[str]], prepared: str) -> str | None:
    """The words that fired, " + "-joined, when every list of `group` has one in `prepared`."""
    if not group:
        return None
    found = [p.search(prepared) for p in group]
    return " + ".join(m.group(0) for m in found if m) if all(found) else None
