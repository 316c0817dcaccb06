"""LTX-Video (Lightricks): LTXPipeline for text → video; LTXImageToVideoPipeline on the same weights.

LTX's VAE compresses time 8x and space 32x: videos are 8k+1 frames and sides multiples of 32. The
transformer is told the frame rate, so the pipeline gets `frame_rate` from the request's fps.
Checkpoints from 0.9.1 decode with noise: set `call = { decode_timestep = 0.05, decode_noise_scale = 0.025 }`.
"""

from __future__ import annotations

from typing import Any

from zoetrope.backends.base import GenerationRequest
from zoetrope.backends.diffusers.backend import DiffusersBackend, Family

LTX = Family(
    kind="ltx",
    text_pipeline="LTXPipeline",
    image_pipeline="LTXImageToVideoPipeline",
    image_on_text_weights=True,
    fps=24,
    sizes=((768, 512), (512, 768), (704, 480), (480, 704), (512, 512)),
    size_multiple=32,
    frame_stride=8,
    max_frames=257,
    steps=50,
    guidance=3.0,
    negative_prompt="worst quality, inconsistent motion, blurry, jittery, distorted",
)


class LTXBackend(DiffusersBackend):
    """LTX-Video through diffusers."""

    family = LTX

    def call_arguments(self, pipe: Any, request: GenerationRequest, frames: int) -> dict[str, Any]:
        args = super().call_arguments(pipe, request, frames)
        args["frame_rate"] = request.fps or self.capabilities.fps
        return args
