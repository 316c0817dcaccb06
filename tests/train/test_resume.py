"""Training runs in pieces: a stopped run resumes from its last checkpoint."""

import os

import torch

from zoetrope.train.common import load_checkpoint
from zoetrope.train.dit import DiTTrainConfig, train_dit
from zoetrope.train.export import export_weights
from zoetrope.train.vae import VAETrainConfig, train_vae


def test_vae_and_dit_resume_and_export(tmp_path):
    vae_cfg = VAETrainConfig(out=tmp_path / "vae", size="tiny", steps=3, batch=2, frames=5, render=32, crop=16, pool=8,
                             temporal_weight=1.0)
    path = train_vae(vae_cfg, show_progress=False)
    first = load_checkpoint(path)
    assert first["step"] == 3
    vae_cfg.steps = 5
    train_vae(vae_cfg, show_progress=False)
    second = load_checkpoint(path)
    assert second["step"] == 5
    assert any(not torch.equal(first["model"][k], second["model"][k]) for k in first["model"])

    dit_cfg = DiTTrainConfig(out=tmp_path / "dit", vae_checkpoint=path, size="tiny", steps=2, batch=2,
                             buckets=((32, 32, 9, 4, 1.0), (32, 32, 1, 4, 0.5)), captions_per_clip=1)
    ckpt = train_dit(dit_cfg, show_progress=False)
    assert load_checkpoint(ckpt)["step"] == 2 and (tmp_path / "dit" / "cache.pt").exists()
    dit_cfg.steps = 4
    train_dit(dit_cfg, show_progress=False)
    state = load_checkpoint(ckpt)
    assert state["step"] == 4 and "ema" in state

    out = export_weights(path, ckpt, tmp_path / "weights")
    assert {p.name for p in out.iterdir()} == {"vae.safetensors", "dit.safetensors", "config.json"}
    from safetensors.torch import load_file

    assert all(v.dtype == torch.float16 for v in load_file(out / "dit.safetensors").values())
    mask = os.umask(0)
    os.umask(mask)
    assert all((out / n).stat().st_mode & 0o777 == 0o666 & ~mask for n in ("vae.safetensors", "dit.safetensors"))

    # A continuation DiT (here the same run, as a stand-in) ships beside the main one; weights
    # exported again without one do not keep it.
    with_cont = export_weights(path, ckpt, tmp_path / "weights-cont", continuation=ckpt)
    assert (with_cont / "dit_continue.safetensors").exists()
    import json

    assert json.loads((with_cont / "config.json").read_text())["continuation_steps"] == 4
    export_weights(path, ckpt, with_cont)
    assert not (with_cont / "dit_continue.safetensors").exists()
    # Re-exported from a weights folder (to add or drop a continuation): the DiT's own step count
    # and the VAE's PSNR carry over.
    before = json.loads((out / "config.json").read_text())
    again = json.loads((export_weights(out, out, tmp_path / "again") / "config.json").read_text())
    assert again["dit_steps"] == before["dit_steps"] == 4
    assert again["vae_psnr_db"] == before["vae_psnr_db"]
    other = dict(state, dit_config={**state["dit_config"], "depth": state["dit_config"]["depth"] + 1})
    torch.save(other, tmp_path / "other.pt")
    import pytest

    with pytest.raises(ValueError, match="main DiT's config"):
        export_weights(path, ckpt, tmp_path / "weights-bad", continuation=tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="no continuation checkpoint"):
        export_weights(path, ckpt, tmp_path / "weights-bad", continuation=tmp_path / "missing.pt")

    # Exported weights are a starting point: a new run begins from them (both networks, fresh optimizer).
    vae_from = VAETrainConfig(out=tmp_path / "vae2", size="tiny", steps=0, batch=2, frames=5, render=32, crop=16,
                              pool=8, init=out)
    started = load_checkpoint(train_vae(vae_from, show_progress=False))
    exported = load_file(out / "vae.safetensors")
    assert all(torch.allclose(started["model"][k], exported[k].float()) for k in exported)
    dit_from = DiTTrainConfig(out=tmp_path / "dit2", vae_checkpoint=out, init=out, size="tiny", steps=0, batch=2,
                              buckets=((32, 32, 9, 4, 1.0),), captions_per_clip=1)
    begun = load_checkpoint(train_dit(dit_from, show_progress=False))
    ema = load_file(out / "dit.safetensors")
    assert all(torch.allclose(begun["model"][k], ema[k].float()) for k in ema)


