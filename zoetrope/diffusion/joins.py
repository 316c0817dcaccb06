"""Tasks that hold footage at the end of a window: extend backward, blend (A into B) and loop.

The model was trained with masks on the last k latent frames and on both ends (first + last).
A latent frame after position 0 stands for four video frames that follow other frames, so known
footage for those positions is encoded behind a copy of its first frame (`inner_latents`): the
causal VAE then writes it as the middle of a clip, as the model saw it in training.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from zoetrope.diffusion.pipeline import SampleOptions, VideoPipeline
from zoetrope.diffusion.sampler import Conditioning
from zoetrope.diffusion.tasks import (
    CONTEXT,
    NEW_PER_WINDOW,
    WINDOW,
    Join,
    StepFn,
    _report,
    carry,
    continue_video,
    fade,
)

BACK_KNOWN = 2  # latent frames of a clip's start held clean when growing it backwards (8 video frames)
BACK_MIN_FRAMES = 4 * BACK_KNOWN  # the shortest clip that can be extended backwards
JOIN_FRAMES = 4 * (WINDOW - 2)  # new frames a both-ends window makes between its two known frames (12)


def inner_latents(pipe: VideoPipeline, frames: np.ndarray) -> torch.Tensor:
    """Latents (1, C, k, h, w) of 4k frames (4k, H, W, 3) as they would be encoded mid-clip."""
    if len(frames) % 4 or not len(frames):
        raise ValueError(f"inner latents need a multiple of 4 frames, got {len(frames)}")
    return pipe.encode_frames(np.concatenate([frames[:1], frames]))[:, :, 1:]


def _window(pipe: VideoPipeline, latent_frames: int, height: int, width: int, parts: dict[int, torch.Tensor]):
    """Conditioning for a window of `latent_frames` whose positions `parts` {index: (1, C, k, h, w)} are known."""
    c = pipe.vae.cfg.latent_channels
    context = torch.zeros((1, c, latent_frames, height // 8, width // 8), device=pipe.device)
    known = torch.zeros(1, latent_frames, dtype=torch.bool, device=pipe.device)
    for at, z in parts.items():
        at = at % latent_frames
        context[:, :, at : at + z.shape[2]] = z
        known[:, at : at + z.shape[2]] = True
    return Conditioning(context, known)


def extend_backward(
    pipe: VideoPipeline, prompt: str, source: np.ndarray, frames: int, *, seed: int, options: SampleOptions,
    on_step: StepFn | None = None,
) -> Iterator[np.ndarray]:
    """Yield `frames` new frames that lead into `source` (at least BACK_MIN_FRAMES long), in time order.

    Windows grow the clip towards its past, each holding the first 8 frames of what exists as its
    last two latent frames. The new frames are kept until the last window is done (they come out
    latest-first); the source itself is not yielded.
    """
    if len(source) < BACK_MIN_FRAMES:
        raise ValueError(f"extending backwards needs at least {BACK_MIN_FRAMES} frames, got {len(source)}")
    h, w = source.shape[1:3]
    new_per_window = 4 * (WINDOW - BACK_KNOWN) + 1  # 9: frame 0 and two latent frames
    total = -(-frames // new_per_window)
    head, made, count = source[:BACK_MIN_FRAMES], [], 0
    while count < frames:
        cond = _window(pipe, WINDOW, h, w, {-BACK_KNOWN: inner_latents(pipe, head)})
        z = pipe.sample_latents(prompt, latent_frames=WINDOW, height=h, width=w, seed=seed + 1000 * (len(made) + 1),
                                options=options, cond=cond)
        decoded = pipe.decode_latents(z)
        video = decoded[:new_per_window]  # the frames before `head`
        video = carry(video, (Join(head[0], decoded[new_per_window]), fade(len(video), from_end=True)))
        made.append(video)
        count += len(video)
        head = np.concatenate([video, head])[:BACK_MIN_FRAMES]
        _report(on_step, len(made), total)
    yield np.concatenate(made[::-1])[-frames:]


def transition(
    pipe: VideoPipeline, prompt: str, before: np.ndarray, after: np.ndarray, frames: int, *, seed: int,
    options: SampleOptions, on_step: StepFn | None = None,
) -> Iterator[np.ndarray]:
    """Yield `frames` (a multiple of 4) new frames that go from `before`'s last frame into `after`'s first.

    Up to JOIN_FRAMES come from one both-ends window (first latent: before's last frame; last
    latent: after's first 4 frames); a longer transition first continues `before` forwards.
    """
    if frames < 4 or frames % 4:
        raise ValueError(f"a transition is a positive multiple of 4 frames, got {frames}")
    h, w = before.shape[1:3]
    final = min(frames, JOIN_FRAMES)
    lead = frames - final
    total = 1 + -(-lead // NEW_PER_WINDOW)
    done = [0]

    def window_done() -> None:
        done[0] += 1
        _report(on_step, done[0], total)

    tail = before
    if lead:
        for chunk in continue_video(pipe, prompt, before, lead, height=h, width=w, seed=seed, options=options,
                                    on_window=window_done):
            tail = np.concatenate([tail[-CONTEXT:], chunk])
            yield chunk
    head = after[:4] if len(after) >= 4 else np.concatenate([after, np.repeat(after[-1:], 4 - len(after), 0)])
    n = 2 + final // 4  # latent frames: before's last frame, the new ones, after's first four frames
    cond = _window(pipe, n, h, w, {0: pipe.encode_frames(tail[-1:]), -1: inner_latents(pipe, head)})
    z = pipe.sample_latents(prompt, latent_frames=n, height=h, width=w, seed=seed + 7, options=options, cond=cond)
    window_done()
    decoded = pipe.decode_latents(z)
    # Both ends are joins: each one's reconstruction error fades linearly towards the other end.
    ramp = np.linspace(0.0, 1.0, final, dtype=np.float32)
    made = carry(decoded[1 : 1 + final], (Join(tail[-1], decoded[0]), 1 - ramp),
                 (Join(head[0], decoded[1 + final]), ramp))
    yield ease(np.concatenate([tail[-1:], made, head[:1]]), final)


def ease(path: np.ndarray, frames: int) -> np.ndarray:
    """`frames` frames along `path` (K, H, W, 3: the known frame before, the generated ones, the
    known frame after), spaced by how much the picture changes and eased in and out.

    The model often leaves most of a transition's change to its last frames, which shows as a
    cut into the clip that follows. Here the transition is retimed: positions along the path are
    measured in mean absolute change between frames, the output frames are placed at smootherstep
    fractions of its length (between two frames of the path, a linear mix of them), so the first
    and last steps move 0.4% of the way each (with 12 frames) and the middle carries the change
    (its largest step 1.9/13 of the way)."""
    f = path.astype(np.float32)
    steps = np.abs(f[1:] - f[:-1]).mean(axis=(1, 2, 3))  # (K-1,)
    where = np.concatenate([[0.0], np.cumsum(steps)])
    if where[-1] <= 0:
        return path[1:-1][:frames]
    t = np.arange(1, frames + 1, dtype=np.float64) / (frames + 1)
    targets = where[-1] * t**3 * (10 - 15 * t + 6 * t**2)  # smootherstep: gentle at both joins
    out = np.empty((frames, *path.shape[1:]), np.float32)
    for j, at in enumerate(targets):
        i = min(int(np.searchsorted(where, at, side="right")) - 1, len(steps) - 1)
        mix = 0.0 if steps[i] <= 0 else (at - where[i]) / steps[i]
        out[j] = (1 - mix) * f[i] + mix * f[i + 1]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def blend(
    pipe: VideoPipeline, prompt: str, a: np.ndarray, b: np.ndarray, frames: int, *, seed: int,
    options: SampleOptions, on_step: StepFn | None = None,
) -> Iterator[np.ndarray]:
    """Yield A, then a `frames`-long transition, then B: one video (A and B at the same size)."""
    yield a
    yield from transition(pipe, prompt, a, b, frames, seed=seed, options=options, on_step=on_step)
    yield b


def loop(
    pipe: VideoPipeline, prompt: str, clip: np.ndarray, frames: int, *, seed: int, options: SampleOptions,
    on_step: StepFn | None = None,
) -> Iterator[np.ndarray]:
    """Yield the clip, then a `frames`-long transition from its end back into its start: played on
    repeat, the last frame flows into the first."""
    yield clip
    yield from transition(pipe, prompt, clip, clip, frames, seed=seed, options=options, on_step=on_step)
