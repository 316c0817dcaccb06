"""Train the causal video VAE on clips from the procedural world. A plain, resumable loop."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from zoetrope.model.vae import VAE_CONFIGS, VideoVAE
from zoetrope.train.common import Clock, autocast, load_checkpoint, pick_device, progress_bar, save_checkpoint
from zoetrope.world import WorldDataset

# The analyzer's threshold (zoetrope.eval.segment): a pixel whose largest channel differs from its row's
# backdrop by more, in 0..255, belongs to an object's silhouette; calm pixels (channel spread below
# CALM_CHROMA) are the ones the backdrop is estimated from.
FOREGROUND_DIFF = 35.0
CALM_CHROMA = 100.0


@dataclass
class VAETrainConfig:
    out: Path = Path("runs/vae")
    size: str = "S"
    steps: int = 4000
    batch: int = 16
    # 1 + 4k. In 9-frame clips every latent frame's receptive field reaches back into the padding before the
    # clip; 17-frame clips (the DiT's windows) also show the decoder latent frames 3 and 4, which see only
    # real frames and otherwise decode with a visible step in look
    frames: int = 9
    render: int = 64  # clips are rendered at this size, then cropped
    # convolutions are translation-equivariant: train on crops, run at any size. Crops are cheap on a CPU; at
    # the full 64 the decoder also learns the frame's borders and whole objects, and scores far better on
    # full-size held-out clips (at 17 frames, 4,000 decoder steps: 31.8 dB against 27.7 at 32)
    crop: int = 32
    pool: int = 3000  # clips rendered once and reused with random crops and flips
    init: Path | None = None  # start from this checkpoint's weights (a fresh optimizer)
    freeze_encoder: bool = False  # fine-tune the decoder only: latents already cached stay valid
    lr: float = 2e-3
    kl_weight: float = 1e-6
    detail_weight: float = 1.0
    temporal_weight: float = 0.0  # L1 on frame-to-frame change: no jump where one latent frame hands over to the next
    # Hinge on each pixel landing on the clip's side of the analyzer's foreground threshold: pixel losses let
    # the corners of small shapes fade into the backdrop, which rounds their silhouettes
    silhouette_weight: float = 0.0
    seed: int = 0
    device: str = "auto"
    checkpoint_every_s: float = 180.0
    max_minutes: float | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.frames < 5 or (self.frames - 1) % 4:
            raise ValueError(f"frames must be 1 + 4k with k >= 1 (5, 9, 13, 17, ...), got {self.frames}")
        if self.crop < 8 or self.crop % 8 or self.crop > self.render:
            raise ValueError(f"crop must be a multiple of 8 from 8 to the render size {self.render}, got {self.crop}")


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 (B, T, H, W, 3) -> float (B, 3, T, H, W) in [-1, 1]."""
    return torch.from_numpy(frames).permute(0, 4, 1, 2, 3).float().div(127.5).sub(1)


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR in dB of two [-1, 1] tensors, over [0, 1] pixel scale."""
    mse = F.mse_loss((x.clamp(-1, 1) + 1) / 2, (y.clamp(-1, 1) + 1) / 2).item()
    return 10 * math.log10(1 / max(mse, 1e-10))


def edge_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L1 between spatial gradients: small objects and their edges weigh as much as the backdrop."""
    dx = (recon.diff(dim=-1) - x.diff(dim=-1)).abs().mean()
    dy = (recon.diff(dim=-2) - x.diff(dim=-2)).abs().mean()
    return dx + dy


def detail_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error weighted by how much each pixel stands out from its neighbourhood: small
    objects cover a few percent of a frame, and a plain loss lets the backdrop drown them."""
    b, c, t, h, w = x.shape
    frames = x.transpose(1, 2).reshape(b * t, c, h, w)
    local = F.avg_pool2d(frames, 9, stride=1, padding=4, count_include_pad=False)
    weight = (frames - local).abs().mean(1, keepdim=True).view(b, t, 1, h, w).transpose(1, 2)
    return (weight.detach() * (recon - x).pow(2)).sum() / weight.sum().clamp(min=1e-6)


def temporal_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L1 between frame-to-frame changes: each latent frame decodes four video frames, and a
    reconstruction loss alone lets the picture jump at every hand-over from one latent to the next."""
    return (recon.diff(dim=2) - x.diff(dim=2)).abs().mean()


