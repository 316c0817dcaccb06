"""Wan 2.1 / 2.2 (Alibaba): WanPipeline for text → video, WanImageToVideoPipeline for image → video.

Wan's VAE compresses time 4x, so videos are 4k+1 frames (81 = 5 s at 16 fps). Wan 2.1 image → video
is its own checkpoint (pipeline = "WanImageToVideoPipeline"); Wan 2.2 TI2V-5B does both from one
folder (image_pipeline = "WanImageToVideoPipeline", tasks = ["t2v", "t2i", "i2v"]).
"""

from __future__ import annotations

from zoetrope.backends.diffusers.backend import DiffusersBackend, Family

# The negative prompt Wan's authors publish with the model (it was trained with it).
WAN_NEGATIVE_PROMPT = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，"
    "丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，"
    "静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)

WAN = Family(
    kind="wan",
    text_pipeline="WanPipeline",
    image_pipeline="WanImageToVideoPipeline",
    image_on_text_weights=False,
    fps=16,
    sizes=((832, 480), (480, 832)),  # 480p, what the 1.3B model makes; 14B adds 1280x720 via `sizes`
    size_multiple=16,
    frame_stride=4,
    max_frames=81,
    steps=50,
    guidance=5.0,
    negative_prompt=WAN_NEGATIVE_PROMPT,
    vae_dtype="float32",  # the authors run Wan's VAE in fp32; in bf16 it bands and flickers
)


class WanBackend(DiffusersBackend):
    """Wan 2.x through diffusers."""

    family = WAN
