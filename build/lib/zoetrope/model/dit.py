"""A diffusion transformer over spacetime patches of video latents.

Reads top to bottom: embedders, 3D rotary positions, the block, the final layer, the model,
then the table of sizes. Latents (B, C, T, H, W) are cut into 1x2x2 patches, one token each,
so any duration, size and aspect ratio is just a different sequence length. Every latent frame
has its own timestep, so frames that are known (an input image, the clip being extended) are
fed clean at t = 0 and the rest is generated: one model for every task.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from zoetrope.model.text import TEXT_DIM


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class TimestepEmbedder(nn.Module):
    """Scalar timesteps in [0, 1] -> vectors, by sinusoids then an MLP."""

    def __init__(self, dim: int, freq_dim: int = 256) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:  # (...,) -> (..., D)
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)
        args = (t.float()[..., None] * 1000) * freqs
        return self.mlp(torch.cat([args.cos(), args.sin()], dim=-1))


def rope_3d(t: int, h: int, w: int, head_dim: int, device: torch.device) -> torch.Tensor:
    """Rotation angles (T*H*W, head_dim/2) for token positions (time, row, column).

    The head dimension is split in three, one part per axis, so attention sees relative offsets
    in time and space separately; unseen sizes are just positions further out.
    """
    dt = head_dim // 4 // 2 * 2  # a quarter for time, the rest split between rows and columns
    dh = (head_dim - dt) // 2 // 2 * 2
    dw = head_dim - dt - dh

    def axis(n: int, d: int) -> torch.Tensor:
        inv = 1.0 / (100.0 ** (torch.arange(0, d, 2, device=device).float() / d))
        return torch.outer(torch.arange(n, device=device).float(), inv)  # (n, d/2)

    at, ah, aw = axis(t, dt), axis(h, dh), axis(w, dw)
    grid = torch.cat(
        [
            at[:, None, None].expand(t, h, w, -1),
            ah[None, :, None].expand(t, h, w, -1),
            aw[None, None, :].expand(t, h, w, -1),
        ],
        dim=-1,
    )
    return grid.reshape(t * h * w, head_dim // 2)


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:  # x (B, heads, N, hd)
    x1, x2 = x.float().unflatten(-1, (-1, 2)).unbind(-1)
    cos, sin = angles.cos(), angles.sin()
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    return out.type_as(x)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.q_norm = nn.RMSNorm(dim // heads)
        self.k_norm = nn.RMSNorm(dim // heads)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        # q/k norm and rotation in fp32 (under bf16 autocast too), then back to v's dtype for attention
        q = apply_rope(self.q_norm(q.float()), angles).to(v.dtype)
        k = apply_rope(self.k_norm(k.float()), angles).to(v.dtype)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, N, hd)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor, ctx_mask: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        hd = d // self.heads
        q = self.q(x).view(b, n, self.heads, hd).transpose(1, 2)
        k, v = self.kv(ctx).view(b, -1, 2, self.heads, hd).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=ctx_mask[:, None, None, :])
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class DiTBlock(nn.Module):
    """adaLN-Zero: per-token shift/scale/gate from the conditioning; gates start at zero."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = SelfAttention(dim, heads)
        self.norm_x = nn.LayerNorm(dim, eps=1e-6)
        self.cross = CrossAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x, c, angles, ctx, ctx_mask):  # x (B, N, D) in frame order, c (B, T, D): one per frame
        b, n, d = x.shape
        s1, sc1, g1, s2, sc2, g2 = self.ada(c)[:, :, None].chunk(6, dim=-1)  # (B, T, 1, D) each

        def per_frame(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, c.shape[1], -1, d)

        h = modulate(per_frame(self.norm1(x)), s1, sc1).view(b, n, d)
        x = x + (g1 * per_frame(self.attn(h, angles))).view(b, n, d)
        x = x + self.cross(self.norm_x(x), ctx, ctx_mask)
        h = modulate(per_frame(self.norm2(x)), s2, sc2).view(b, n, d)
        return x + (g2 * per_frame(self.mlp(h))).view(b, n, d)


class FinalLayer(nn.Module):
    def __init__(self, dim: int, out: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))
        self.linear = nn.Linear(dim, out)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:  # x (B, N, D), c (B, T, D)
        b, n, d = x.shape
        shift, scale = self.ada(c)[:, :, None].chunk(2, dim=-1)
        return self.linear(modulate(self.norm(x).view(b, c.shape[1], -1, d), shift, scale).view(b, n, d))


@dataclass
class DiTConfig:
    in_channels: int = 8
    dim: int = 256
    depth: int = 8
    heads: int = 4
    patch: int = 2
    text_dim: int = TEXT_DIM

    def to_dict(self) -> dict:
        return asdict(self)


class DiT(nn.Module):
    """Predicts the flow velocity for latents x (B, C, T, H, W) at per-frame times t (B, T)."""

    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        p, d = cfg.patch, cfg.dim
        self.x_embed = nn.Linear(cfg.in_channels * p * p, d)
        self.t_embed = TimestepEmbedder(d)
        self.text_proj = nn.Sequential(nn.LayerNorm(cfg.text_dim), nn.Linear(cfg.text_dim, d))
        self.pooled_proj = nn.Sequential(nn.Linear(cfg.text_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList(DiTBlock(d, cfg.heads) for _ in range(cfg.depth))
        self.final = FinalLayer(d, cfg.in_channels * p * p)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        for blk in self.blocks:  # adaLN-Zero: every residual branch starts closed
            nn.init.zeros_(blk.ada[-1].weight)
            nn.init.zeros_(blk.ada[-1].bias)
        nn.init.zeros_(self.final.ada[-1].weight)
        nn.init.zeros_(self.final.ada[-1].bias)
        nn.init.zeros_(self.final.linear.weight)

    def forward(
        self,
        x: torch.Tensor,  # (B, C, T, H, W) noisy latents
        t: torch.Tensor,  # (B, T) per-frame time in [0, 1]; 0 = clean
        text: torch.Tensor,  # (B, L, 384) token states
        text_mask: torch.Tensor,  # (B, L) bool
        pooled: torch.Tensor,  # (B, 384)
    ) -> torch.Tensor:
        b, c, nt, h, w = x.shape
        p = self.cfg.patch
        hp, wp = h // p, w // p
        tokens = x.view(b, c, nt, hp, p, wp, p).permute(0, 2, 3, 5, 1, 4, 6).reshape(b, nt * hp * wp, c * p * p)
        z = self.x_embed(tokens)  # (B, N, D)
        # One conditioning vector per frame: every token of a frame shares its time, so the
        # modulation is computed per frame and broadcast, not once per token.
        cond = self.t_embed(t) + self.pooled_proj(pooled)[:, None]  # (B, T, D)
        angles = rope_3d(nt, hp, wp, self.cfg.dim // self.cfg.heads, x.device)
        ctx = self.text_proj(text)  # (B, L, D)
        for blk in self.blocks:
            z = blk(z, cond, angles, ctx, text_mask)
        out = self.final(z, cond)  # (B, N, C*p*p)
        out = out.view(b, nt, hp, wp, c, p, p).permute(0, 4, 1, 2, 5, 3, 6)
        return out.reshape(b, c, nt, h, w)


DIT_CONFIGS = {
    "tiny": DiTConfig(dim=32, depth=1, heads=2),
    "S": DiTConfig(dim=256, depth=8, heads=4),
    "B": DiTConfig(dim=384, depth=12, heads=6),
}