def silhouette_targets(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What the analyzer sees in clips (B, 3, T, H, W) in [-1, 1]: the backdrop of every row, (B, 3, T, H, 1),
    and every pixel's largest channel difference from it, (B, 1, T, H, W); both in 0..255.

    The world's backdrops are unsaturated and constant along each row, its objects saturated, so a
    row's backdrop is the median of its calm pixels."""
    pixels = (x.detach().float() + 1) * 127.5
    calm = (pixels.amax(1, keepdim=True) - pixels.amin(1, keepdim=True)) < CALM_CHROMA
    rows = torch.where(calm, pixels, torch.nan).nanmedian(dim=-1, keepdim=True).values  # (B, 3, T, H, 1)
    # a row with no calm pixel (an object across the whole crop): the median of all its pixels
    rows = torch.where(rows.isnan(), pixels.median(dim=-1, keepdim=True).values, rows)
    return rows, (pixels - rows).abs().amax(1, keepdim=True)


def silhouette_loss(
    recon: torch.Tensor, rows: torch.Tensor, target: torch.Tensor, margin: float = 15.0
) -> torch.Tensor:
    """How far pixels fall on the wrong side of the foreground threshold, per foreground pixel, in [-1, 1] units.

    A pixel of the object must stand out from the backdrop at least as much as in the clip (up to
    `margin` past the threshold), a backdrop pixel no more than in the clip (down to `margin` below it):
    zero for a perfect reconstruction, and no pull on pixels well inside or outside a silhouette.
    """
    diff = ((recon + 1) * 127.5 - rows).abs().amax(1, keepdim=True)  # (B, 1, T, H, W)
    inside = target > FOREGROUND_DIFF
    short = F.relu(torch.clamp(target, max=FOREGROUND_DIFF + margin) - diff)
    spill = F.relu(diff - torch.clamp(target, min=FOREGROUND_DIFF - margin))
    return torch.where(inside, short, spill).sum() / 127.5 / inside.sum().clamp(min=1)


def random_crop(x: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    h, w = x.shape[-2:]
    if size >= min(h, w):
        return x
    i = int(torch.randint(0, (h - size) // 8 + 1, (1,), generator=gen)) * 8
    j = int(torch.randint(0, (w - size) // 8 + 1, (1,), generator=gen)) * 8
    return x[..., i : i + size, j : j + size]


@torch.no_grad()
def evaluate_vae(vae: VideoVAE, device: torch.device, n: int = 32, frames: int = 17, size: int = 64) -> float:
    """Mean reconstruction PSNR (dB) on held-out world clips at full size."""
    data = iter(WorldDataset(seed=10_000, frames=frames, height=size, width=size, batch=8, split="heldout"))
    scores = []
    for _ in range(max(1, n // 8)):
        x = to_tensor(next(data)[0]).to(device)
        scores.append(psnr(vae.decode(vae.encode(x)), x))
    return float(np.mean(scores))


@torch.no_grad()
def latent_scale(vae: VideoVAE, device: torch.device) -> float:
    """1 / std of latent means on world clips, so the DiT sees unit-variance latents."""
    x = to_tensor(next(iter(WorldDataset(seed=20_000, frames=17, height=64, width=64, batch=32)))[0])
    z = vae.encode_dist(x.to(device))[0]
    return float(1.0 / z.std().clamp(min=1e-4))


def _clip_pool(cfg: VAETrainConfig, show_progress: bool) -> np.ndarray:
    """A fixed pool of rendered clips (B, T, H, W, 3), cached beside the checkpoint: rendering
    inside the loop would cost more CPU than the VAE step itself."""
    path = cfg.out / f"pool-{cfg.pool}x{cfg.frames}x{cfg.render}.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
    data = iter(
        WorldDataset(seed=cfg.seed + 1, frames=cfg.frames, height=cfg.render, width=cfg.render, batch=64)
    )
    clips: list[np.ndarray] = []
    with progress_bar(disable=not show_progress) as bar:
        task = bar.add_task("render pool", total=cfg.pool, stats="")
        while sum(len(c) for c in clips) < cfg.pool:
            clips.append(next(data)[0])
            bar.update(task, completed=sum(len(c) for c in clips))
    pool = np.concatenate(clips)[: cfg.pool]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, pool)
    return pool


def train_vae(cfg: VAETrainConfig, show_progress: bool = True) -> Path:
    """Train (or resume) a VAE; returns the checkpoint path. Stops at `steps` or `max_minutes`."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    ckpt_path = cfg.out / "checkpoint.pt"
    state = load_checkpoint(ckpt_path)
    vae = VideoVAE(VAE_CONFIGS[cfg.size]).to(device)
    init = load_checkpoint(cfg.init) if cfg.init is not None and state is None else None
    if init is not None:
        vae.load_state_dict(init["model"])
    if cfg.freeze_encoder:
        vae.encoder.requires_grad_(False)
    params = [p for p in vae.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0, betas=(0.9, 0.99))
    step = 0
    if state is not None:
        vae.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
    gen = torch.Generator().manual_seed(cfg.seed + step)
    pool = _clip_pool(cfg, show_progress)
    clock, started = Clock(cfg.checkpoint_every_s), time.monotonic()

    def checkpoint() -> None:
        save_checkpoint(
            ckpt_path,
            model=vae.state_dict(),
            opt=opt.state_dict(),
            step=step,
            vae_config=asdict(vae.cfg),
            train_config={k: str(v) for k, v in asdict(cfg).items()},
        )

    with progress_bar(disable=not show_progress) as bar:
        task = bar.add_task("vae", total=cfg.steps, completed=step, stats="")
        while step < cfg.steps:
            idx = torch.randint(0, len(pool), (cfg.batch,), generator=gen).numpy()
            x = random_crop(to_tensor(pool[idx]), cfg.crop, gen)
            if torch.rand(1, generator=gen) < 0.5:
                x = x.flip(-1)
            x = x.to(device)
            lr = (
                cfg.lr
                * min(1.0, (step + 1) / 200)
                * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / cfg.steps)))
            )
            for g in opt.param_groups:
                g["lr"] = lr
            with autocast(device):
                recon, mean, logvar = vae(x)
            recon = recon.float()
            kl = 0.5 * (mean.float().pow(2) + logvar.float().exp() - 1 - logvar.float()).mean()
            loss = F.l1_loss(recon, x) + F.mse_loss(recon, x) + edge_loss(recon, x) + cfg.kl_weight * kl
            loss = loss + cfg.detail_weight * detail_loss(recon, x)
            if cfg.temporal_weight:
                loss = loss + cfg.temporal_weight * temporal_loss(recon, x)
            if cfg.silhouette_weight:
                loss = loss + cfg.silhouette_weight * silhouette_loss(recon, *silhouette_targets(x))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            if step % 10 == 0:
                bar.update(task, completed=step, stats=f"loss {loss.item():.4f} psnr {psnr(recon, x):.1f}dB")
            if clock.due():
                checkpoint()
            if cfg.max_minutes is not None and time.monotonic() - started > cfg.max_minutes * 60:
                break
    checkpoint()
    return ckpt_path
