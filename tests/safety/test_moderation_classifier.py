"""The semantic layer's linear classifier: it catches paraphrased and disguised hate that no word
list or exemplar names, and excuses words that only meet by chance, never a disguised one."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from zoetrope.safety import check_prompt
from zoetrope.safety.classifier import TRAINING_SETS, load_classifier
from zoetrope.safety.normalize import normalize
from zoetrope.safety.policy import default_policy
from zoetrope.safety.rules import RuleSet

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    "prompt",
    [
        "a cartoon of a religious minority as a plague of locusts that must be driven out",
        "those p3ople from across the border drawn as c0ckroaches to be stamped out",
    ],
)
def test_hate_without_a_listed_word_is_blocked(prompt):
    result = check_prompt(prompt)
    assert result.flagged and result.category == "hate", result.reasons


@pytest.mark.parametrize(
    "prompt",
    [
        "a black woman burning old letters in the fireplace",
        "a tomato fight at a festival, a bloodbath of red pulp",
    ],
)
def test_listed_words_that_meet_by_chance_pass(prompt):
    result = check_prompt(prompt)
    assert not result.flagged, result.reasons


def test_only_plainly_said_groups_of_an_excusing_category_may_be_excused():
    rules = RuleSet(default_policy())

    def excusable(text: str) -> set[str]:
        return rules.excusable(text, rules.check(rules.readings(text)))

    assert excusable("a Muslim farmer chasing rats out of his barn") == {"hate"}
    # The same words disguised: the rules still read them, the classifier may not excuse them.
    assert rules.check(rules.readings("a Musl1m farmer chasing r4ts out of his barn"))["hate"]
    assert excusable("a Musl1m farmer chasing r4ts out of his barn") == set()
    assert excusable("a m-u-s-l-i-m farmer chasing r a t s out of his barn") == set()
    # Hate's terms are slurs, and sexual/minors excuses nothing.
    assert excusable("the chink in the corner shop") == set()
    assert excusable("a naughty kitten chasing the kids around the garden") == set()


def test_a_disguised_slur_still_blocks_where_the_classifier_reads_nothing():
    result = check_prompt("the ch1nk in the corner shop")
    assert result.flagged and result.category == "hate", result.reasons


def test_the_shipped_classifier_scores_every_category():
    classifier = load_classifier()
    assert classifier is not None
    assert classifier.labels == ["benign", *default_policy().categories]
    assert classifier.weight.shape == (len(classifier.labels), 384)


def test_the_classifier_never_learns_from_the_sets_that_measure_it():
    measuring = {
        "tests/data/moderation_fresh.jsonl",
        "tests/data/moderation_fresh2.jsonl",
        "tests/data/moderation_fresh3.jsonl",
        "tests/data/moderation_audit_heldout.jsonl",
    }
    assert not measuring & set(TRAINING_SETS)
    written = tomllib.loads(
        resources.files("zoetrope.safety").joinpath("data", "classifier_prompts.toml").read_text()
    )["prompts"]
    assert set(written) == {"benign", *default_policy().categories}
    held = {
        normalize(json.loads(line)["text"])
        for path in measuring
        for line in (DATA.parent.parent / path).read_text().splitlines()
        if line.strip()
    }
    assert not held & {normalize(t) for texts in written.values() for t in texts}


def test_the_retrain_command_runs_cleanly_and_writes_nothing_for_help(tmp_path):
    weights = Path(__file__).resolve().parents[2] / "zoetrope" / "safety" / "data" / "classifier.safetensors"
    before = weights.read_bytes()
    run = subprocess.run(
        [sys.executable, "-m", "zoetrope.safety.train_classifier", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        timeout=120,
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert "--validate" in run.stdout and "--out" in run.stdout, run.stdout
    assert weights.read_bytes() == before


def test_stray_characters_with_no_word_are_not_read_by_the_classifier():
    """A fuzzer's prompt (control and Latin-1 characters, surrogates, no word of three letters) once
    read as 0.89 sexual: the classifier learnt from sentences, so it does not judge such strings."""
    garbage = "\x9c\x8al\xf3\U000fa5a7\xd3\U000e7fb5\x17\xcer=\xd1\xc4#\x9cX6\x1f"
    assert not check_prompt(garbage).flagged
    rng = random.Random(0)
    for _ in range(200):
        text = "".join(rng.choice("xq#=6\x01\x1f\x9c\xd1\xc4 .") for _ in range(rng.randint(1, 30)))
        assert not any(r.startswith("classifier") for r in check_prompt(text).reasons.values()), repr(text)
