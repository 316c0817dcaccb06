"""Every creative task as latents + a mask over the bundled pipeline, window by window.

A window is `WINDOW` latent frames (1 + 4 * (WINDOW - 1) video frames). Longer videos are
made by sliding windows: the last `CONTEXT` video frames of what exists are re-encoded as the
first latent frames of the next window and held clean (causal VAE: re-encoding keeps frame 0
an image latent, as in training). Memory stays bounded by one window, whatever the length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from zoetrope.diffusion.pipeline import SampleOptions, VideoPipeline
from zoetrope.diffusion.sampler import Conditioning

SEAM_FADE = 8.0  # video frames over which a join's reconstruction error fades out (1/e)
CARRY_TOLERANCE = 24.0  # pixel levels: a new pixel this far from the join's shows something else (it moved)
MOVED_POWER = 4.0  # a join's error fades this many times faster where the picture moved
WINDOW = 5  # latent frames per window (17 video frames), the length the model was trained on
CONTEXT = 5  # video frames carried into the next window (1 + 4: two latent frames)
WINDOW_FRAMES = 4 * (WINDOW - 1) + 1  # video frames of one window (17)
NEW_PER_WINDOW = WINDOW_FRAMES - CONTEXT  # new video frames each continuing window adds (12)

# on_step(done, total) over the whole task
StepFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Join:
    """Known footage's frame at a join (H, W, 3) and the VAE's reconstruction of it."""

    known: np.ndarray
    decoded: np.ndarray

    @property
    def error(self) -> np.ndarray:
        """What the VAE's reconstruction got wrong in the known frame, as float."""
        return self.known.astype(np.float32) - self.decoded.astype(np.float32)


