"""The text-to-video recipe over the bundled networks: encode prompt, prepare latents, denoise, decode.

Tasks are expressed as conditioning (known latent frames) or as a start time below 1 (remix);
the backend layer turns user requests into these calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from zoetrope.diffusion.flow import shift_for_tokens
from zoetrope.diffusion.sampler import Conditioning, denoise, guided
from zoetrope.model.dit import DiT, DiTConfig
from zoetrope.model.precision import autocast
from zoetrope.model.text import TextEncoder, get_text_encoder
from zoetrope.model.vae import VAEConfig, VideoVAE, latents_for_frames, smooth_handovers
from zoetrope.world.understand import canonical_prompt


@dataclass
class SampleOptions:
    steps: int = 16
    guidance: float = 4.0
    method: str = "euler"
    shift: float | None = None  # None: from the token count


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> (1, 3, T, H, W) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)[None].float().div(127.5).sub(1)


def tensor_to_frames(x: torch.Tensor) -> np.ndarray:
    """(1, 3, T, H, W) in [-1, 1] -> uint8 (T, H, W, 3)."""
    return ((x[0].float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 3, 0).cpu().numpy()


CONTINUATION_FILE = "dit_continue.safetensors"


class VideoPipeline:
    """Bundled VAE + DiT + MiniLM. Thread-compatible: one generation at a time per instance.

    `continuation`, when the weights have one, is a second DiT of the same shape fine-tuned on
    windows whose first latent frames are known (an image to animate, footage to extend, the
    window before in a long video). It denoises every window that begins with known frames; the
    main DiT keeps everything else (text to video, images, backward extensions, loops, blends),
    so what it learned from free text is untouched by what the continuation learned.
    """

    def __init__(self, vae: VideoVAE, dit: DiT, text: TextEncoder | None = None, device: str = "cpu",
                 continuation: DiT | None = None, plain_prompts: bool = False) -> None:
        self.device = torch.device(device)
        self.vae = vae.eval().to(self.device)
        self.dit = dit.eval().to(self.device)
        self.continuation = continuation.eval().to(self.device) if continuation is not None else None
        self.text = text or get_text_encoder()
        # Say a prompt that reads as a world scene in the training wording before encoding it (world/understand.py).
        self.plain_prompts = plain_prompts

    @classmethod
    def load(cls, weights_dir: Path, device: str = "cpu") -> VideoPipeline:
        from safetensors.torch import load_file

        meta = json.loads((weights_dir / "config.json").read_text())
        vae = VideoVAE(VAEConfig.from_dict(meta["vae"]))
        vae.load_state_dict({k: v.float() for k, v in load_file(weights_dir / "vae.safetensors").items()})

        def dit(name: str) -> DiT:
            net = DiT(DiTConfig(**meta["dit"]))
            net.load_state_dict({k: v.float() for k, v in load_file(weights_dir / name).items()})
            return net

        continuation = dit(CONTINUATION_FILE) if (weights_dir / CONTINUATION_FILE).exists() else None
        return cls(vae, dit("dit.safetensors"), device=device, continuation=continuation,
                   plain_prompts=bool(meta.get("plain_prompts", False)))

    def network_for(self, cond: Conditioning | None) -> DiT:
        """The DiT that denoises a window: the continuation's when the window starts with known frames."""
        if self.continuation is not None and cond is not None and bool(cond.known[:, 0].all()):
            return self.continuation
        return self.dit

    def _text(self, prompts: list[str]):
        if self.plain_prompts:
            prompts = [canonical_prompt(p) or p for p in prompts]
        s = self.text.encode(prompts)
        n = self.text.encode([""])
        d = self.device
        return (s.tokens.to(d), s.mask.to(d), s.pooled.to(d), n.tokens.to(d), n.mask.to(d), n.pooled.to(d))

    @torch.no_grad()
    def encode_frames(self, frames: np.ndarray) -> torch.Tensor:
        """Latents (1, C, t, h, w) of uint8 frames whose count is 1 + 4k."""
        return self.vae.encode(frames_to_tensor(frames).to(self.device))

    @torch.no_grad()
    def decode_latents(self, z: torch.Tensor, join: int | None = None) -> np.ndarray:
        """uint8 frames (T, H, W, 3), their latent-frame handovers smoothed (`smooth_handovers`); `join`
        is the first new frame after known footage, where the whole step goes after the join."""
        return tensor_to_frames(smooth_handovers(self.vae.decode(z), join=join))

    @torch.no_grad()
    def sample_latents(
        self,
        prompt: str,
        *,
        latent_frames: int,
        height: int,
        width: int,
        seed: int = 0,
        options: SampleOptions | None = None,
        cond: Conditioning | None = None,
        init: torch.Tensor | None = None,
        start: float | torch.Tensor = 1.0,
        on_step: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """Denoised latents (1, C, latent_frames, height/8, width/8)."""
        o = options or SampleOptions()
        c = self.vae.cfg.latent_channels
        shape = (1, c, latent_frames, height // 8, width // 8)
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn(shape, generator=gen).to(self.device)
        if init is not None:  # SDEdit: start from the source, noised to `start` (per latent frame if a tensor)
            level = start.to(self.device)[None, None, :, None, None] if isinstance(start, torch.Tensor) else start
            noise = (1 - level) * init + level * noise
        tokens = latent_frames * (height // 16) * (width // 16)
        shift = o.shift if o.shift is not None else shift_for_tokens(tokens)
        velocity = guided(self.network_for(cond), *self._text([prompt]), o.guidance)
        # bf16 matmuls where the device has them; the state and the update stay fp32 (guided()
        # returns fp32 velocities). One autocast context for the whole loop.
        with autocast(torch.device(self.device)):
            return denoise(velocity, noise, steps=o.steps, shift=shift, method=o.method, cond=cond,
                           start=start, on_step=on_step)

    def generate(self, prompt: str, *, frames: int, height: int, width: int, seed: int = 0,
                 options: SampleOptions | None = None, on_step: Callable[[int, int], None] | None = None) -> np.ndarray:
        """uint8 frames (frames, height, width, 3) for a prompt; frames = 1 + 4k (1 = an image)."""
        z = self.sample_latents(prompt, latent_frames=latents_for_frames(frames), height=height, width=width,
                                seed=seed, options=options, on_step=on_step)
        return self.decode_latents(z)
