"""A causal 3D convolutional VAE: video (B, 3, 1+4k, H, W) <-> latents (B, C, 1+k, H/8, W/8).

Causal in time: every temporal convolution pads on the past side only (with the first frame),
and temporal down/up-sampling keeps frame 0 by itself. So latent frame 0 depends on video frame
0 alone, and an image is simply a one-frame video.

Spatial work is done per frame with (1,3,3) kernels at high resolution, where it is cheap;
temporal mixing happens at the low resolutions only, which keeps the model trainable on a CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class VAEConfig:
    latent_channels: int = 8
    channels: tuple[int, ...] = (24, 48, 96, 128)  # per spatial level: 1x, 1/2, 1/4, 1/8
    temporal_levels: tuple[int, ...] = (2, 3)  # levels whose downsample also halves time (4x in all)
    scaling: float = 1.0  # latents are multiplied by this after encoding (unit variance for the DiT)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> VAEConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for k in ("channels", "temporal_levels"):
            if k in known:
                known[k] = tuple(known[k])
        return cls(**known)


VAE_CONFIGS = {
    "tiny": VAEConfig(latent_channels=8, channels=(8, 8, 16, 16)),
    "S": VAEConfig(),
}


class FrameNorm(nn.GroupNorm):
    """GroupNorm over each frame alone: statistics over time would leak the future into the past."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T, H, W)
        b, c, t, h, w = x.shape
        y = super().forward(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.view(b, t, c, h, w).transpose(1, 2)


class CausalConv3d(nn.Module):
    """Conv3d with kernel (kt, k, k) that pads time on the past side with copies of frame 0."""

    def __init__(self, cin: int, cout: int, kt: int = 3, k: int = 3) -> None:
        super().__init__()
        self.kt = kt
        self.conv = nn.Conv3d(cin, cout, (kt, k, k), padding=(0, k // 2, k // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T, H, W)
        if self.kt > 1:
            x = torch.cat([x[:, :, :1].expand(-1, -1, self.kt - 1, -1, -1), x], dim=2)
        return self.conv(x)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, temporal: bool) -> None:
        super().__init__()
        kt = 3 if temporal else 1
        self.norm1 = FrameNorm(min(8, cin), cin)
        self.conv1 = CausalConv3d(cin, cout, kt)
        self.norm2 = FrameNorm(min(8, cout), cout)
        self.conv2 = CausalConv3d(cout, cout, kt)
        self.skip = nn.Conv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Downsample(nn.Module):
    """Halve H and W; with `temporal`, also take time 1+2m -> 1+m (frame 0 kept alone)."""

    def __init__(self, c: int, temporal: bool) -> None:
        super().__init__()
        self.temporal = temporal
        self.conv = nn.Conv3d(c, c, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        if temporal:
            self.tconv = nn.Conv3d(c, c, (2, 1, 1), stride=(2, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.temporal and x.shape[2] > 1:
            x = torch.cat([x[:, :, :1], self.tconv(x[:, :, 1:])], dim=2)
        return x


class Upsample(nn.Module):
    """Double H and W; with `temporal`, also take time 1+m -> 1+2m (frame 0 stays one frame)."""

    def __init__(self, c: int, temporal: bool) -> None:
        super().__init__()
        self.temporal = temporal
        self.conv = nn.Conv3d(c, c, (1, 3, 3), padding=(0, 1, 1))
        if temporal:
            self.tconv = nn.Conv3d(c, 2 * c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.temporal and x.shape[2] > 1:
            b, c, t, h, w = x.shape
            rest = self.tconv(x[:, :, 1:]).view(b, 2, c, t - 1, h, w)  # two frames per latent frame
            rest = rest.permute(0, 2, 3, 1, 4, 5).reshape(b, c, 2 * (t - 1), h, w)
            x = torch.cat([x[:, :, :1], rest], dim=2)
        x = F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest")
        return self.conv(x)


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        ch = cfg.channels
        self.stem = CausalConv3d(3, ch[0], kt=1)
        blocks: list[nn.Module] = []
        for i in range(len(ch) - 1):
            temporal = i + 1 in cfg.temporal_levels
            blocks += [ResBlock(ch[i], ch[i + 1], temporal=i >= 1), Downsample(ch[i + 1], temporal)]
        blocks += [ResBlock(ch[-1], ch[-1], temporal=True), ResBlock(ch[-1], ch[-1], temporal=True)]
        self.blocks = nn.Sequential(*blocks)
        self.norm = FrameNorm(8, ch[-1])
        self.out = CausalConv3d(ch[-1], 2 * cfg.latent_channels, kt=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.silu(self.norm(self.blocks(self.stem(x)))))


class Decoder(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        ch = cfg.channels[::-1]
        self.stem = CausalConv3d(cfg.latent_channels, ch[0], kt=3)
        blocks: list[nn.Module] = [ResBlock(ch[0], ch[0], temporal=True), ResBlock(ch[0], ch[0], temporal=True)]
        levels = len(ch) - 1
        for i in range(levels):
            temporal = (levels - i) in cfg.temporal_levels
            blocks += [Upsample(ch[i], temporal), ResBlock(ch[i], ch[i + 1], temporal=i < levels - 1)]
        self.blocks = nn.Sequential(*blocks)
        self.norm = FrameNorm(min(8, ch[-1]), ch[-1])
        self.out = CausalConv3d(ch[-1], 3, kt=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(F.silu(self.norm(self.blocks(self.stem(z)))))


class VideoVAE(nn.Module):
    """Pixels in [-1, 1], (B, 3, T, H, W) with T = 1 + 4k and H, W multiples of 8."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def encode_dist(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.encoder(x).chunk(2, dim=1)  # (B, C, 1+k, H/8, W/8) each
        # Start with little posterior noise: at unit variance it drowns the signal and the
        # decoder learns only the mean colour for a long while.
        return mean, (logvar - 8.0).clamp(-20, 10)

    def encode(self, x: torch.Tensor, sample: bool = False) -> torch.Tensor:
        """Scaled latents (B, C, 1+k, H/8, W/8); the mean unless `sample`."""
        mean, logvar = self.encode_dist(x)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp() if sample else mean
        return z * self.cfg.scaling

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixels (B, 3, 1+4k, H, W) from scaled latents."""
        return self.decoder(z / self.cfg.scaling)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, logvar = self.encode_dist(x)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        return self.decoder(z), mean, logvar


def frames_for_latents(t_latent: int) -> int:
    return 1 + 4 * (t_latent - 1)


def latents_for_frames(t: int) -> int:
    if (t - 1) % 4:
        raise ValueError(f"a clip for the VAE has 1 + 4k frames, got {t}")
    return 1 + (t - 1) // 4
