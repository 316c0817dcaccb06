"""CogVideoX (THUDM / Zhipu): CogVideoXPipeline for text → video.

CogVideoX is trained on 49 frames at 8 fps (1.0) and decodes exactly only 8k+1 frames, so that is
what it makes. Its transformer has a fixed text length: the prompt is encoded to exactly
`max_text_seq_length` tokens (226 for the published models), read from the loaded weights.
"""

from __future__ import annotations

from typing import Any

from zoetrope.backends.base import GenerationRequest
from zoetrope.backends.diffusers.backend import DiffusersBackend, Family

COGVIDEOX = Family(
    kind="cogvideox",
    text_pipeline="CogVideoXPipeline",
    image_pipeline=None,
    image_on_text_weights=False,
    fps=8,
    sizes=((720, 480),),  # CogVideoX 1.0; 1.5 makes 1360x768 at 16 fps: set `sizes` and `fps`
    size_multiple=16,
    frame_stride=8,
    max_frames=49,
    steps=50,
    guidance=6.0,
)


class CogVideoXBackend(DiffusersBackend):
    """CogVideoX through diffusers."""

    family = COGVIDEOX

    def call_arguments(self, pipe: Any, request: GenerationRequest, frames: int) -> dict[str, Any]:
        args = super().call_arguments(pipe, request, frames)
        args["max_sequence_length"] = pipe.transformer.config.max_text_seq_length
        return args