def test_a_folder_without_weights_is_refused_by_name(tmp_path):
    import pytest

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="vae.safetensors, dit.safetensors"):
        load_checkpoint(tmp_path)


def test_the_latent_cache_renders_other_or_more_clips_on_request():
    from zoetrope.model.vae import VAE_CONFIGS, VideoVAE
    from zoetrope.train.dit import build_cache

    torch.manual_seed(0)
    vae = VideoVAE(VAE_CONFIGS["tiny"]).eval()
    cpu = torch.device("cpu")

    def cache(**kw):
        cfg = DiTTrainConfig(buckets=((32, 32, 5, 4, 1.0),), captions_per_clip=1, **kw)
        return build_cache(cfg, vae, cpu, show_progress=False)

    base, again = cache(), cache()
    assert torch.equal(base["buckets"][0]["latents"], again["buckets"][0]["latents"])  # reproducible
    other = cache(data_seed=1)["buckets"][0]
    assert other["latents"].shape == base["buckets"][0]["latents"].shape
    assert not torch.equal(other["latents"], base["buckets"][0]["latents"])  # fresh clips
    more = cache(data_scale=2.0)["buckets"][0]
    assert len(more["latents"]) == 8 and len(more["captions"]) == 8
    assert more["latents"].dtype == torch.float16


def test_time_mean_moves_training_towards_low_noise():
    import pytest

    from zoetrope.diffusion.flow import logit_normal
    from zoetrope.train.dit import training_times

    def draw(mean: float, tokens: int = 80) -> torch.Tensor:
        return training_times(4096, 5, tokens, torch.Generator().manual_seed(0), mean)

    default, low = draw(0.0), draw(-0.6)
    assert default.shape == (4096, 5) and torch.equal(default[:, 0], default[:, 4])  # one time per clip
    # The default is the symmetric logit-normal, drawn exactly as before the option existed.
    assert torch.equal(default[:, 0], logit_normal((4096, 1), generator=torch.Generator().manual_seed(0))[:, 0])
    assert 0.45 < default.median() < 0.55 and 0.32 < low.median() < 0.4
    assert (low < 0.4).float().mean() > (default < 0.4).float().mean() + 0.1
    assert draw(-0.6, tokens=640).median() > low.median()  # longer sequences still shift towards noise
    with pytest.raises(ValueError, match="time_mean"):
        DiTTrainConfig(time_mean=5.0)


def test_late_start_clips_are_windows_that_open_mid_scene():
    import numpy as np
    import pytest

    from zoetrope.model.vae import VAE_CONFIGS, VideoVAE
    from zoetrope.train.dit import build_cache, late_windows
    from zoetrope.world import WorldDataset

    full, _, _ = WorldDataset(seed=3, frames=5 + 8, height=32, width=32, batch=16).get_batch(0)
    windows = late_windows(full, 5, np.random.default_rng(0))
    assert windows.shape == (16, 5, 32, 32, 3)
    starts = []
    for clip, window in zip(full, windows, strict=True):
        found = [s for s in range(9) if np.array_equal(clip[s : s + 5], window)]
        assert found, "each window is five consecutive frames of its clip"
        starts.append(found[0])
    assert max(starts) > 0  # not all from the scene's start
    assert np.array_equal(late_windows(full[:, :5], 5, np.random.default_rng(0)), full[:, :5])

    vae = VideoVAE(VAE_CONFIGS["tiny"]).eval()
    cfg = DiTTrainConfig(buckets=((32, 32, 5, 4, 1.0), (32, 32, 1, 4, 1.0)), captions_per_clip=1, late_start=8)
    cache = build_cache(cfg, vae, torch.device("cpu"), show_progress=False)
    assert cache["buckets"][0]["latents"].shape[2] == 2  # still five frames: two latent frames
    assert cache["buckets"][1]["latents"].shape[2] == 1  # images are left as they are
    with pytest.raises(ValueError, match="late_start"):
        DiTTrainConfig(late_start=-1)


