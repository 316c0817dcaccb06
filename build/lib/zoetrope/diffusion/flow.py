"""Rectified flow: x_t = (1 - t) x0 + t * noise, the network predicts v = noise - x0.

t = 0 is clean data, t = 1 is pure noise. Small pure functions over tensors: sample training
times, build the training pair, and make the (shifted) sampling schedule.
"""

from __future__ import annotations

import math

import torch


def logit_normal(shape: tuple[int, ...], mean: float = 0.0, std: float = 1.0, generator=None) -> torch.Tensor:
    """Training times in (0, 1), denser in the middle where the velocity is hardest to predict."""
    return torch.sigmoid(mean + std * torch.randn(shape, generator=generator))


def shift_time(t: torch.Tensor, shift: float) -> torch.Tensor:
    """Move times towards noise by `shift` (> 1 for longer or larger sequences)."""
    return shift * t / (1 + (shift - 1) * t)


def shift_for_tokens(n_tokens: int, base_tokens: int = 80, base_shift: float = 1.0, per_doubling: float = 0.5) -> float:
    """A schedule shift that grows with the sequence length (more tokens keep more signal per noise)."""
    return base_shift + per_doubling * max(0.0, math.log2(max(n_tokens, 1) / base_tokens))


def noisy(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t for latents (B, C, T, H, W) and per-frame times t (B, T)."""
    tt = t[:, None, :, None, None]
    return (1 - tt) * x0 + tt * noise


def schedule(steps: int, shift: float = 1.0) -> torch.Tensor:
    """Times from 1 down to 0, (steps + 1,), shifted towards the noisy end."""
    return shift_time(torch.linspace(1.0, 0.0, steps + 1), shift)
