"""A linear classifier over the text encoder's sentence vectors: one more reader of the semantic layer.

The exemplars say how close a prompt comes to a few hand-written sentences; the classifier has
seen a thousand labelled prompts (the exemplars, `data/classifier_prompts.toml`, and the
labelled sets named in `TRAINING_SETS`) and weighs every direction of the vector space at once,
so it reads a paraphrase that is near no single exemplar, and tells a history lesson or a
cooking show from the harm whose words it shares. It is eight rows of 384 weights: reading it
costs one small matrix product on vectors moderation computes anyway.

`python -m zoetrope.safety.train_classifier` trains it again and writes
`data/classifier.safetensors`; pick the thresholds in `data/policy.toml` with its `--validate`
(see `validate`).
"""

from __future__ import annotations

import json
import tomllib
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from zoetrope.safety.normalize import normalize, unmasked

WEIGHTS = "classifier.safetensors"
ROOT = Path(__file__).resolve().parents[2]
# The labelled sets it learns from. moderation_fresh.jsonl, moderation_fresh2.jsonl,
# moderation_fresh3.jsonl and the audit's held-out half stay out: they measure what it learned
# (bench/moderation.py).
TRAINING_SETS = ("tests/data/moderation_eval.jsonl", "tests/data/moderation_audit_dev.jsonl")
_SCALE = 10.0  # sentence vectors are unit length: scaled so the L2 penalty stays comparable
_DECAY = 3e-3  # L2 weight penalty: a few hundred prompts cannot pin 3,000 weights; more is overconfident


@dataclass(frozen=True)
class Classifier:
    """Softmax regression: `labels[k]` is scored by `weight[k] @ v + bias[k]`."""

    labels: list[str]
    weight: torch.Tensor  # (K, 384)
    bias: torch.Tensor  # (K,)

    def probabilities(self, vectors: torch.Tensor) -> torch.Tensor:
        """The probability of each label (W, K) for each sentence vector (W, 384)."""
        return torch.softmax(vectors @ self.weight.T + self.bias, dim=1)


def load_classifier(path: Path | None = None) -> Classifier | None:
    """The shipped classifier (or the one at `path`); None where there is none."""
    from safetensors import safe_open

    source = resources.files("zoetrope.safety").joinpath("data", WEIGHTS) if path is None else path
    if not Path(str(source)).is_file():
        return None
    with safe_open(str(source), framework="pt") as f:
        labels = json.loads(f.metadata()["labels"])
        return Classifier(labels, f.get_tensor("weight").float(), f.get_tensor("bias").float())


def save_classifier(classifier: Classifier, path: Path) -> None:
    from safetensors.torch import save_file

    tensors = {"weight": classifier.weight.contiguous(), "bias": classifier.bias.contiguous()}
    save_file(tensors, str(path), metadata={"labels": json.dumps(classifier.labels)})


def readings(text: str) -> list[str]:
    """What the classifier learns from a labelled prompt: its normalised text, and the unmasked
    reading where that differs (the two whole-prompt windows moderation reads)."""
    return list(dict.fromkeys([normalize(text), unmasked(text)]))


def training_prompts(sets: list[Path]) -> list[tuple[str, str]]:
    """(text, label) of the exemplars, the written training prompts and the rows of `sets`."""
    data = resources.files("zoetrope.safety").joinpath("data")
    pairs = []
    for name in ("exemplars.toml", "classifier_prompts.toml"):
        table = tomllib.loads(data.joinpath(name).read_text())
        pairs += [(t, label) for label, texts in next(iter(table.values())).items() for t in texts]
    for path in sets:
        pairs += [(r["text"], r["label"]) for r in map(json.loads, path.read_text().splitlines()) if r]
    return pairs


