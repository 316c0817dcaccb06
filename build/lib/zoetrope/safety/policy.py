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
from zoetrope.safety.normalize import normalize, squeeze

# Endings every listed word may carry ("stab" matches "stabs", "stabbed", "stabbing").
_ENDINGS = r"(?:s|es|d|ed|ing|er|ers|y)?"


class Category(BaseModel):
    description: str
    openai: str | None = Field(default=None, description="the OpenAI moderation category it maps to")
    threshold: float = Field(ge=0, le=1, description="cosine similarity to an exemplar that flags")
    terms: list[str] = Field(default_factory=list)
    all_of: list[list[list[str]]] = Field(default_factory=list)


class Policy(BaseModel):
    benign_phrases: list[str] = Field(default_factory=list)
    categories: dict[str, Category]
    exemplars: dict[str, list[str]]
    margin: float = Field(default=0.02, description="how far a category must beat the benign exemplars")
    temperature: float = Field(default=0.03, description="softness of the score around a threshold")

    def model_post_init(self, _context: object) -> None:
        unknown = set(self.exemplars) - set(self.categories) - {"benign"}
        if unknown:
            raise ValueError(f"exemplars for unknown categories: {sorted(unknown)}")


def _pattern(terms: list[str]) -> re.Pattern[str] | None:
    """One regex matching any of `terms` as whole words of squeezed, normalised text."""
    alternatives = []
    for term in terms:
        raw_words = term.split()
        parts = []
        for i, raw in enumerate(raw_words):
            # `*` may end any word ("gouge* out"); the last word also takes the usual endings.
            default = _ENDINGS if i == len(raw_words) - 1 else ""
            ending = {"*": r"[a-z0-9]*", "!": ""}.get(raw[-1:], default)
            words = [squeeze(w) for w in normalize(raw.rstrip("*!")).split()]
            if words:
                parts.append(r"\s".join(re.escape(w) for w in words) + ending)
        if parts:
            alternatives.append(r"\s".join(parts))
    if not alternatives:
        return None
    return re.compile(r"(?<!\S)(?:" + "|".join(alternatives) + r")(?!\S)")


class RuleSet:
    """The fast layer: compiled word lists, matched against normalised, squeezed prompt text."""

    def __init__(self, policy: Policy) -> None:
        self._benign = _pattern(policy.benign_phrases)
        self._terms = {name: _pattern(c.terms) for name, c in policy.categories.items()}
        self._groups = {
            name: [[p for p in map(_pattern, group) if p is not None] for group in c.all_of]
            for name, c in policy.categories.items()
        }

    def prepare(self, text: str) -> str:
        """Normalised, squeezed `text` with the benign look-alike phrases cut out."""
        prepared = " ".join(squeeze(w) for w in normalize(text).split())
        if self._benign is not None:
            prepared = self._benign.sub(" | ", prepared)
        return prepared

    def match(self, prepared: str) -> dict[str, str]:
        """The categories whose rules fire on `prepared` text, each with the words that fired."""
        hits: dict[str, str] = {}
        for name, pattern in self._terms.items():
            if pattern is not None and (m := pattern.search(prepared)):
                hits[name] = m.group(0)
                continue
            for group in self._groups[name]:
                found = [p.search(prepared) for p in group]
                if group and all(found):
                    hits[name] = " + ".join(m.group(0) for m in found if m)
                    break
        return hits


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
