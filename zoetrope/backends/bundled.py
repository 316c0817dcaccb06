"""The bundled model: a small VAE + DiT trained on the procedural world, shipped in the package."""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from zoetrope.backends.base import Capabilities, GenerationRequest, Progress, no_progress
from zoetrope.backends.checks import check_request, extension_frames, take, trim_frames, whole_frames
from zoetrope.errors import ConfigError, ModelUnavailable, UnsupportedByBackend
from zoetrope.settings import get_settings

PACKAGE_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
FPS = 8
NATIVE_SIZES = ((64, 64), (112, 64), (64, 112))  # 1:1, ~16:9, ~9:16
TASKS = ("t2v", "t2i", "i2v", "extend", "extend_backward", "remix", "blend", "loop", "storyboard", "recut")


def frames_for(seconds: float, fps: int = FPS) -> int:
    """Video frames to make for a duration: 0 s is one image; otherwise 1 + a multiple of 4 (the VAE's
    stride), rounded up, so there are always at least the duration's frames to deliver (4.2 s: 37 made,
    34 delivered)."""
    if seconds <= 0:
        return 1
    return 1 + 4 * max(1, math.ceil(whole_frames(seconds, fps) / 4))


def _settings_device() -> str:
    """ZOETROPE_DEVICE, with `auto` meaning CUDA when torch sees a GPU, else the CPU."""
    device = get_settings().device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"ZOETROPE_DEVICE is {device}, but torch sees no CUDA GPU here; use auto or cpu",
                          param="ZOETROPE_DEVICE")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("ZOETROPE_DEVICE is mps, but torch has no Metal GPU here; use auto or cpu",
                          param="ZOETROPE_DEVICE")
    return device


def weights_dir() -> Path:
    """ZOETROPE_WEIGHTS_DIR if set, else the weights inside the package."""
    return Path(os.environ.get("ZOETROPE_WEIGHTS_DIR") or PACKAGE_WEIGHTS)


class BundledBackend:
    """Backend protocol over the bundled pipeline. Loads weights on first use, once per process."""

    name = "zoetrope-mini"

    def __init__(self, weights: Path | None = None, device: str | None = None) -> None:
        self.weights = Path(weights) if weights else weights_dir()
        self.device = device  # None: ZOETROPE_DEVICE, read when the weights load
        self._pipe = None
        self._config: dict | None = None
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> Capabilities:
        meta = self._meta()
        return Capabilities(
            tasks=TASKS,
            sizes=tuple(tuple(s) for s in meta.get("sizes", NATIVE_SIZES)),
            max_seconds=60.0,
            fps=FPS,
            default_steps=int(meta.get("default_steps", 16)),
            depicts_people=False,  # it draws the procedural world's coloured shapes
        )

    def plain_prompt(self, prompt: str) -> str | None:
        """The words the model is given for `prompt` where they differ from the typed ones: weights whose
        config asks for it read a world scene and say it in their training wording (world/understand.py)."""
        if not self._meta().get("plain_prompts"):
            return None
        from zoetrope.world.understand import canonical_prompt

        said = canonical_prompt(prompt)
        return said if said is not None and said != prompt.strip() else None

    def _meta(self) -> dict:
        """The weights' config.json, read once (capabilities and prompt reading ask on every request)."""
        if self._config is None:
            path = self.weights / "config.json"
            if not path.exists():  # not there yet: nothing to keep
                return {}
            self._config = json.loads(path.read_text())
        return self._config

    def preflight(self) -> None:
        """ModelUnavailable, saying where it looked, unless the weights are there to load (and a
        ConfigError if ZOETROPE_DEVICE names a device this machine lacks)."""
        if self.device is None and get_settings().device != "auto":  # auto needs no check (nor torch)
            _settings_device()
        for name in ("config.json", "vae.safetensors", "dit.safetensors"):
            if not (self.weights / name).is_file():
                raise ModelUnavailable(
                    f"bundled weights not found in {self.weights} (no {name}); reinstall zoetrope or set "
                    "ZOETROPE_WEIGHTS_DIR"
                )

    def pipeline(self):
        with self._lock:
            if self._pipe is None:
                if not (self.weights / "dit.safetensors").exists():
                    raise ModelUnavailable(
                        f"bundled weights not found in {self.weights}; reinstall zoetrope or set ZOETROPE_WEIGHTS_DIR"
                    )
                from zoetrope.diffusion.pipeline import VideoPipeline

                self._pipe = VideoPipeline.load(self.weights, device=self.device or _settings_device())
            return self._pipe

    def generate(self, request: GenerationRequest, progress: Progress = no_progress) -> Iterator[np.ndarray]:
        """Yield uint8 frame chunks at the requested native size (see GenerationRequest for what each task yields)."""
        from zoetrope.diffusion.pipeline import SampleOptions

        caps = self.capabilities
        if (request.width, request.height) not in caps.sizes:
            sizes = ", ".join(f"{w}x{h}" for w, h in caps.sizes)
            raise UnsupportedByBackend(f"{self.name} generates {sizes}; got {request.width}x{request.height}", param="size")
        if request.task not in caps.tasks:
            raise UnsupportedByBackend(f"{self.name} cannot do task {request.task!r}; it does {', '.join(caps.tasks)}")
        fps = request.fps or FPS
        check_request(request, fps=fps, max_seconds=caps.max_seconds)
        pipe = self.pipeline()
        opts = SampleOptions(steps=request.steps or caps.default_steps,
                             guidance=request.guidance if request.guidance is not None else 4.0)
        seed = request.seed if request.seed is not None else int(np.random.default_rng().integers(2**31))

        def on_step(done: int, total: int) -> None:
            progress(done / total, f"window {done}/{total}")

        yield from _dispatch(pipe, request, fps, seed, opts, on_step)
        progress(1.0, "done")


