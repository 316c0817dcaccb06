"""The prompt policy: categories, the rule layer's word lists, and the semantic thresholds.

The shipped policy is `data/policy.toml` with exemplars in `data/exemplars.toml`; pass other
files to `load_policy` to change either (the platform's config can point at a copy).
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from zoetrope.errors import ConfigError
from zoetrope.safety.normalize import normalize, plain_words, unmasked

# Endings every listed word may carry ("stab" matches "stabs", "stabbed", "stabbing").
_ENDINGS = r"(?:s|es|d|ed|ing|er|ers|y)?"
# A name's only ending: a plural or a possessive typed without its apostrophe ("the bidens",
# "putins face"); "trumped" and "trumping" name no one.
_NAME_ENDINGS = r"s?"
# How near an excusing word must be to the listed word it excuses, in word positions: adjacent
# is 1, so "a statue of a nude" (3) is excused and "a nude selfie in the gallery" (4) is not.
_NEAR = 3


class Excused(BaseModel):
    """Words of a category that fire only where the prompt gives them no ordinary sense: the
    same word list (`terms`, or one `all_of` group), not firing where a word of `by` stands
    next to them (a statue or a bronze for "nude", "river isis" or "temple of isis", a punk
    band for "hardcore") unless a word of `never_with` is anywhere in the prompt (a bed, a
    selfie, "glorifying"), which makes the setting no excuse.

    Next to means within `near` (3 unless set) word positions: "a bronze nude" and "a statue of a
    nude" are excused, "naked sunbathing on the beach, a renaissance statue far off" is not. Every
    occurrence of a listed word needs its own excuse ("a bronze nude by the lake and later
    nude dancing at the beach" fires); for an `all_of` group the excuse must stand next to the
    word of its first list (the group named: "a museum exhibit on nazi propaganda"), and the
    group fires wherever that word has none. Prefer a compound that holds the listed word
    ("blue tits", "nude painting*") to a common word alone ("blue", "painting"): the compound
    excuses nothing else near it.

    A `setting` (a life drawing class, an easel) excuses from further off, within
    `setting_near` words, but only a listed word that is part of one of `in_setting` (a "nude
    model", not a nude anything): "an elderly nude model posing for a life drawing class". A word
    of `setting_never_with` anywhere makes the setting no excuse, though `by` may still excuse: it
    sexualises a live model but not a statue ("dancing", "from behind").
    The semantic layer reads every prompt regardless."""

    terms: list[str] = Field(default_factory=list)
    all_of: list[list[str]] = Field(default_factory=list)
    by: list[str] = Field(min_length=1)
    never_with: list[str] = Field(default_factory=list)
    setting: list[str] = Field(default_factory=list)
    in_setting: list[str] = Field(default_factory=list)
    setting_never_with: list[str] = Field(default_factory=list)
    setting_near: int = Field(
        default=8, ge=1, description="how near a `setting` word must be, in word positions"
    )
    near: int = Field(default=_NEAR, ge=1, description="how near a `by` word must be, in word positions")


class Category(BaseModel):
    description: str
    openai: str | None = Field(default=None, description="the OpenAI moderation category it maps to")
    threshold: float = Field(ge=0, le=1, description="cosine similarity to an exemplar that flags")
    terms: list[str] = Field(default_factory=list)
    all_of: list[list[list[str]]] = Field(default_factory=list)
    excused: list[Excused] = Field(
        default_factory=list, description="terms or all_of groups that a prompt's setting can excuse"
    )
    inflect: bool = Field(
        default=True,
        description="whether the last word of a term also takes ed/ing/er endings; without, only a bare s (names)",
    )
    semantic_needs: list[str] = Field(
        default_factory=list, description="words one of which a prompt must hold for a semantic hit to count"
    )
    classifier_threshold: float | None = Field(
        default=None, gt=0, le=1, description="the policy's classifier_threshold for this category (1: never)"
    )
    classifier_excuses: list[Literal["terms", "all_of"]] = Field(
        default_factory=list,
        description="which of its rules (terms, all_of groups) the classifier may excuse where said plainly "
        "(see rule_veto_below)",
    )
    ambiguous: list[str] = Field(
        default_factory=list,
        description="listed words (spelled as in its terms, all_of lists or excused entries) with everyday "
        "senses: a hit they alone make, said plainly, stands only where the classifier agrees (ambiguous_agree)",
    )
    ambiguous_agree: float | None = Field(
        default=None, gt=0, le=1, description="the policy's ambiguous_agree for this category"
    )

    def model_post_init(self, _context: object) -> None:
        listed = {*self.terms, *(w for group in self.all_of for words in group for w in words)}
        listed |= {w for e in self.excused for w in [*e.terms, *(w for words in e.all_of for w in words)]}
        unlisted = [w for w in self.ambiguous if w not in listed]
        if unlisted:
            raise ValueError(
                f"ambiguous words {unlisted} are in none of the category's terms, all_of or excused lists: "
                "spell each as it is listed there"
            )

    def strict(self) -> Category:
        """This category without its `ambiguous` words: what fires on words of one sense only. An
        all_of group (or excused group) one of whose lists holds only ambiguous words is dropped."""
        if not self.ambiguous:
            return self
        cut = set(self.ambiguous)

        def group(lists: list[list[str]]) -> list[list[str]] | None:
            kept = [[w for w in words if w not in cut] for words in lists]
            return kept if all(kept) else None

        excused = [
            e.model_copy(
                update={"terms": [w for w in e.terms if w not in cut], "all_of": group(e.all_of) or []}
            )
            for e in self.excused
        ]
        all_of = [g for g in (group(lists) for lists in self.all_of) if g is not None]
        return self.model_copy(
            update={
                "terms": [w for w in self.terms if w not in cut],
                "all_of": all_of,
                "excused": [e for e in excused if e.terms or e.all_of],
                "ambiguous": [],
            }
        )


class Framing(BaseModel):
    """An explaining or reporting frame (a news report, a documentary, statistics, an awareness
    campaign, a history class, a trial, a museum, a doctor explaining): where the prompt holds a
    word of `frames` and none of `never_with` (outside the frame's own words: "how to spot"), a
    hit of a category of `categories` made by words said plainly (a rule's, or an exemplar's)
    stands only where the classifier, which has read framed prompts of both kinds, gives that
    category (with its kin) at least `agree` in some window: the frame is an excuse only when what
    the video would show is not the harm itself. Real people are never framed: list no category of
    names in `categories`.

    `never_with` holds the words that make a frame no excuse wherever they stand: the act shown in
    detail ("graphic detail", "close up", "uncensored"), taught ("how to", "step by step", "tips")
    or praised ("praising", "glorifying", "as heroes"). A disguised word is never framed."""

    frames: list[str] = Field(default_factory=list)
    never_with: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    agree: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="the classifier's probability under a frame that lets a hit stand",
    )


class Policy(BaseModel):
    benign_phrases: list[str] = Field(default_factory=list)
    categories: dict[str, Category]
    exemplars: dict[str, list[str]]
    more_exemplars: dict[str, list[str]] = Field(
        default_factory=dict, description="added to the exemplars' lists (the policy file's own additions)"
    )
    margin: float = Field(default=0.02, description="how far a category must beat the benign exemplars")
    temperature: float = Field(default=0.03, description="softness of the score around a threshold")
    classifier_threshold: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="the classifier's probability for a category that flags (1: never)",
    )
    rule_veto_below: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="an all_of group said in plain words, of a category the classifier excuses, stands "
        "only where the classifier gives some harmful category at least this probability (0: always)",
    )
    ambiguous_agree: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="a rule hit made only by a category's `ambiguous` words, said plainly, stands only where "
        "the classifier gives that category at least this probability",
    )

    framing: Framing = Field(default_factory=Framing)

    def model_post_init(self, _context: object) -> None:
        unknown_framed = sorted(set(self.framing.categories) - set(self.categories))
        if unknown_framed:
            raise ValueError(
                f"framing.categories names unknown categories {unknown_framed}: use names of [categories]"
            )
        for name, texts in self.more_exemplars.items():
            self.exemplars[name] = [*self.exemplars.get(name, []), *texts]
        unknown = set(self.exemplars) - set(self.categories) - {"benign"}
        if unknown:
            raise ValueError(f"exemplars for unknown categories: {sorted(unknown)}")


def _letters(word: str, *, plain: bool = False) -> str:
    """A regex for `word` that also takes its letters stretched ("nuude") or masked by a `*`
    ("n*ked"): each letter may repeat, so "coon" still needs two o's and is not "con", and a `*`
    stands for one letter (one alternative or the other at each place: no backtracking to try).
    `plain`: the word as spelled, and nothing else."""
    if plain:
        return re.escape(word)
    parts = []
    for run in re.finditer(r"([a-z])\1*|.", word):
        c, k = run.group(0)[0], len(run.group(0))
        # k of the letter, each of which a `*` may stand for, then any more of it, kept (`*+`: a
        # long run of stars or letters is never tried split another way).
        parts.append(f"(?:{c}|\\*){{{k}}}{c}*+" if c.isalpha() else re.escape(run.group(0)))
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
        self._plain = RuleSet(policy, plain=True) if not plain else None
        self._excusing = {name: set(c.classifier_excuses) for name, c in policy.categories.items()}
        self._ambiguous = {name for name, c in policy.categories.items() if c.ambiguous}
        strict = {name: c.strict() for name, c in policy.categories.items()}
        self._strict = (
            RuleSet(policy.model_copy(update={"categories": strict}), plain=plain)
            if self._ambiguous and not plain
            else None
        )

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


def _read_toml(path: Path | None, default: str) -> dict:
    try:
        if path is None:
            return tomllib.loads(resources.files("zoetrope.safety").joinpath("data", default).read_text())
        return tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read moderation policy {path or default}: {e}") from e


def load_policy(path: Path | None = None, exemplars_path: Path | None = None) -> Policy:
    """The validated policy from TOML files; the shipped ones when paths are None."""
    raw = _read_toml(path, "policy.toml")
    raw.setdefault("exemplars", _read_toml(exemplars_path, "exemplars.toml")["exemplars"])
    try:
        return Policy.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"invalid moderation policy: {e}") from e


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    return load_policy()
