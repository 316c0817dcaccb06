"""Moderation verdicts in the shape of OpenAI's `POST /v1/moderations` response: the policy's
categories mapped to OpenAI's, and the finer ones (self-harm intent and instructions, threatening
hate) read from the wording of a text already flagged for the broad one."""

from __future__ import annotations

import re
import uuid

from zoetrope.safety.moderation import MODEL_NAME, ModerationResult, get_moderator
from zoetrope.safety.normalize import normalize

# OpenAI's finer categories, read from the wording of a text already flagged for the broad one:
# (broad category, finer one, what says it in the normalised text).
_FINER = (
    ("self-harm", "self-harm/intent",
     re.compile(r"\bmyself\b|\b(i|im|i m|me)\b.*\b(want|wanna|going to|gonna|will|plan\w*|ready|decided)\b")),
    ("self-harm", "self-harm/instructions",
     re.compile(r"\b(how to|how do i|how can i|step by step|instructions?|guide|ways to|methods? of|tutorial)\b")),
    ("hate", "hate/threatening",
     re.compile(r"\b(kill\w*|hang\w*|gas|shoot\w*|burn\w*|exterminat\w*|lynch\w*|die|death|eradicat\w*|"
                r"wipe out|slaughter\w*|attack\w*|beat\w*|deport all)\b")),
)  # fmt: skip


def to_openai(
    results: list[ModerationResult], *, model: str = MODEL_NAME, texts: list[str] | None = None
) -> dict:
    """`results` in the shape of OpenAI's `POST /v1/moderations` response.

    OpenAI's categories are all present; a policy category that maps to one of them sets it, and
    categories OpenAI has no name for (`public-figures`, `extremism`) are added under their own.
    Given the `texts` the results are of, a flagged self-harm or hate text also sets the finer
    categories its wording states (intent, instructions; threatening), at the broad score.
    """
    openai_names = [
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
        "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
        "violence/graphic",
    ]  # fmt: skip
    policy = get_moderator().policy
    items = []
    for i, r in enumerate(results):
        scores = dict.fromkeys(openai_names, 0.0)
        for name, score in r.scores.items():
            key = policy.categories[name].openai or name
            scores[key] = max(scores.get(key, 0.0), score)
        scores["violence"] = max(scores["violence"], scores["violence/graphic"])
        if texts is not None:
            words = normalize(texts[i])
            for broad, finer, cue in _FINER:
                if scores[broad] >= 0.5 and cue.search(words):
                    scores[finer] = scores[broad]
        items.append(
            {
                "flagged": r.flagged,
                "categories": {k: v >= 0.5 for k, v in scores.items()},
                "category_scores": scores,
                "category_applied_input_types": {k: ["text"] for k in scores},
            }
        )
    return {"id": f"modr-{uuid.uuid4().hex}", "model": model, "results": items}
