"""How one diffusers model is loaded and run: the `options` of its `[[models]]` entry, validated.

Every field has a default that suits the device the worker runs on (`resolve`); a TOML entry
sets only what differs, e.g.

    [[models]]
    name = "wan-1.3b"
    backend = "wan"
    options = { weights = "/models/Wan2.1-T2V-1.3B-Diffusers", offload = "model" }
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zoetrope.errors import ConfigError

Dtype = Literal["bfloat16", "float16", "float32"]
Offload = Literal["auto", "none", "model", "sequential"]
Cache = Literal["none", "first_block"]


class DiffusersOptions(BaseModel):
    """A diffusers model entry's options. `None` means: the family's or the device's default."""

    model_config = ConfigDict(extra="forbid")

    weights: str = Field(description="a local folder saved with save_pretrained, or a hub id")
    pipeline: str | None = None  # the class the weights were saved as; the family's text-to-video one
    image_pipeline: str | None = None  # the class that animates a still from the same weights, if any
    local_files_only: bool = False  # hub ids: only the local cache, never the network
    revision: str | None = None
    device: str = "auto"  # auto: cuda, then mps, then cpu
    dtype: Dtype | None = None  # transformer and text encoder; None: bf16 on cuda, fp16 on mps, fp32 on cpu
    vae_dtype: Dtype | None = None  # None: the family's choice (Wan's VAE stays fp32), else `dtype`
    offload: Offload = "auto"  # auto: model CPU offload when the pipeline would not fit in GPU memory
    vae_tiling: bool | None = None  # None: on for GPUs (bounds decode memory), off on cpu
    vae_slicing: bool = True
    compile: bool = False  # torch.compile the transformer (minutes on the first video, faster after)
    attention_backend: str | None = None  # diffusers attention backend: "flash", "_flash_3", "sage", "native"
    cache: Cache = "none"  # first_block: skip the transformer's later blocks while the first barely changes
    cache_threshold: float = Field(0.05, gt=0)
    # Capabilities: the family's published values unless set.
    fps: int | None = Field(None, ge=1)
    sizes: list[tuple[int, int]] | None = None
    max_seconds: float | None = Field(None, gt=0)
    steps: int | None = Field(None, ge=1)
    guidance: float | None = Field(None, ge=0)
    negative_prompt: str | None = None  # used when a request has none
    tasks: list[Literal["t2v", "t2i", "i2v"]] | None = None
    call: dict = Field(default_factory=dict)  # extra keyword arguments for the pipeline's __call__


def parse_options(kind: str, options: dict) -> DiffusersOptions:
    """Validated options; a ConfigError naming the model kind and the bad field otherwise."""
    try:
        return DiffusersOptions.model_validate(options)
    except ValidationError as e:
        problems = "; ".join(
            f"`{'.'.join(str(p) for p in err['loc']) or 'options'}`: {err['msg']}"
            + ("" if err["type"] == "missing" else f" (got {err.get('input')!r:.60})")
            for err in e.errors(include_url=False)
        )
        raise ConfigError(f"invalid options for a {kind!r} model: {problems}") from None


@dataclass(frozen=True)
class Runtime:
    """The options with every device-dependent default decided."""

    device: str
    dtype: str
    vae_dtype: str
    offload: Literal["none", "model", "sequential"] | None  # None: decide after loading, from sizes
    vae_tiling: bool


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve(options: DiffusersOptions, *, family_vae_dtype: str | None) -> Runtime:
    """Defaults per device: half precision and tiled VAE decode on GPUs, fp32 and no offload on cpu."""
    device = pick_device(options.device)
    kind = device.split(":")[0]
    dtype = options.dtype or {"cuda": "bfloat16", "mps": "float16"}.get(kind, "float32")
    vae_dtype = options.vae_dtype or family_vae_dtype or dtype
    if kind == "cpu":
        vae_dtype = options.vae_dtype or "float32"
    offload = options.offload
    if kind != "cuda" and offload == "auto":
        offload = "none"
    tiling = options.vae_tiling if options.vae_tiling is not None else kind != "cpu"
    return Runtime(device=device, dtype=dtype, vae_dtype=vae_dtype,
                   offload=None if offload == "auto" else offload, vae_tiling=tiling)
