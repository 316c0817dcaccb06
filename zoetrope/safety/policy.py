"""The prompt policy: categories, the rule layer's word lists, and the semantic thresholds.

The shipped policy is `data/policy.toml` with exemplars in `data/exemplars.toml`; pass other
files to `load_policy` to change either (the platform's config can point at a copy).
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from zoetrope.errors import ConfigError
from zoetrope.safety.normalize import normalize, unmasked

# Endings every listed word may carry ("stab" matches "stabs", "stabbed", "stabbing").
_ENDINGS = r"(?:s|es|d|ed|ing|er|ers|y)?"


class Excused(BaseModel):
    """Words of a category that fire only where the prompt gives them no ordinary sense: the
    same word list (`terms`, or one `all_of` group), not firing where a word of `by` is present
    (a gallery or a statue for "nude", a river or a goddess for "isis", a punk band for
    "hardcore") unless a word of `never_with` is present too (a bed, "glorifying"), which
    makes the setting no excuse. The semantic layer reads every prompt regardless."""

    terms: list[str] = Field(default_factory=list)
    all_of: list[list[str]] = Field(default_factory=list)
    by: list[str] = Field(min_length=1)
    never_with: list[str] = Field(default_factory=list)


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
        description="whether the last word of a term also takes s/ed/ing/er endings (not for names)",
    )
    semantic_needs: list[str] = Field(
        default_factory=list, description="words one of which a prompt must hold for a semantic hit to count"
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

    def model_post_init(self, _context: object) -> None:
        for name, texts in self.more_exemplars.items():
            self.exemplars[name] = [*self.exemplars.get(name, []), *texts]
        unknown = set(self.exemplars) - set(self.categories) - {"benign"}
        if unknown:
            raise ValueError(f"exemplars for unknown categories: {sorted(unknown)}")


def _letters(word: str) -> str:
    """A regex for `word` that also takes its letters stretched ("nuude") or masked by a `*`
    ("n*ked"): each letter may repeat, so "coon" still needs two o's and is not "con", and a `*`
    stands for one letter (one alternative or the other at each place: no backtracking to try)."""
    parts = []
    for run in re.finditer(r"([a-z])\1*|.", word):
        c, k = run.group(0)[0], len(run.group(0))
        # k of the letter, each of which a `*` may stand for, then any more of it, kept (`*+`: a
        # long run of stars or letters is never tried split another way).
        parts.append(f"(?:{c}|\\*){{{k}}}{c}*+" if c.isalpha() else re.escape(run.group(0)))
    return "".join(parts)


def _pattern(terms: list[str], *, inflect: bool = True) -> re.Pattern[str] | None:
    """One regex matching any of `terms` as whole words of normalised text; with `inflect`, the
    last word of each also takes the usual endings (without, "trump" is not "trumped")."""
    alternatives = []
    for term in terms:
        raw_words = term.split()
        parts = []
        for i, raw in enumerate(raw_words):
            # `*` may end any word ("gouge* out"); the last word also takes the usual endings.
            default = _ENDINGS if inflect and i == len(raw_words) - 1 else ""
            ending = {"*": r"[a-z0-9*]*", "!": ""}.get(raw[-1:], default)
            words = normalize(raw.rstrip("*!")).split()
            if words:
                parts.append(r"\s".join(map(_letters, words)) + ending)
        if parts:
            alternatives.append(r"\s".join(parts))
    if not alternatives:
        return None
    return re.compile(r"(?<!\S)(?:" + "|".join(alternatives) + r")(?!\S)")


class RuleSet:
    """The fast layer: compiled word lists, matched against normalised prompt text."""

    def __init__(self, policy: Policy) -> None:
        self._benign = _pattern(policy.benign_phrases)
        self._terms = {name: _pattern(c.terms, inflect=c.inflect) for name, c in policy.categories.items()}
        self._groups = {
            name: [_group(group, inflect=c.inflect) for group in c.all_of]
            for name, c in policy.categories.items()
        }
        # Per category: (terms, all_of group, by, never_with) of each `excused` entry.
        self._excused = {
            name: [
                (
                    _pattern(e.terms, inflect=c.inflect),
                    _group(e.all_of, inflect=c.inflect),
                    _pattern(e.by, inflect=False),
                    _pattern(e.never_with, inflect=False),
                )
                for e in c.excused
            ]
            for name, c in policy.categories.items()
        }
        self._needs = {name: _pattern(c.semantic_needs) for name, c in policy.categories.items()}

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

    def match(self, prepared: str) -> dict[str, str]:
        """The categories whose rules fire on `prepared` text, each with the words that fired."""
        hits: dict[str, str] = {}
        for name, pattern in self._terms.items():
            if pattern is not None and (m := pattern.search(prepared)):
                hits[name] = m.group(0)
                continue
            for group in self._groups[name]:
                if (words := _all_found(group, prepared)) is not None:
                    hits[name] = words
                    break
            else:
                for terms, group, by, never in self._excused[name]:
                    m = terms.search(prepared) if terms is not None else None
                    words = m.group(0) if m else _all_found(group, prepared)
                    if words is None:
                        continue
                    excuse = by is not None and by.search(prepared) is not None
                    if not excuse or (never is not None and never.search(prepared) is not None):
                        hits[name] = words
                        break
        return hits


def _group(lists: list[list[str]], *, inflect: bool = True) -> list[re.Pattern[str]]:
    """An `all_of` group compiled: one pattern per word list."""
    return [p for p in (_pattern(words, inflect=inflect) for words in lists) if p is not None]


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
