"""The prompt policy: categories, the rule layer's word lists, and the semantic thresholds.

The shipped policy is `data/policy.toml` with exemplars in `data/exemplars.toml`; pass other
files to `load_policy` to change either (the platform's config can point at a copy).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from zoetrope.errors import ConfigError

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