def test_video_only_leaves_the_image_buckets_out_of_the_cache():
    from zoetrope.model.vae import VAE_CONFIGS, VideoVAE
    from zoetrope.train.dit import build_cache

    vae = VideoVAE(VAE_CONFIGS["tiny"]).eval()
    buckets = ((32, 32, 5, 4, 0.7), (32, 32, 1, 4, 0.2), (48, 32, 5, 4, 0.1))
    cfg = DiTTrainConfig(buckets=buckets, captions_per_clip=1, video_only=True)
    cache = build_cache(cfg, vae, torch.device("cpu"), show_progress=False)
    assert [b["latents"].shape[2] for b in cache["buckets"]] == [2, 2]  # both video buckets, no image one
    assert [b["weight"] for b in cache["buckets"]] == [0.7, 0.1]
    assert [b["latents"].shape[-1] for b in cache["buckets"]] == [4, 6]


def test_vae_clips_must_be_whole_latent_frames():
    import pytest

    for frames in (1, 8, 10):
        with pytest.raises(ValueError, match="1 \\+ 4k"):
            VAETrainConfig(frames=frames)
    assert VAETrainConfig(frames=17).frames == 17


def test_vae_crops_must_tile_the_rendered_frame(tmp_path):
    import pytest
    from typer.testing import CliRunner

    from zoetrope.cli import app
    from zoetrope.errors import InvalidRequest

    for crop in (0, 12, 72):
        with pytest.raises(ValueError, match="crop must be a multiple of 8"):
            VAETrainConfig(crop=crop)
    assert VAETrainConfig(crop=64).crop == 64
    result = CliRunner().invoke(app, ["train", "vae", "--out", str(tmp_path / "vae"), "--crop", "12"])
    assert result.exit_code == 2
    assert "--crop" in result.output and "multiple of 8" in result.output
    result = CliRunner().invoke(app, ["train", "vae", "--out", str(tmp_path / "vae"), "--pool", "0"])
    # Refused naming the flag and its range (printed as one line, exit 2).
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "--pool"
    assert not (tmp_path / "vae").exists()


def test_crops_are_aligned_windows_and_a_whole_frame_crop_is_the_frame():
    from zoetrope.train.vae import random_crop

    x = torch.randn(2, 3, 5, 64, 64)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(random_crop(x, 64, gen), x)
    seen = set()
    for _ in range(20):
        c = random_crop(x, 32, gen)
        assert c.shape[-2:] == (32, 32)
        hits = [(i, j) for i in range(0, 33, 8) for j in range(0, 33, 8) if torch.equal(x[..., i:i + 32, j:j + 32], c)]
        assert len(hits) == 1
        seen.add(hits[0])
    assert len(seen) > 1


def test_varied_captions_mix_the_second_training_style_into_the_cache():
    import re

    import pytest

    from zoetrope.model.vae import VAE_CONFIGS, VideoVAE
    from zoetrope.train.dit import build_cache
    from zoetrope.world.phrases import COLOR_WORDS, FRAMES, MOTION_PHRASES, RELATION_VARIED

    torch.manual_seed(0)
    vae = VideoVAE(VAE_CONFIGS["tiny"]).eval()

    def captions(share: float) -> list[str]:
        cfg = DiTTrainConfig(buckets=((32, 32, 1, 48, 1.0),), captions_per_clip=3, varied_captions=share)
        return build_cache(cfg, vae, torch.device("cpu"), show_progress=False)["text"]["captions"][1:]

    def says(style: str, text: str) -> bool:
        """Whether `text` holds one of the style's motion, frame or relation phrases (of two words or more)."""
        colors = "(" + "|".join(w for ws in COLOR_WORDS.values() for w in ws) + ")"
        phrases = [p for m in MOTION_PHRASES[style].values() for p in m]
        phrases += [f.split("{s}")[0].strip() for fs in FRAMES[style].values() for f in fs]
        phrases += [p for ps in RELATION_VARIED.values() for p in ps] if style == "varied" else []
        patterns = [re.escape(p).replace(re.escape("{to}"), colors) for p in phrases if len(p.split()) > 1]
        return any(re.search(rf"\b{p}\b", text) for p in patterns)

    assert not any(says("varied", t) for t in captions(0.0))
    mixed = captions(0.5)
    varied = [t for t in mixed if says("varied", t)]
    assert 0.25 * len(mixed) < len(varied) < 0.75 * len(mixed)
    assert all(says("varied", t) for t in captions(1.0))
    assert not any(says("paraphrase", t) for t in mixed)
    with pytest.raises(ValueError, match="varied_captions"):
        DiTTrainConfig(varied_captions=1.5)