def train(pairs: list[tuple[str, str]], labels: list[str], embed) -> Classifier:
    """Fit softmax regression on the readings of `pairs`, each label weighed by the inverse square
    root of its count (benign prompts outnumber each harmful category). `embed` gives (N, 384)."""
    seen: dict[str, str] = {}
    for text, label in pairs:
        for reading in readings(text):
            seen.setdefault(reading, label)
    texts = list(seen)
    x = embed(texts) * _SCALE  # (N, 384)
    y = torch.tensor([labels.index(seen[t]) for t in texts])
    counts = torch.bincount(y, minlength=len(labels)).clamp(min=1).float()
    balance = (counts.sum() / counts / len(labels)).sqrt()
    weight = torch.zeros(len(labels), x.shape[1], requires_grad=True)
    bias = torch.zeros(len(labels), requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], max_iter=500)

    def loss() -> torch.Tensor:
        opt.zero_grad()
        value = torch.nn.functional.cross_entropy(x @ weight.T + bias, y, weight=balance)
        value = value + _DECAY * (weight**2).sum()
        value.backward()
        return value

    with torch.enable_grad():
        opt.step(loss)
    return Classifier(labels, weight.detach() * _SCALE, bias.detach())


def _groups(rows: list[dict]) -> list[int]:
    """A group per prompt, so a validation split keeps each audit sentence and all its disguises
    (the rows after its `plain` row) on one side."""
    group, out = -1, []
    for i, row in enumerate(rows):
        if row.get("audit") == "plain" or row.get("kind") != "obfuscated" or group < 0:
            group = i
        out.append(group)
    return out


def validate(
    classifier_thresholds: list[float], veto_thresholds: list[float], show: tuple[float, float] | None = None
) -> None:
    """Two-fold validation of the whole moderation (rules, exemplars, classifier): train on the
    training prompts and one half of each training set's groups, check the other half and
    moderation_fresh.jsonl; print recall per category and benign false positives per pair of
    thresholds (`classifier_threshold`, `rule_veto_below`), and the prompts each gets wrong at `show`."""
    from zoetrope.model.text import get_text_encoder
    from zoetrope.safety.moderation import Moderator
    from zoetrope.safety.policy import default_policy

    policy = default_policy()
    labels = ["benign", *policy.categories]
    sets = [
        [json.loads(line) for line in (ROOT / p).read_text().splitlines() if line.strip()]
        for p in TRAINING_SETS
    ]
    fresh = [
        json.loads(line) for line in (ROOT / "tests/data/moderation_fresh.jsonl").read_text().splitlines()
    ]
    base = training_prompts([])
    results: dict[tuple[float, float], list[tuple[str, bool]]] = {}
    for fold in (0, 1):
        train_rows, check_rows = [], [*fresh]
        for rows in sets:
            for row, group in zip(rows, _groups(rows), strict=True):
                (check_rows if zlib.crc32(str(group).encode()) % 2 == fold else train_rows).append(row)
        classifier = train(
            base + [(r["text"], r["label"]) for r in train_rows], labels, get_text_encoder().embed
        )
        for t in classifier_thresholds:
            for v in veto_thresholds:
                moderator = Moderator(
                    policy.model_copy(update={"classifier_threshold": t, "rule_veto_below": v})
                )
                moderator.classifier = classifier
                verdicts = [moderator.check(r["text"]) for r in check_rows]
                got = [(r["label"], res.flagged) for r, res in zip(check_rows, verdicts, strict=True)]
                results.setdefault((t, v), []).extend(got)
                if show == (t, v):
                    for r, res in zip(check_rows, verdicts, strict=True):
                        if (r["label"] == "benign") == res.flagged:
                            print(f"{r['label']:>16} got {res.category}: {r['text']}  {res.reasons}")
    print("classifier_threshold rule_veto_below  benign_FP  recall  " + " ".join(c[:8] for c in labels[1:]))
    for (t, v), got in results.items():
        benign = [f for label, f in got if label == "benign"]
        harmful = [f for label, f in got if label != "benign"]
        per = [
            sum(f for label, f in got if label == c) / max(1, sum(label == c for label, _ in got))
            for c in labels[1:]
        ]
        print(
            f"{t:20.2f} {v:15.2f} {sum(benign) / len(benign):10.3f} {sum(harmful) / len(harmful):7.3f}  "
            + " ".join(f"{p:8.3f}" for p in per)
        )


if __name__ == "__main__":
    raise SystemExit("retrain the classifier with: python -m zoetrope.safety.train_classifier")
