"""The denoising loop: Euler or Heun over a schedule, classifier-free guidance in one forward.

Conditioning is by mask: `known` (B, T) marks latent frames whose clean values `context` holds.
Those frames are fed at t = 0 on every step and copied back after it, so the network generates
only the rest. Every creative task (image->video, extend, blend, loop) is a choice of mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from zoetrope.diffusion.flow import schedule

# velocity(x (B, C, T, H, W), t (B, T)) -> v (B, C, T, H, W)
Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Conditioning:
    context: torch.Tensor  # (B, C, T, H, W) clean latents where known, anything elsewhere
    known: torch.Tensor  # (B, T) bool


def guided(model, text, text_mask, pooled, null_text, null_mask, null_pooled, scale: float) -> Velocity:
    """A velocity function with classifier-free guidance, conditional and unconditional in one batch."""

    def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if scale == 1.0:
            return model(x, t, text, text_mask, pooled)
        b = x.shape[0]
        v = model(
            torch.cat([x, x]),
            torch.cat([t, t]),
            torch.cat([text, null_text.expand(b, -1, -1)]),
            torch.cat([text_mask, null_mask.expand(b, -1)]),
            torch.cat([pooled, null_pooled.expand(b, -1)]),
        )
        cond, uncond = v.float().chunk(2)
        return uncond + scale * (cond - uncond)

    return velocity


def denoise(
    velocity: Velocity,
    noise: torch.Tensor,
    *,
    steps: int,
    shift: float = 1.0,
    method: str = "euler",
    cond: Conditioning | None = None,
    start: float | torch.Tensor = 1.0,
    on_step: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Integrate from noise (B, C, T, H, W) at time `start` to clean latents at t = 0.

    `start` < 1 begins part-way (SDEdit remix): `noise` must then already be x_start. A (T,)
    tensor gives each latent frame its own start; every frame follows the schedule of the
    highest, scaled to its own, so all of them reach 0 together.
    """
    x = noise
    b, _, nt = x.shape[:3]
    scale = None  # (T,) each frame's share of the schedule's time, when the starts differ
    if isinstance(start, torch.Tensor):
        top = float(start.max())
        if float(start.min()) < top:
            scale = (start.float() / max(top, 1e-6)).to(x.device)
        start = top
    ts = schedule(steps, shift)
    ts = ts[ts <= start + 1e-6] if start < 1.0 else ts
    if start < 1.0 and ts[0] < start:
        ts = torch.cat([torch.tensor([start]), ts])

    def frame_times(t: float) -> torch.Tensor:
        times = torch.full((b, nt), float(t), device=x.device)
        if scale is not None:
            times = times * scale
        return times.masked_fill(cond.known, 0.0) if cond is not None else times

    def dt(t: float, t_next: float) -> float | torch.Tensor:
        return t_next - t if scale is None else ((t_next - t) * scale)[None, None, :, None, None]

    def clamp_known(x: torch.Tensor) -> torch.Tensor:
        if cond is None:
            return x
        m = cond.known[:, None, :, None, None]
        return torch.where(m, cond.context, x)

    x = clamp_known(x)
    n = len(ts) - 1
    for i in range(n):
        t, t_next = float(ts[i]), float(ts[i + 1])
        v = velocity(x, frame_times(t))
        x_next = x + dt(t, t_next) * v
        if method == "heun" and t_next > 0:
            v2 = velocity(clamp_known(x_next), frame_times(t_next))
            x_next = x + dt(t, t_next) * 0.5 * (v + v2)
        x = clamp_known(x_next.to(x.dtype))
        if on_step is not None:
            on_step(i + 1, n)
    return x
