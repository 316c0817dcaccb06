"""Prompt moderation: a rule layer over normalised text, then a semantic layer over embeddings.

The semantic layer reads each window's sentence vector twice: its similarity to the exemplars,
and a linear classifier's probabilities (`zoetrope.safety.classifier`). Either flags a category.
The classifier also checks the rules whose words have everyday senses: a hit said plainly ("a
Muslim farmer chasing rats out of his barn"), of a kind of rule (terms, all_of groups) that its
category's `classifier_excuses` names, stands only where the classifier gives some harmful
category at least `rule_veto_below`; a hit made only by a category's `ambiguous` words ("a
topless tour bus", "a sexy new laptop") stands only where it gives that category at least
`ambiguous_agree`. Under an explaining or reporting frame (a news report, a documentary, a history
class, a doctor explaining: the policy's `framing`), a hit said plainly, a rule's or an exemplar's,
stands only where the classifier reads that harm in the prompt as a whole (`framing.agree`): "a news
graphic on rising suicide rates" passes, "a documentary showing in graphic detail how a man is
beheaded" does not. A disguised word always stands.

`check_prompt` says what a prompt is (never raises on a flagged prompt); `moderate_prompt` is the
gate the API and CLI call before a job exists: it raises `ModerationBlocked` naming the category.
`zoetrope.safety.openai_moderations` gives verdicts in the shape of OpenAI's moderation API.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import torch

from zoetrope.errors import ModerationBlocked
from zoetrope.model.text import get_text_encoder, on_one_core
from zoetrope.safety.classifier import Classifier, load_classifier
from zoetrope.safety.normalize import normalize, plain_words, unmasked
from zoetrope.safety.policy import Policy, default_policy
from zoetrope.safety.rules import RuleSet

MODEL_NAME = "zoetrope-moderation-1"
_WINDOW, _STRIDE = 14, 7  # words; MiniLM sees 32 tokens, so long prompts are read in windows
# A semantic score held just under flagging: the category's needed words are absent (a prompt
# with no child in it is not sexual/minors, however close it reads to an exemplar).
_UNMET = 0.49
_UNMET_TO = {"sexual/minors": "sexual"}  # where such a hit still blocks: never let it pass
# Categories whose classifier probabilities count together where an ambiguous word's hit asks the
# classifier to agree (`Moderator._agreed`): a sexy child may read more sexual than sexual/minors.
_KIN = {"sexual/minors": ("sexual",), "sexual": ("sexual/minors",)}
# The same under a frame (`Moderator._framed`), where hatred and the extremism that preaches it read
# alike: "a history lesson praising Hitler's final solution" is both.
_FRAMED_KIN = {**_KIN, "hate": ("extremism",), "extremism": ("hate",)}
CACHE_SIZE = 4096  # verdicts kept per process: a busy API sees the same prompts again and again
# How close (in cosine) to flagging a reading of each fast pass (`TextEncoder.fast_pass`) may come
# before the float pass decides: about twice the largest difference in slack from the float pass
# measured over the 403 labelled prompts and 2,000 of bench/api.py's (bf16 0.0016; int8 0.031;
# dyn8 0.062, whose per-tensor activation scales cost accuracy).
EXACT_WITHIN = {"bf16": 0.06, "int8": 0.06, "dyn8": 0.12}
# The same for the classifier, in log-odds: the largest difference from the float pass over the
# labelled prompts' windows and 1,000 of bench/api.py's (bf16 0.07, int8 0.96, dyn8 1.71), and a
# fifth more; twice as much sent a tenth more of the labelled prompts' windows to float on dyn8.
CLASSIFIER_WITHIN = {"bf16": 0.15, "int8": 1.2, "dyn8": 2.1}
# A window's reading (`Moderator.read`): per scored category, (the exemplars' slack, best
# similarity, which exemplar, the classifier's probability).
Reading = list[tuple[float, float, int, float]]


@dataclass(frozen=True)
class ModerationResult:
    """What the policy says about one prompt. `category` is the one a block would name."""

    flagged: bool
    category: str | None
    categories: dict[str, bool]
    scores: dict[str, float]  # 0..1 per category; >= 0.5 means flagged
    reasons: dict[str, str] = field(default_factory=dict)  # category -> what fired


_HIDING = re.compile(r"[^\w\s.,;:!?'\"()\-]|[*_]")  # anything but letters, digits and plain punctuation


_WORD = re.compile(r"(?<!\w)[^\W\d_]{3,}(?!\w)")  # a word: 3 or more letters, no digit or _ joined to it


def _windows(text: str) -> list[str]:
    """The normalised sentences of `text`, long ones cut into overlapping word windows; then
    those of its `unmasked` reading where that differs and the text holds what hides words
    (markup, emoji, symbols; a hyphenated word alone is left to the rules, which read both
    readings: "close-up" would double the encoder's work for every ordinary prompt)."""
    out = []
    hidden = _HIDING.search(text) is not None and unmasked(text) != normalize(text)
    readings = [normalize, unmasked] if hidden else [normalize]
    for reading in readings:
        out.append(reading(text))
        for sentence in re.split(r"[.;!?\n]+", text):
            words = reading(sentence).split()
            if len(words) <= _WINDOW:
                out.append(" ".join(words))
                continue
            for start in range(0, len(words) - _WINDOW + _STRIDE, _STRIDE):
                out.append(" ".join(words[start : start + _WINDOW]))
    return list(dict.fromkeys(w for w in out if w)) or [""]


class Moderator:
    """A policy compiled for use: rule patterns and the exemplars' embeddings."""

    def __init__(self, policy: Policy, *, cache_size: int = CACHE_SIZE) -> None:
        self.policy = policy
        self._cache: OrderedDict[tuple[str, ...], ModerationResult] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        # What each window says about each category (`read`), so a batch read once (`prefetch`)
        # leaves the checks that follow only lookups and a comparison.
        self._readings: OrderedDict[str, Reading] = OrderedDict()
        self.rules = RuleSet(policy)
        self._encoder = get_text_encoder()
        self._names = list(policy.categories)
        self.classifier: Classifier | None = load_classifier()
        self._compile_exemplars()

    def _compile_exemplars(self) -> None:
        """Stack every exemplar's vector into one matrix, so a check is one matrix multiply.

        Column `self._columns[c, j]` of the product is category c's j-th exemplar; categories
        with fewer exemplars repeat their last one, which changes no maximum."""
        p = self.policy
        self._scored = [n for n in self._names if p.exemplars.get(n)]  # categories with exemplars
        texts = [t for n in [*self._scored, "benign"] for t in p.exemplars.get(n, [])]
        self._matrix = self._embed(texts) if texts else torch.zeros(0, 384)  # (E, 384)
        width = max((len(p.exemplars[n]) for n in self._scored), default=0)
        start, rows = 0, []
        for name in self._scored:
            count = len(p.exemplars[name])
            rows.append([start + min(j, count - 1) for j in range(width)])
            start += count
        self._columns = torch.tensor(rows, dtype=torch.long).reshape(len(self._scored), -1)  # (C, Emax)
        self._benign = slice(start, len(texts))
        self._thresholds = torch.tensor([p.categories[n].threshold for n in self._scored])  # (C,)
        self._classifier_thresholds = [
            p.categories[n].classifier_threshold or p.classifier_threshold for n in self._scored
        ]

    def _embed(self, texts: list[str]) -> torch.Tensor:
        return self._encoder.embed([normalize(t) for t in texts])

    def prefetch(self, prompts: list[str]) -> None:
        """Read every window of `prompts` in one batch and keep what each says about each
        category, so checking the prompts one by one afterwards runs no tensor work."""
        windows = self.unread(prompts)
        if windows:
            self.remember(windows, self.read(windows))

    @property
    def fast_pass(self) -> str:
        """The pass `read` runs first in this process (one of EXACT_WITHIN, or "float")."""
        return self._encoder.fast_pass

    def unread(self, prompts: list[str]) -> list[str]:
        """The windows of `prompts` that moderation reads and no batch has read yet."""
        if not self._scored:
            return []
        windows = list(dict.fromkeys(w for prompt in prompts for w in _windows(prompt)))
        with self._cache_lock:
            return [w for w in windows if w not in self._readings]

    def read(self, windows: list[str]) -> list[Reading]:
        """What each window says about each scored category: (the exemplars' slack, best
        similarity, which exemplar, the classifier's probability) per category, from the fast pass
        (bf16, int8 or dyn8). A window that comes within that pass's EXACT_WITHIN (exemplars) or
        CLASSIFIER_WITHIN (classifier) of flagging any category is read again in float, which
        decides: so every verdict near a threshold, and every block, is the float model's.

        Another process's `read` of the same policy is as good (`zoetrope.jobs.embedder`)."""
        readings = self._read(windows, self._encoder.embed(windows, fast=True))
        if self.fast_pass in EXACT_WITHIN:
            near = [i for i, r in enumerate(readings) if self._near(r)]
            if near:
                again = [windows[i] for i in near]
                for i, reading in zip(near, self._read(again, self._encoder.embed(again)), strict=True):
                    readings[i] = reading
        return readings

    def _near(self, reading: Reading) -> bool:
        """Whether a fast pass's `reading` may be on the other side of the float pass's from
        flagging a category, by its exemplars or by the classifier's threshold for it."""
        if max(r[0] for r in reading) > -EXACT_WITHIN[self.fast_pass]:
            return True
        if self.classifier is None:
            return False
        within = CLASSIFIER_WITHIN[self.fast_pass]
        return any(
            abs(_odds(r[3]) - _odds(t)) < within
            for r, t in zip(reading, self._classifier_thresholds, strict=True)
        )

    def _semantic(self, windows: list[str]) -> tuple[dict[str, float], dict[str, str]]:
        p = self.policy
        scores = dict.fromkeys(self._names, 0.0)
        reasons: dict[str, str] = {}
        if not self._scored:
            return scores, reasons
        nearest = self._nearest(windows)
        readings = zip(self._scored, nearest, self._classifier_thresholds, strict=True)
        for name, (slack, similarity, column, chance), threshold in readings:
            # The classifier's log-odds past its threshold, in cosine slack: at temperature 0.03 a
            # log-odd is 0.03, so the score is the classifier's probability moved by the threshold.
            learned = (_odds(chance) - _odds(threshold)) * p.temperature
            scores[name] = 1 / (1 + math.exp(-max(slack, learned) / p.temperature))
            if scores[name] >= 0.5 and learned > slack:
                reasons[name] = f"classifier: {chance:.2f}"
            elif scores[name] >= 0.5:
                exemplar = p.exemplars[name][min(column, len(p.exemplars[name]) - 1)]
                reasons[name] = f"semantic: {similarity:.2f} like {exemplar!r}"
        return scores, reasons

    def _nearest(self, windows: list[str]) -> Reading:
        """For each scored category, from the window nearest to flagging by the exemplars: its
        slack (how far past both the threshold and the benign margin it is), its best similarity
        and which exemplar; and the classifier's largest probability over the windows.

        Each window's reading is `read`'s: near a threshold, the float model's."""
        with self._cache_lock:
            readings = [self._readings.get(w) for w in windows]
        missing = [w for w, r in zip(windows, readings, strict=True) if r is None]
        if missing:  # not prefetched: read here, on the encoder's thread
            fresh = dict(zip(missing, on_one_core(lambda: self.read(missing)), strict=True))
            self.remember(missing, list(fresh.values()))
            readings = [r if r is not None else fresh[w] for w, r in zip(windows, readings, strict=True)]
        return _combine(readings)

    def _read(self, windows: list[str], vectors: torch.Tensor) -> list[Reading]:
        """What each window's vector (W, 384) says about each scored category: (the exemplars'
        slack, best similarity, which exemplar, the classifier's probability), two small matrix
        products for all of them. The classifier's probability is 0 for a window holding no word
        (no run of 3 or more letters alone): it learnt from sentences, and on a string of stray
        letters, digits and symbols (a fuzzer's, a paste gone wrong) its softmax is confident about
        nothing it knows. The exemplars and the rules still read such windows."""
        sims = vectors @ self._matrix.T  # (W, E)
        benign = sims[:, self._benign]  # (W, B)
        benign_sim = benign.max(1).values if benign.shape[1] else sims.new_full((len(vectors),), -1.0)
        best, which = sims[:, self._columns].max(2)  # each (W, C)
        # Both conditions must hold, so the score follows whichever is further from holding.
        slack = torch.minimum(best - self._thresholds, best - benign_sim[:, None] - self.policy.margin)
        chance = torch.zeros_like(slack)  # (W, C)
        if self.classifier is not None:
            columns = [self.classifier.labels.index(n) for n in self._scored]
            chance = self.classifier.probabilities(vectors)[:, columns]  # (W, C)
            worded = torch.tensor([_WORD.search(w) is not None for w in windows], dtype=chance.dtype)
            chance = chance * worded[:, None]
        return [
            list(zip(*row, strict=True))
            for row in zip(slack.tolist(), best.tolist(), which.tolist(), chance.tolist(), strict=True)
        ]

    def remember(self, windows: list[str], readings: list[Reading]) -> None:
        """Keep `read`'s `readings` of `windows`."""
        with self._cache_lock:
            for window, reading in zip(windows, readings, strict=True):
                self._readings[window] = reading
                self._readings.move_to_end(window)
            while len(self._readings) > self._cache_size:
                self._readings.popitem(last=False)

    def check(self, text: str) -> ModerationResult:
        """The verdict on `text`, from the cache when the same normalised text was checked before.

        The key is the normalised sentences the layers read and the words as written, so "A Cat!" and
        "a cat" share one, "suicide" and "su1c1de" do not.
        """
        windows = _windows(text)  # normalising is a dozen regex passes: done once a check
        # With the words as written: a disguised word ("su1c1de") normalises to its plain twin, but
        # only the plain one may be excused (ambiguous words, a frame).
        key = (plain_words(text), *windows)
        with self._cache_lock:
            if (hit := self._cache.get(key)) is not None:
                self._cache.move_to_end(key)
                return hit
        result = self._check(text, windows)
        with self._cache_lock:
            self._cache[key] = result
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def _unvetoed(self, text: str, windows: list[str], hits: dict[str, str]) -> dict[str, str]:
        """`hits` less the categories the rules may excuse (`RuleSet.excusable`: words said
        plainly) where the classifier gives no harmful category `rule_veto_below` in any window:
        words in an everyday sense, or meeting by chance ("a Muslim farmer chasing rats").
        Near that threshold the float pass decides, as it does near the others."""
        veto = self.policy.rule_veto_below
        harm = max(r[3] for r in self._nearest(windows))
        within = CLASSIFIER_WITHIN.get(self.fast_pass, 0.0)
        if abs(_odds(harm) - _odds(veto)) < within:
            exact = on_one_core(lambda: self._read(windows, self._encoder.embed(windows)))
            harm = max(r[3] for r in _combine(exact))
        if harm >= veto:
            return hits
        excused = self.rules.excusable(text, hits)
        return {name: words for name, words in hits.items() if name not in excused}

    def _agreed(self, windows: list[str], hits: dict[str, str], ambiguous: set[str]) -> dict[str, str]:
        """`hits` less those of `ambiguous` (`RuleSet.ambiguous`: made only by words with everyday
        senses, said plainly) where the classifier does not agree: its probability for the category
        (with its kin, `_KIN`), in the window that reads most so, falls short of the category's
        `ambiguous_agree`. Near that threshold the float pass decides."""
        p = self.policy
        needs = {n: p.categories[n].ambiguous_agree or p.ambiguous_agree for n in ambiguous}
        agree = self._agreement(self._readings_of(windows), ambiguous)
        within = CLASSIFIER_WITHIN.get(self.fast_pass, 0.0)
        if any(abs(_odds(agree[n]) - _odds(needs[n])) < within for n in ambiguous):
            exact = on_one_core(lambda: self._read(windows, self._encoder.embed(windows)))
            agree = self._agreement(exact, ambiguous)
        return {n: words for n, words in hits.items() if n not in ambiguous or agree[n] >= needs[n]}

    def _framed(
        self,
        text: str,
        windows: list[str],
        hits: dict[str, str],
        scores: dict[str, float],
        reasons: dict[str, str],
    ) -> dict[str, str]:
        """Under a frame (`RuleSet.framed`): `hits` less those a frame may excuse (`RuleSet.frameable`),
        and `scores` of the exemplars' hits of the framing's categories held under flagging, where
        the classifier gives the category, with its kin (`_FRAMED_KIN`), less than `framing.agree` in
        every window.
        An exemplar's hit counts only where nothing in the prompt is disguised. Near that threshold
        the float pass decides."""
        framing = self.policy.framing
        rules = self.rules.frameable(text, hits)
        plain = normalize(re.sub(r"['’]", "", text)) == plain_words(text)  # nothing spaced, swapped or masked
        semantic = {
            n
            for n in framing.categories
            if (n not in hits or n in rules)
            and plain
            and scores.get(n, 0.0) >= 0.5
            and reasons.get(n, "").startswith("semantic")
        }
        if not rules and not semantic:
            return hits
        asked = rules | semantic
        agree = self._framed_agreement(self._readings_of(windows), asked)
        within = CLASSIFIER_WITHIN.get(self.fast_pass, 0.0)
        if any(abs(_odds(agree[n]) - _odds(framing.agree)) < within for n in asked):
            exact = on_one_core(lambda: self._read(windows, self._encoder.embed(windows)))
            agree = self._framed_agreement(exact, asked)
        excused = {n for n in asked if agree[n] < framing.agree}
        for name in excused & semantic:
            scores[name] = _UNMET
            del reasons[name]
        return {n: words for n, words in hits.items() if n not in excused}

    def _framed_agreement(self, readings: list[Reading], names: set[str]) -> dict[str, float]:
        """Per category of `names`, the classifier's largest probability over the windows of it and
        its kin under a frame (`_FRAMED_KIN`) together."""
        out = {}
        for name in names:
            kin = [self._scored.index(n) for n in (name, *_FRAMED_KIN.get(name, ())) if n in self._scored]
            out[name] = (
                max((min(1.0, sum(r[i][3] for i in kin)) for r in readings), default=0.0) if kin else 1.0
            )
        return out

    def _agreement(self, readings: list[Reading], names: set[str]) -> dict[str, float]:
        """Per category of `names`, the classifier's largest probability over the windows of it and
        its kin together; 1 for a category nothing scores (there is nobody to ask: the hit stands)."""
        out = {}
        for name in names:
            kin = [self._scored.index(n) for n in (name, *_KIN.get(name, ())) if n in self._scored]
            chances = [min(1.0, sum(r[i][3] for i in kin)) for r in readings]
            out[name] = max(chances, default=0.0) if kin else 1.0
        return out

    def _readings_of(self, windows: list[str]) -> list[Reading]:
        """`read`'s reading of each of `windows` (all read by `_nearest` before)."""
        with self._cache_lock:
            readings = [self._readings.get(w) for w in windows]
        if any(r is None for r in readings):
            return on_one_core(lambda: self.read(windows))
        return readings  # type: ignore[return-value]

    def _check(self, text: str, windows: list[str]) -> ModerationResult:
        readings = self.rules.readings(text)
        hits = self.rules.check(readings)
        scores, reasons = self._semantic(windows)
        if (
            self.classifier is not None
            and self.policy.rule_veto_below > 0
            and self.rules.excusable(text, hits)
        ):
            hits = self._unvetoed(text, windows, hits)
        if self.classifier is not None and hits and (ambiguous := self.rules.ambiguous(text, readings, hits)):
            hits = self._agreed(windows, hits, ambiguous)
        if self.classifier is not None and self.rules.framed(text):
            hits = self._framed(text, windows, hits, scores, reasons)
        for name in self.rules.unmet(readings):
            if scores[name] >= 0.5:  # still blocked, under the broader category the words do support
                broader = _UNMET_TO.get(name)
                if broader is not None and scores[name] > scores[broader]:
                    scores[broader], reasons[broader] = scores[name], f"{reasons[name]} (no minor named)"
                scores[name] = _UNMET
                del reasons[name]
        for name, words in hits.items():
            scores[name] = 1.0
            reasons[name] = f"rule: {words}"
        categories = {name: scores[name] >= 0.5 for name in self._names}
        flagged = [n for n in self._names if categories[n]]
        # A rule hit names the category before a semantic one; among equals, policy order wins.
        top = sorted(flagged, key=lambda n: (n not in hits, -scores[n], self._names.index(n)))
        return ModerationResult(
            flagged=bool(flagged),
            category=top[0] if top else None,
            categories=categories,
            scores={n: round(scores[n], 4) for n in self._names},
            reasons={n: reasons[n] for n in flagged},
        )


def _odds(chance: float) -> float:
    """The log-odds of a probability, kept finite."""
    chance = min(max(chance, 1e-6), 1 - 1e-6)
    return math.log(chance / (1 - chance))


def _combine(readings: list[Reading]) -> Reading:
    """Per category, the reading of the window nearest to flagging it (the largest slack), with
    the classifier's largest probability over the windows."""
    return [
        (*max(per_window, key=lambda r: r[0])[:3], max(r[3] for r in per_window))
        for per_window in zip(*readings, strict=True)
    ]


_lock = threading.Lock()
_moderator: Moderator | None = None


def get_moderator() -> Moderator:
    """The process-wide moderator for the shipped policy (built on first use, ~2 s)."""
    global _moderator
    with _lock:
        if _moderator is None:
            _moderator = Moderator(default_policy())
        return _moderator


def check_prompt(text: str) -> ModerationResult:
    """What the policy says about `text`. Never raises for a flagged prompt."""
    return get_moderator().check(text)


def moderate_prompt(text: str, *, param: str = "prompt") -> ModerationResult:
    """Pass `text` through the policy; raise `ModerationBlocked` naming the category if flagged."""
    result = check_prompt(text)
    if result.flagged:
        assert result.category is not None
        raise ModerationBlocked(
            f"Your prompt was blocked by the content policy ({result.category}).",
            category=result.category,
            param=param,
        )
    return result
