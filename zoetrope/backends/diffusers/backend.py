"""The Backend protocol over a diffusers video pipeline: one class, specialised per family by a `Family`.

A request becomes one pipeline call in the pipeline's own terms (prompt, negative_prompt, height,
width, num_frames, num_inference_steps, guidance_scale, generator, image), with progress reported
from `callback_on_step_end` and cancellation between steps.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoetrope.backends.base import Cancelled, Capabilities, GenerationRequest, Progress, no_progress
from zoetrope.backends.diffusers import loading
from zoetrope.backends.diffusers.options import DiffusersOptions, Runtime, parse_options, resolve
from zoetrope.errors import ConfigError, UnsupportedByBackend

CHUNK = 16  # frames per yielded chunk


@dataclass(frozen=True)
class Family:
    """A model family's published defaults: what its checkpoints were trained to make."""

    kind: str
    text_pipeline: str  # text → video class
    image_pipeline: str | None  # image → video class; runs on a text checkpoint's weights if that works
    image_on_text_weights: bool  # whether `image_pipeline` can reuse the text checkpoint (LTX: yes)
    fps: int
    sizes: tuple[tuple[int, int], ...]
    size_multiple: int  # VAE downsampling x patch size
    frame_stride: int  # frames are 1 + a multiple of this (the VAE's temporal compression)
    max_frames: int
    steps: int
    guidance: float
    negative_prompt: str = ""
    vae_dtype: str | None = None
    call: dict = field(default_factory=dict)

    @property
    def pipelines(self) -> tuple[str, ...]:
        return (self.text_pipeline,) + ((self.image_pipeline,) if self.image_pipeline else ())