def _dispatch(pipe, request: GenerationRequest, fps: float, seed: int, opts, on_step) -> Iterator[np.ndarray]:
    """One task function per request task (all in zoetrope.diffusion)."""
    from zoetrope.diffusion import joins, storyboard, tasks

    task, prompt = request.task, request.prompt
    size = {"height": request.height, "width": request.width}
    common = {"seed": seed, "options": opts}
    source = None if request.source is None else _fit(_require(request.source, "video"), request)
    # Whole-clip tasks make 1 + 4k frames and deliver the asked duration's (`whole_frames`).
    delivered = 1 if task == "t2i" else whole_frames(request.seconds, fps)
    if task in ("t2v", "t2i"):
        frames = 1 if task == "t2i" else frames_for(request.seconds, fps)
        yield from take(tasks.text_to_video(pipe, prompt, frames, **size, **common, on_step=on_step), delivered)
    elif task == "i2v":
        yield from take(tasks.image_to_video(pipe, prompt, source[0], frames_for(request.seconds, fps), **common,
                                             on_step=on_step), delivered)
    elif task == "extend":
        yield from tasks.extend(pipe, prompt, source, extension_frames(request.seconds, fps), **common,
                                on_step=on_step)
    elif task == "extend_backward":
        yield from joins.extend_backward(pipe, prompt, source, extension_frames(request.seconds, fps), **common,
                                         on_step=on_step)
    elif task == "remix":
        yield from tasks.remix(pipe, prompt, source, strength=request.strength, strength_end=request.strength_end,
                               **common, on_step=on_step)
    elif task == "loop":
        yield from joins.loop(pipe, prompt, source, extension_frames(request.seconds, fps), **common, on_step=on_step)
    elif task == "blend":
        target = _fit(_require(request.target, "target"), request)
        yield from joins.blend(pipe, prompt, source, target, extension_frames(request.seconds, fps), **common,
                               on_step=on_step)
    elif task == "recut":
        kept = source[trim_frames(request.trim, fps)]
        yield kept
        if request.seconds > 0:
            yield from tasks.extend(pipe, prompt, kept, extension_frames(request.seconds, fps), **common,
                                    on_step=on_step)
    elif task == "storyboard":
        total = frames_for(request.seconds, fps)
        images = [None if c.image is None else _fit(c.image[None], request)[0] for c in request.cards]
        segments = storyboard.segments_for([c.start for c in request.cards], [c.prompt for c in request.cards],
                                           total, fps, images)
        yield from take(storyboard.storyboard(pipe, segments, **size, **common, on_step=on_step), delivered)


def _require(x: np.ndarray | None, field: str) -> np.ndarray:
    if x is None:
        raise UnsupportedByBackend(f"this task needs `{field}`", param=field)
    return x if x.ndim == 4 else x[None]


def _fit(frames: np.ndarray, request: GenerationRequest) -> np.ndarray:
    """Source media at the generation size (letterboxed when its aspect differs)."""
    if frames.shape[1:3] == (request.height, request.width):
        return frames
    from zoetrope.media import fit

    return fit(frames, request.width, request.height, mode="letterbox")


def write_tiny_random_weights(out: Path) -> Path:
    """Save a tiny random-init model (fast, meaningless output) for tests of the machinery around it."""
    import torch
    from safetensors.torch import save_file

    from zoetrope.model.dit import DIT_CONFIGS, DiT
    from zoetrope.model.vae import VAE_CONFIGS, VideoVAE

    torch.manual_seed(0)
    vae, dit = VideoVAE(VAE_CONFIGS["tiny"]), DiT(DIT_CONFIGS["tiny"])
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.half().contiguous() for k, v in vae.state_dict().items()}, out / "vae.safetensors")
    save_file({k: v.half().contiguous() for k, v in dit.state_dict().items()}, out / "dit.safetensors")
    meta = {"vae": vae.cfg.to_dict(), "dit": dit.cfg.to_dict(), "sizes": NATIVE_SIZES, "default_steps": 2,
            "note": "random weights for tests"}
    (out / "config.json").write_text(json.dumps(meta))
    return out