def carry(video: np.ndarray, *joins: tuple[Join, np.ndarray]) -> np.ndarray:
    """New frames (T, H, W, 3) with each join's reconstruction error added, weighted per frame:
    `joins` are (join, weights (T,) in 0..1) pairs.

    Known footage is kept as it was; the frames generated next to it come out of the VAE with its
    reconstruction error, which would show as a cut at the join. Carrying that error into the new
    frames, fading with distance from the join, makes them start exactly where the footage ends.
    Where a new frame no longer shows what the join's frame showed (something moved), the error
    belongs to a thing that has gone on, and it fades MOVED_POWER times faster: carried as long as
    over still pixels, it would leave a ghost of the thing where it was.
    """
    made = video.astype(np.float32)
    out = made.copy()
    for join, weights in joins:
        moved = np.abs(made - join.decoded.astype(np.float32)[None]).max(axis=-1, keepdims=True)
        still = np.clip(1.0 - moved / CARRY_TOLERANCE, 0.0, 1.0)
        w = np.clip(weights, 0.0, 1.0)[:, None, None, None]
        out += w ** (1.0 + (MOVED_POWER - 1.0) * (1.0 - still)) * join.error[None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def fade(n: int, *, from_end: bool = False) -> np.ndarray:
    """Weights 1, e^(-1/SEAM_FADE), ... for `n` frames counted from the join (reversed: join at the end)."""
    w = np.exp(-np.arange(n, dtype=np.float32) / SEAM_FADE)
    return w[::-1].copy() if from_end else w


def _windows_needed(frames: int, have: int) -> int:
    return max(0, -(-(frames - have) // NEW_PER_WINDOW))


def _known_first(pipe: VideoPipeline, context: np.ndarray, height: int, width: int) -> Conditioning:
    z = pipe.encode_frames(context)  # (1, C, j, h, w)
    full = torch.zeros((1, z.shape[1], WINDOW, height // 8, width // 8), device=z.device)
    full[:, :, : z.shape[2]] = z
    known = torch.zeros(1, WINDOW, dtype=torch.bool, device=z.device)
    known[:, : z.shape[2]] = True
    return Conditioning(full, known)


def continue_video(
    pipe: VideoPipeline, prompt: str, start: np.ndarray, frames: int, *, height: int, width: int, seed: int,
    options: SampleOptions, on_window: Callable[[], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield new frames after `start` (T0, H, W, 3) until `frames` new ones exist."""
    tail, made, i = start, 0, 0
    while made < frames:
        ctx = tail[-CONTEXT:] if len(tail) >= CONTEXT else tail[-1:]
        cond = _known_first(pipe, ctx, height, width)
        z = pipe.sample_latents(prompt, latent_frames=WINDOW, height=height, width=width, seed=seed + 1000 * (i + 1),
                                options=options, cond=cond, on_step=None)
        decoded = pipe.decode_latents(z, join=len(ctx))
        video = decoded[len(ctx):][: frames - made]
        video = carry(video, (Join(ctx[-1], decoded[len(ctx) - 1]), fade(len(video))))
        made += len(video)
        tail = np.concatenate([tail[-CONTEXT:], video])
        i += 1
        if on_window:
            on_window()
        yield video


def text_to_video(
    pipe: VideoPipeline, prompt: str, frames: int, *, height: int, width: int, seed: int,
    options: SampleOptions, on_step: StepFn | None = None,
) -> Iterator[np.ndarray]:
    """Yield chunks of a `frames`-long video (frames = 1 is an image)."""
    if frames == 1:
        yield pipe.generate(prompt, frames=1, height=height, width=width, seed=seed, options=options)
        _report(on_step, 1, 1)
        return
    first_len = min(frames, WINDOW_FRAMES)
    latent = 1 + (first_len - 1 + 3) // 4
    total = 1 + _windows_needed(frames, 4 * (latent - 1) + 1)
    z = pipe.sample_latents(prompt, latent_frames=latent, height=height, width=width, seed=seed, options=options)
    first = pipe.decode_latents(z)[:frames]
    _report(on_step, 1, total)
    yield first
    done = [1]

    def window_done() -> None:
        done[0] += 1
        _report(on_step, done[0], total)

    yield from continue_video(pipe, prompt, first, frames - len(first), height=height, width=width, seed=seed,
                              options=options, on_window=window_done)


def image_to_video(
    pipe: VideoPipeline, prompt: str, image: np.ndarray, frames: int, *, seed: int, options: SampleOptions,
    on_step: StepFn | None = None,
) -> Iterator[np.ndarray]:
    """Animate a still (H, W, 3): the first frame is the image, held clean."""
    h, w = image.shape[:2]
    total = _windows_needed(frames, 1)
    yield image[None]
    count = [0]

    def window_done() -> None:
        count[0] += 1
        _report(on_step, count[0], total)

    yield from continue_video(pipe, prompt, image[None], frames - 1, height=h, width=w, seed=seed,
                              options=options, on_window=window_done)


def extend(
    pipe: VideoPipeline, prompt: str, source: np.ndarray, frames: int, *, seed: int, options: SampleOptions,
    on_step: StepFn | None = None,
) -> Iterator[np.ndarray]:
    """Yield `frames` new frames after `source` (T0, H, W, 3), conditioned on its last CONTEXT frames."""
    h, w = source.shape[1:3]
    total = _windows_needed(frames, 0)
    count = [0]

    def window_done() -> None:
        count[0] += 1
        _report(on_step, count[0], total)

    yield from continue_video(pipe, prompt, source, frames, height=h, width=w, seed=seed, options=options,
                              on_window=window_done)


def remix(
    pipe: VideoPipeline, prompt: str, source: np.ndarray, *, strength: float, seed: int, options: SampleOptions,
    strength_end: float | None = None, on_step: StepFn | None = None,
) -> Iterator[np.ndarray]:
    """SDEdit, window by window: noise the source's latents to `strength`, denoise with the new prompt.

    With `strength_end`, the noise level runs from `strength` at the first frame to `strength_end`
    at the last: above `strength`, the later frames are freer than the first, which keeps the
    layout, so a new motion can take over. Windows overlap by one frame; after the first, that
    frame is the previous window's last output frame held clean (an image latent), so the windows
    join without a cut.
    """
    for name, value in (("strength", strength), ("strength_end", strength_end)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in 0..1, got {value}")
    end = strength if strength_end is None else strength_end
    h, w = source.shape[1:3]
    step = 4 * (WINDOW - 1)
    starts = list(range(0, max(1, len(source) - 1), step)) or [0]
    last: np.ndarray | None = None  # (1, H, W, 3) the frame the next window starts from
    for n, s in enumerate(starts):
        clip = source[s : s + step + 1]
        pad = (-(len(clip) - 1)) % 4
        if pad:
            clip = np.concatenate([clip, np.repeat(clip[-1:], pad, axis=0)])
        z0 = pipe.encode_frames(clip)  # (1, C, t, h, w)
        cond = None
        if last is not None:
            known = torch.zeros(1, z0.shape[2], dtype=torch.bool, device=z0.device)
            known[:, 0] = True
            context = z0.clone()
            context[:, :, :1] = pipe.encode_frames(last)
            cond = Conditioning(context, known)
        # Each latent frame's level, by where in the source its last frame lies.
        where = np.minimum((s + 4 * np.arange(z0.shape[2])) / max(len(source) - 1, 1), 1.0)
        levels = torch.tensor(strength + (end - strength) * where, dtype=torch.float32)
        z = pipe.sample_latents(prompt, latent_frames=z0.shape[2], height=h, width=w, seed=seed + n,
                                options=options, init=z0, start=levels if end != strength else strength,
                                cond=cond)
        out = pipe.decode_latents(z)[: len(source[s : s + step + 1])]
        last = out[-1:]
        _report(on_step, n + 1, len(starts))
        yield out if n == 0 else out[1:]


def _report(on_step: StepFn | None, done: int, total: int) -> None:
    if on_step is not None:
        on_step(done, max(total, done))