class DiffusersBackend:
    """A diffusers pipeline behind the Backend protocol. Cheap to build: weights load on first generate."""

    family: Family

    def __init__(self, **options: Any) -> None:
        self.options: DiffusersOptions = parse_options(self.family.kind, options)
        self.name = f"{self.family.kind}:{self.options.weights}"
        self.pipeline_name = self.options.pipeline or self.family.text_pipeline
        if self.pipeline_name not in self.family.pipelines:
            raise ConfigError(f"{self.family.kind} runs {', '.join(self.family.pipelines)}, "
                              f"not pipeline {self.pipeline_name!r}")
        self._check_image_pipeline()
        self._capabilities = self._make_capabilities()
        self._pipes: dict[str, Any] = {}
        self._active: str | None = None
        self._offload = "none"
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()

    def preflight(self) -> None:
        """ModelUnavailable unless the weights are a pipeline folder of this family with all its components,
        or a hub id (checked, not loaded); ConfigError when the `device` set is not on this machine."""
        loading.weights_source(self.options.weights)
        loading.check_folder(self.options.weights, self.family.kind, self.family.pipelines)
        loading.check_device(self.options.device)
        self._check_call()

    def _check_call(self) -> None:
        """ConfigError naming `call` when it holds an argument the model's pipelines do not take
        (checked where diffusers is installed: a worker), rather than a TypeError at the first job."""
        if not self.options.call:
            return
        try:
            import diffusers
        except ImportError:
            return
        import inspect

        names = [self.pipeline_name]
        if "i2v" in self._capabilities.tasks and self.pipeline_name != self.family.image_pipeline:
            names.append(self.options.image_pipeline or self.family.image_pipeline or "")
        for name in names:
            cls = getattr(diffusers, name, None)
            if cls is None:
                continue
            params = inspect.signature(cls.__call__).parameters
            if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
                continue
            unknown = sorted(k for k in self.options.call if k not in params)
            if unknown:
                raise ConfigError(f"call: {name} takes no argument {', '.join(map(repr, unknown))}; remove it from "
                                  f"the model's `call` option", param="call")

    # ---- what it can do (no torch, no weights: an API server asks this too)

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def _make_capabilities(self) -> Capabilities:
        fam, opt = self.family, self.options
        sizes = tuple((int(w), int(h)) for w, h in (opt.sizes or fam.sizes))
        for w, h in sizes:
            if w % fam.size_multiple or h % fam.size_multiple:
                raise ConfigError(f"{fam.kind} sizes must be multiples of {fam.size_multiple}; got {w}x{h}")
        fps = opt.fps or fam.fps
        stride = fam.frame_stride
        self._max_frames = fam.max_frames if opt.max_seconds is None else 1 + stride * max(
            1, int(opt.max_seconds * fps / stride))
        return Capabilities(
            tasks=tuple(opt.tasks or self._default_tasks()),
            sizes=sizes,
            max_seconds=opt.max_seconds or round((fam.max_frames - 1) / fps, 2),
            fps=fps,
            default_steps=opt.steps or fam.steps,
            depicts_people=True,
            extra={"family": fam.kind, "pipeline": self.pipeline_name, "frame_stride": fam.frame_stride},
        )

    def _check_image_pipeline(self) -> None:
        """A ConfigError now, not at the first image-to-video job, for an image → video setup that cannot run."""
        fam, opt = self.family, self.options
        if opt.image_pipeline is not None and opt.image_pipeline != fam.image_pipeline:
            raise ConfigError(f"{fam.kind} models animate a still with "
                              f"{fam.image_pipeline or 'no pipeline (it has no image to video)'}, not "
                              f"image_pipeline {opt.image_pipeline!r}; "
                              + (f"set image_pipeline = {fam.image_pipeline!r}" if fam.image_pipeline
                                 else "remove image_pipeline and 'i2v' from tasks"))
        if self.pipeline_name == fam.image_pipeline:
            if opt.tasks and set(opt.tasks) != {"i2v"}:
                raise ConfigError(f"pipeline {self.pipeline_name!r} only animates a still; set tasks = [\"i2v\"] "
                                  f"(or use {fam.text_pipeline} weights for {', '.join(t for t in opt.tasks if t != 'i2v')})")
            return
        if opt.tasks and "i2v" in opt.tasks and not (opt.image_pipeline or fam.image_on_text_weights):
            fix = (f"set image_pipeline = {fam.image_pipeline!r} if these weights also animate a still (Wan 2.2 TI2V), "
                   f"or remove 'i2v' from tasks") if fam.image_pipeline else "remove 'i2v' from tasks"
            raise ConfigError(f"tasks include 'i2v' but {fam.kind} weights run by {self.pipeline_name} cannot "
                              f"animate a still; {fix}")

    def _default_tasks(self) -> tuple[str, ...]:
        if self.pipeline_name == self.family.image_pipeline:
            return ("i2v",)
        image = self.options.image_pipeline or (self.family.image_pipeline if self.family.image_on_text_weights
                                                 else None)
        return ("t2v", "t2i") + (("i2v",) if image else ())

    def frames_for(self, seconds: float, fps: int | None = None) -> int:
        """The frames made for `seconds`: 1 for an image, else 1 + the nearest multiple of the stride."""
        if seconds <= 0:
            return 1
        fps, stride = fps or self._capabilities.fps, self.family.frame_stride
        return min(1 + stride * max(1, round(seconds * fps / stride)), self._max_frames)

    # ---- the pipelines (loaded on first use)

    def _pipeline(self, task: str) -> Any:
        """The pipeline for `task`, loaded on first use; the i2v one shares the text one's modules."""
        runtime = self._runtime or resolve(self.options, family_vae_dtype=self.family.vae_dtype)
        self._runtime = runtime
        if self.pipeline_name not in self._pipes:
            cls = loading.pipeline_class(self.pipeline_name, self.family.pipelines)
            self._pipes[self.pipeline_name], self._offload = loading.load_pipeline(cls, self.options, runtime)
            self._active = self.pipeline_name
        name = self.pipeline_name
        if task == "i2v" and self.pipeline_name != self.family.image_pipeline:
            name = self.options.image_pipeline or self.family.image_pipeline or ""
            if name not in self._pipes:
                cls = loading.pipeline_class(name, self.family.pipelines)
                self._pipes[name] = loading.sibling_pipeline(cls, self._pipes[self.pipeline_name])
        if name != self._active and self._offload != "none":
            loading.place(self._pipes[name], self._offload, runtime.device)  # offload hooks follow the caller
        self._active = name
        return self._pipes[name]

    # ---- generation

    def check(self, request: GenerationRequest) -> None:
        caps = self._capabilities
        if request.task not in caps.tasks:
            raise UnsupportedByBackend(f"{self.family.kind} model cannot do {request.task!r}; it does "
                                       f"{', '.join(caps.tasks)}", param="model")
        if (request.width, request.height) not in caps.sizes:
            sizes = ", ".join(f"{w}x{h}" for w, h in caps.sizes)
            raise UnsupportedByBackend(f"{self.family.kind} model generates {sizes}; got "
                                       f"{request.width}x{request.height}", param="size")
        if request.task == "i2v" and request.source is None:
            raise UnsupportedByBackend("image to video needs an image", param="input_reference")

    def call_arguments(self, pipe: Any, request: GenerationRequest, frames: int) -> dict[str, Any]:
        """Keyword arguments of the pipeline's __call__ for `request` (families add their own)."""
        import torch

        opt, fam = self.options, self.family
        seed = request.seed if request.seed is not None else random.randrange(2**31)
        args: dict[str, Any] = dict(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt or opt.negative_prompt or fam.negative_prompt or None,
            height=request.height,
            width=request.width,
            num_frames=frames,
            num_inference_steps=request.steps or self._capabilities.default_steps,
            guidance_scale=request.guidance if request.guidance is not None else (
                opt.guidance if opt.guidance is not None else fam.guidance),
            generator=torch.Generator("cpu").manual_seed(seed),  # cpu: the same video on any device
            output_type="np",
        )
        if request.task == "i2v":
            args["image"] = _still(request)
        return args

    def generate(self, request: GenerationRequest, progress: Progress = no_progress) -> Iterator[np.ndarray]:
        """Yield uint8 frame chunks (T, H, W, 3) of the whole video, after the last denoising step."""
        self.check(request)
        frames = 1 if request.task == "t2i" else self.frames_for(request.seconds, request.fps)
        with self._lock:  # a pipeline keeps per-call state: one call at a time
            progress(0.0, f"loading {self.pipeline_name}" if not self._pipes else "encoding the prompt")
            pipe = self._pipeline(request.task)
            args = self.call_arguments(pipe, request, frames) | self.family.call | self.options.call
            steps = args["num_inference_steps"]
            progress(0.0, f"{frames} frames at {request.width}x{request.height}, {steps} steps")

            def on_step_end(p: Any, i: int, t: Any, tensors: dict) -> dict:
                progress((i + 1) / (steps + 1), f"step {i + 1}/{steps}")  # may raise Cancelled
                return tensors

            try:
                video = pipe(**args, callback_on_step_end=on_step_end).frames[0]  # (F, H, W, 3) in 0..1
            except Cancelled:
                pipe.maybe_free_model_hooks()  # return offloaded modules to the CPU as a finished call would
                raise
        progress(1.0, "decoded")
        video = np.asarray(video)
        for start in range(0, len(video), CHUNK):
            yield (np.clip(video[start:start + CHUNK], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _still(request: GenerationRequest) -> Any:
    """The request's first source frame as a PIL image at the generation size."""
    from PIL import Image

    frames = request.source if request.source is not None and request.source.ndim == 4 else request.source[None]
    if frames.shape[1:3] != (request.height, request.width):
        from zoetrope.media import fit

        frames = fit(frames[:1], request.width, request.height, mode="crop")
    return Image.fromarray(np.ascontiguousarray(frames[0]))
