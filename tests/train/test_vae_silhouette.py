"""The silhouette loss: zero for the clip itself, felt where edges blur, and a VAE run that uses it resumes."""

import torch
import torch.nn.functional as F

from zoetrope.train.common import load_checkpoint
from zoetrope.train.vae import (
    FOREGROUND_DIFF,
    VAETrainConfig,
    silhouette_loss,
    silhouette_targets,
    to_tensor,
    train_vae,
)
from zoetrope.world import WorldDataset


def test_silhouette_loss_is_zero_for_the_clip_and_grows_when_edges_blur():
    clips = next(iter(WorldDataset(seed=3, frames=5, height=32, width=32, batch=4)))[0]
    x = to_tensor(clips)
    rows, target = silhouette_targets(x)
    assert rows.shape == (4, 3, 5, 32, 1) and target.shape == (4, 1, 5, 32, 32)
    assert (target > FOREGROUND_DIFF).any()
    assert silhouette_loss(x, rows, target).item() == 0.0
    blurred = F.avg_pool3d(x, (1, 3, 3), stride=1, padding=(0, 1, 1), count_include_pad=False)
    assert silhouette_loss(blurred, rows, target).item() > 0.01


def test_a_decoder_run_with_the_silhouette_loss_trains_and_resumes(tmp_path):
    base = VAETrainConfig(
        out=tmp_path / "base", size="tiny", steps=2, batch=2, frames=5, render=32, crop=32, pool=4
    )
    init = train_vae(base, show_progress=False)
    cfg = VAETrainConfig(
        out=tmp_path / "sil",
        size="tiny",
        steps=3,
        batch=2,
        frames=5,
        render=32,
        crop=32,
        pool=4,
        init=init,
        freeze_encoder=True,
        silhouette_weight=1.0,
    )
    path = train_vae(cfg, show_progress=False)
    first = load_checkpoint(path)
    assert first["step"] == 3 and first["train_config"]["silhouette_weight"] == "1.0"
    cfg.steps = 5
    train_vae(cfg, show_progress=False)
    second = load_checkpoint(path)
    assert second["step"] == 5
    start = load_checkpoint(init)["model"]
    changed = {k for k in start if not torch.equal(start[k], second["model"][k])}
    assert changed and all(k.startswith("decoder.") for k in changed)  # the encoder, and so the latents, stay
    assert any(not torch.equal(first["model"][k], second["model"][k]) for k in changed)
