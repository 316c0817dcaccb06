"""`zoetrope eval --real`: scores the renderer and writes one number per axis."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.errors import InvalidRequest
from zoetrope.eval import AXES


def test_eval_real_writes_one_score_per_axis(tmp_path):
    out = tmp_path / "eval" / "results.json"
    result = CliRunner().invoke(app, ["eval", "--real", "--n", "6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["source"] == "renderer" and report["n"] == 6
    for axis in AXES:
        assert report[axis] is None or 0.0 <= report[axis] <= 1.0
    assert report["color"] >= 0.98 and "train-style" in report and "paraphrase" not in report


def test_eval_real_with_paraphrase_adds_a_separate_block(tmp_path):
    out = tmp_path / "results.json"
    result = CliRunner().invoke(app, ["eval", "--real", "--paraphrase", "--n", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(AXES) <= set(report["paraphrase"]) and report["paraphrase"]["n"] == 3


class _NoiseModel:
    """A stand-in model without weights: random frames, in two chunks like a real backend."""

    name = "noise"
    requests: list = []

    def pipeline(self):
        return self

    def generate(self, request):
        self.requests.append(request)
        rng = np.random.default_rng(request.seed)
        frames = round(request.seconds * 8)
        clip = rng.integers(0, 256, size=(frames, request.height, request.width, 3), dtype=np.uint8)
        yield from (clip[: frames // 2], clip[frames // 2 :])


def test_eval_on_a_model_scores_both_prompt_styles(tmp_path, monkeypatch):
    from zoetrope.backends import bundled

    monkeypatch.setattr(bundled, "BundledBackend", _NoiseModel)
    monkeypatch.setattr(_NoiseModel, "requests", [])
    out = tmp_path / "results.json"
    args = ["eval", "--n", "4", "--steps", "2", "--guidance", "6", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["source"] == "noise" and report["steps"] == 2 and report["guidance"] == 6.0
    assert {(r.steps, r.guidance) for r in _NoiseModel.requests} == {(2, 6.0)}
    assert report["train-style"]["n"] == report["paraphrase"]["n"] == 4
    assert report["color"] < 0.5 and report["shape"] < 0.5  # noise follows no prompt


def test_eval_vae_scores_the_bundled_vae_round_trip(tmp_path):
    out = tmp_path / "roundtrip.json"
    result = CliRunner().invoke(app, ["eval", "--vae", "--n", "6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["source"] == "zoetrope-mini VAE round trip" and "paraphrase" not in report
    assert report["color"] >= 0.75  # the bundled VAE keeps the objects' colours


def test_eval_real_and_vae_together_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--real", "--vae", "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 2 and "--vae" in result.output


def test_denoise_from_zero_is_the_vae_round_trip_and_higher_levels_redraw_the_clip():
    from zoetrope.cli.eval import _denoise_from, _vae_roundtrip
    from zoetrope.world import caption, sample_scene

    rng = np.random.default_rng(3)
    scene = sample_scene(rng, split="heldout")
    prompt = caption(scene, rng, form="long")
    roundtrip = _vae_roundtrip(64, 8)(prompt, scene)
    assert np.array_equal(_denoise_from(64, 8, 0.0, 2, None)(prompt, scene), roundtrip)
    redrawn = _denoise_from(64, 8, 0.7, 2, None)(prompt, scene)
    assert redrawn.shape == roundtrip.shape == (8, 64, 64, 3)
    assert np.abs(redrawn.astype(int) - roundtrip).mean() > 1.0  # the DiT drew this from noisy latents


def test_eval_denoise_from_writes_a_train_style_report(tmp_path):
    out = tmp_path / "sdedit.json"
    result = CliRunner().invoke(
        app, ["eval", "--denoise-from", "0.3", "--n", "2", "--steps", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["source"] == "zoetrope-mini denoising from t=0.3" and "paraphrase" not in report
    assert 0.0 <= report["color"] <= 1.0 and report["train-style"]["n"] == 2


def test_eval_denoise_from_outside_0_to_1_or_with_vae_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--denoise-from", "1.5", "--out", str(tmp_path / "r.json")])
    # Refused before anything runs, naming the flag and its range (printed as one line, exit 2).
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "--denoise-from"
    assert "from 0 to 1" in result.exception.message and not (tmp_path / "r.json").exists()
    result = CliRunner().invoke(
        app, ["eval", "--vae", "--denoise-from", "0.5", "--out", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 2 and "--denoise-from" in result.output
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("literal", [False, True])
def test_eval_gives_the_model_the_read_prompts_unless_asked_for_them_as_written(tmp_path, monkeypatch, literal):
    from zoetrope.backends.bundled import write_tiny_random_weights
    from zoetrope.model.text import TextEncoder
    from zoetrope.world.understand import canonical_prompt

    weights = write_tiny_random_weights(tmp_path / "w")
    meta = json.loads((weights / "config.json").read_text())
    (weights / "config.json").write_text(json.dumps({**meta, "plain_prompts": True}))
    monkeypatch.setenv("ZOETROPE_WEIGHTS_DIR", str(weights))
    encoded: list[str] = []
    encode = TextEncoder.encode
    monkeypatch.setattr(TextEncoder, "encode", lambda self, texts: encoded.extend(texts) or encode(self, texts))
    out = tmp_path / "r.json"
    args = ["eval", "--n", "2", "--frames", "4", "--steps", "1", "--out", str(out)] + (["--literal-prompts"] * literal)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["prompts"] == ("literal" if literal else "plain where read")
    prompts = {t for t in encoded if t}
    read = {canonical_prompt(t) for t in prompts} - {None}
    if literal:  # the held-out captions as written: their synonyms and wording, never re-said
        assert prompts and not prompts <= read
    else:  # every prompt reached the encoder in the training wording it reads back as
        assert prompts and all(canonical_prompt(t) == t for t in prompts)
