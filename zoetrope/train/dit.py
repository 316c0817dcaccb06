"""Train the diffusion transformer on cached VAE latents of world clips. A plain, resumable loop.

The world is rendered and encoded through the VAE once, ahead of time (`build_cache`), in
size/duration buckets; the loop then only runs the DiT. Each step picks a bucket, a caption per
clip (several per clip, dropped to "" 10 % of the time for guidance), per-frame times from a
logit-normal, and a random conditioning mask (none, first frame, first k, last k, both ends).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from zoetrope.diffusion.flow import logit_normal, noisy, shift_for_tokens, shift_time
from zoetrope.model.dit import DIT_CONFIGS, DiT, DiTConfig
from zoetrope.model.text import get_text_encoder
from zoetrope.model.vae import VideoVAE
from zoetrope.train.common import (
    EMA,
    Clock,
    autocast,
    distributed,
    load_checkpoint,
    pick_device,
    progress_bar,
    save_checkpoint,
    unwrap,
)
from zoetrope.train.vae import to_tensor
from zoetrope.world import WorldDataset, caption

# (width, height, frames, clips, weight): square, landscape, vertical, and images.
DEFAULT_BUCKETS = ((64, 64, 17, 6000, 0.55), (112, 64, 17, 800, 0.1), (64, 112, 17, 800, 0.1), (64, 64, 1, 3000, 0.17),
                   (128, 128, 17, 600, 0.08))


@dataclass
class DiTTrainConfig:
    out: Path = Path("runs/dit")
    vae_checkpoint: Path = Path("runs/vae/checkpoint.pt")
    init: Path | None = None  # start from this checkpoint's (or weights folder's) EMA weights, fresh optimizer
    size: str = "S"
    steps: int = 20000
    batch: int = 32
    lr: float = 3e-4
    captions_per_clip: int = 3
    caption_dropout: float = 0.1
    # location of the logit-normal the training times are drawn from: below 0 draws more of the low-noise times,
    # where small detail (an object's outline) is decided; 0 is the symmetric default
    time_mean: float = 0.0
    # share of captions written in the "varied" training style (other verbs, word orders, filler) instead of "train"
    varied_captions: float = 0.0
    # how often each conditioning mask is drawn: none, first frame, first k, last k, both ends
    mask_weights: tuple = (0.5, 0.2, 0.1, 0.1, 0.1)
    buckets: tuple = DEFAULT_BUCKETS
    max_objects: int = 2
    seed: int = 0
    data_seed: int = 0  # which world clips the cache renders; another seed gives fresh clips of the same buckets
    data_scale: float = 1.0  # multiplies every bucket's clip count
    # video clips begin at a random frame 0..late_start of their scene, not always at its start, so the data
    # holds windows that open mid-motion, as an extension's or a long video's later windows do
    late_start: int = 0
    # leave out the one-frame (image) buckets: a continuation DiT only denoises windows that open with known
    # frames, which an image never has
    video_only: bool = False
    device: str = "auto"
    ema_decay: float = 0.999
    checkpoint_every_s: float = 240.0
    max_minutes: float | None = None
    scene_kwargs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        w = tuple(self.mask_weights)
        if not 0.0 <= self.varied_captions <= 1.0:
            raise ValueError(f"varied_captions must be a share from 0 to 1, got {self.varied_captions}")
        if not -3.0 <= self.time_mean <= 3.0:
            raise ValueError(f"time_mean must be from -3 to 3 (the logit-normal's location), got {self.time_mean}")
        if self.late_start < 0:
            raise ValueError(f"late_start must be 0 or more frames, got {self.late_start}")
        if len(w) != 5 or min(w) < 0 or sum(w) <= 0:
            raise ValueError(f"mask_weights {w} is not five non-negative weights (none, first frame, first k, "
                             "last k, both ends) with a positive sum")


@dataclass
class Bucket:
    latents: torch.Tensor  # (N, C, T, h, w) fp16
    captions: torch.Tensor  # (N, K) indices into the text table
    weight: float


def late_windows(video: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
    """`frames`-long windows (B, frames, ...) of clips (B, T, ...), each starting at a random frame 0..T - frames."""
    late = video.shape[1] - frames
    if late == 0:
        return video
    starts = rng.integers(0, late + 1, len(video))
    return np.stack([clip[s : s + frames] for clip, s in zip(video, starts, strict=True)])


def caption_style(cfg: DiTTrainConfig, rng: np.random.Generator) -> str:
    """"varied" for a `cfg.varied_captions` share of captions, else "train" (no draw at 0, so old caches repeat)."""
    return "varied" if cfg.varied_captions and rng.random() < cfg.varied_captions else "train"


@torch.no_grad()
def build_cache(cfg: DiTTrainConfig, vae: VideoVAE, device: torch.device, show_progress: bool = True) -> dict:
    """Render and encode every bucket; encode every distinct caption once. Returns tensors."""
    rng = np.random.default_rng(cfg.data_seed)
    texts: dict[str, int] = {"": 0}
    buckets = []
    with progress_bar(disable=not show_progress) as bar:
        for bi, (w, h, frames, clips, weight) in enumerate(cfg.buckets):
            if frames == 1 and cfg.video_only:
                continue
            clips = max(1, round(clips * cfg.data_scale))
            task = bar.add_task(f"encode {w}x{h}x{frames}", total=clips, stats="")
            late = cfg.late_start if frames > 1 else 0
            data = iter(WorldDataset(seed=cfg.data_seed * 1000 + bi, frames=frames + late, height=h, width=w,
                                     batch=32, max_objects=cfg.max_objects, **cfg.scene_kwargs))
            lat, caps = [], []
            while sum(len(x) for x in lat) < clips:
                video, _, scenes = next(data)
                video = late_windows(video, frames, rng)
                with autocast(device):
                    lat.append(vae.encode(to_tensor(video).to(device)).float().half().cpu())
                for scene in scenes:
                    row = [texts.setdefault(caption(scene, rng, style=caption_style(cfg, rng)), len(texts))
                           for _ in range(cfg.captions_per_clip)]
                    caps.append(row)
                bar.update(task, completed=sum(len(x) for x in lat))
            buckets.append({"latents": torch.cat(lat)[:clips], "captions": torch.tensor(caps[:clips]), "weight": weight})
        order = list(texts)
        encoder = get_text_encoder()
        task = bar.add_task("encode captions", total=len(order), stats="")
        tok, mask, pooled = [], [], []
        for i in range(0, len(order), 512):
            s = encoder._encode_batch(order[i : i + 512])
            tok.append(torch.stack([r[0] for r in s]).half())
            mask.append(torch.stack([r[1] for r in s]))
            pooled.append(torch.stack([r[2] for r in s]).half())
            bar.update(task, completed=min(len(order), i + 512))
    return {"buckets": buckets, "text": {"tokens": torch.cat(tok), "mask": torch.cat(mask), "pooled": torch.cat(pooled),
                                         "captions": order}}


def training_times(b: int, nt: int, tokens: int, gen: torch.Generator, mean: float = 0.0) -> torch.Tensor:
    """One time per clip (B, nt), the same for each of its frames: a logit-normal at `mean`, shifted for the
    sequence length."""
    return shift_time(logit_normal((b, 1), mean=mean, generator=gen), shift_for_tokens(tokens)).expand(b, nt).clone()


def random_known(b: int, t: int, gen: torch.Generator, weights: tuple = DiTTrainConfig.mask_weights) -> torch.Tensor:
    """Per-sample conditioning masks (B, T): none, first frame, first k, last k, or both ends, drawn in
    proportion to `weights`."""
    known = torch.zeros(b, t, dtype=torch.bool)
    if t == 1:
        return known
    kind = torch.multinomial(torch.tensor(weights, dtype=torch.float), b, replacement=True, generator=gen)
    k = torch.randint(1, max(2, t - 1), (b,), generator=gen)
    for i in range(b):
        if kind[i] == 1:
            known[i, 0] = True
        elif kind[i] == 2:
            known[i, : k[i]] = True
        elif kind[i] == 3:
            known[i, t - k[i] :] = True
        elif kind[i] == 4:
            known[i, 0] = known[i, -1] = True
    return known


def load_vae(path: Path, device: torch.device) -> VideoVAE:
    from zoetrope.model.vae import VAEConfig

    state = load_checkpoint(path)
    if state is None:
        raise FileNotFoundError(f"no VAE checkpoint at {path}; train one first with `zoetrope train vae`")
    c = state["vae_config"]
    vae = VideoVAE(VAEConfig.from_dict(c))
    vae.load_state_dict(state["model"])
    vae.cfg.scaling = state.get("scaling", vae.cfg.scaling)
    return vae.to(device).eval()


def train_dit(cfg: DiTTrainConfig, show_progress: bool = True) -> Path:
    """Train (or resume) the DiT; returns the checkpoint path. Stops at `steps` or `max_minutes`."""
    rank, world = distributed()
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed + rank)
    cache_path = cfg.out / "cache.pt"
    vae = load_vae(cfg.vae_checkpoint, device)
    if cache_path.exists():
        cache = torch.load(cache_path, weights_only=False)
    else:
        cache = build_cache(cfg, vae, device, show_progress and rank == 0)
        if rank == 0:
            save_checkpoint(cache_path, **cache)
    buckets = [Bucket(b["latents"], b["captions"], b["weight"]) for b in cache["buckets"]]
    text = cache["text"]
    dit = DiT(DiTConfig(**{**DIT_CONFIGS[cfg.size].to_dict(), "in_channels": vae.cfg.latent_channels})).to(device)
    ema = EMA(dit, cfg.ema_decay)
    opt = torch.optim.AdamW(dit.parameters(), lr=cfg.lr, weight_decay=0.0, betas=(0.9, 0.99))
    step = 0
    ckpt_path = cfg.out / "checkpoint.pt"
    state = load_checkpoint(ckpt_path)
    if state is not None:
        dit.load_state_dict(state["model"])
        ema.model.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
    elif cfg.init is not None:
        init = load_checkpoint(cfg.init)
        if init is None:
            raise FileNotFoundError(f"nothing to start from at {cfg.init}")
        dit.load_state_dict(init["ema"])
        ema.model.load_state_dict(init["ema"])
    model = dit
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(dit)
    gen = torch.Generator().manual_seed(cfg.seed * 7919 + step + rank)
    weights = torch.tensor([b.weight for b in buckets])
    clock, started = Clock(cfg.checkpoint_every_s), time.monotonic()

    def checkpoint() -> None:
        if rank == 0:
            save_checkpoint(ckpt_path, model=unwrap(model).state_dict(), ema=ema.model.state_dict(),
                            opt=opt.state_dict(), step=step, dit_config=unwrap(model).cfg.to_dict(),
                            vae_config=asdict(vae.cfg))

    with progress_bar(disable=not show_progress or rank > 0) as bar:
        task = bar.add_task("dit", total=cfg.steps, completed=step, stats="")
        seen, t0 = 0, time.monotonic()
        while step < cfg.steps:
            bucket = buckets[int(torch.multinomial(weights, 1, generator=gen))]
            idx = torch.randint(0, len(bucket.latents), (cfg.batch,), generator=gen)
            x0 = bucket.latents[idx].float().to(device)  # (B, C, T, h, w)
            pick = torch.randint(0, bucket.captions.shape[1], (cfg.batch,), generator=gen)
            cap = bucket.captions[idx, pick]
            cap = torch.where(torch.rand(cfg.batch, generator=gen) < cfg.caption_dropout, torch.zeros_like(cap), cap)
            b, _, nt, h, w = x0.shape
            tokens = nt * (h // 2) * (w // 2)
            t = training_times(b, nt, tokens, gen, cfg.time_mean)
            known = random_known(b, nt, gen, cfg.mask_weights)
            t = t.masked_fill(known, 0.0).to(device)
            noise = torch.randn(x0.shape, generator=gen).to(device)
            xt = noisy(x0, noise, t)
            target = noise - x0
            lr = cfg.lr * min(1.0, (step + 1) / 500) * (0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / cfg.steps))))
            for g in opt.param_groups:
                g["lr"] = lr
            with autocast(device):
                v = model(xt, t, text["tokens"][cap].float().to(device), text["mask"][cap].to(device),
                          text["pooled"][cap].float().to(device))
            err = (v.float() - target).pow(2).mean(dim=(1, 3, 4))  # (B, T)
            free = (~known).float().to(device)
            loss = (err * free).sum() / free.sum().clamp(min=1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(dit.parameters(), 1.0)
            opt.step()
            ema.update(unwrap(model), step)
            step += 1
            seen += b
            if step % 10 == 0:
                rate = seen / (time.monotonic() - t0)
                bar.update(task, completed=step, stats=f"loss {loss.item():.4f} {rate:.1f} samples/s")
            if clock.due():
                checkpoint()
            if cfg.max_minutes is not None and time.monotonic() - started > cfg.max_minutes * 60:
                break
    checkpoint()
    return ckpt_path
