"""The `Backend` protocol: what every model Zoetrope can route to looks like from above."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Task = Literal[
    "t2v", "t2i", "i2v", "extend", "extend_backward", "remix", "blend", "loop", "storyboard", "recut"
]
ALL_TASKS: tuple[str, ...] = (
    "t2v",
    "t2i",
    "i2v",
    "extend",
    "extend_backward",
    "remix",
    "blend",
    "loop",
    "storyboard",
    "recut",
)


class Cancelled(Exception):
    """Raised by a progress callback to stop a generation at its next step."""


# progress(fraction in 0..1, message) -> None; may raise Cancelled.
Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str = "") -> None:
    return None


@dataclass(frozen=True)
class StoryCard:
    prompt: str
    start: float  # seconds from the start of the video
    image: np.ndarray | None = None  # (H, W, 3): the segment starts from this still


@dataclass(frozen=True)
class GenerationRequest:
    """One generation, in the user's terms. Frames are uint8 arrays shaped (T, H, W, 3).

    `seconds` is the new footage for extend and extend_backward (backends yield only the new
    frames; the caller stitches them to the source) and recut (0: trim only); the transition for
    loop and blend; the whole video otherwise. Loop, blend and recut yield the whole video.
    """

    prompt: str
    width: int
    height: int
    seconds: float = 4.0  # 0 means one image
    task: Task = "t2v"
    seed: int | None = None
    steps: int | None = None  # None: the backend's default
    guidance: float | None = None
    fps: int | None = None  # None: the backend's native fps
    source: np.ndarray | None = None  # i2v still, video to extend/remix, clip A of a blend
    target: np.ndarray | None = None  # clip B of a blend
    strength: float = 0.6  # remix: how far from the source (0 keeps it, 1 ignores it)
    strength_end: float | None = None  # remix: the last frame's strength (None: `strength`), for a new motion
    cards: tuple[StoryCard, ...] = ()  # storyboard
    trim: tuple[float, float] | None = (
        None  # recut: keep source seconds [start, end), then extend by `seconds`
    )
    negative_prompt: str = ""
    # The job this generation is for: the same on every attempt, so a backend that creates work
    # on a remote service (`upstream`) can ask for it idempotently and never make it twice.
    job_id: str | None = None
    # What an earlier attempt of this job noted (`note`) about work it started on a remote
    # service, e.g. the upstream's video id: a retry resumes that work instead of starting more.
    resume: dict[str, str] = field(default_factory=dict)
    # Keeps `value` under `key` for later attempts of this job (`resume`); None keeps nothing.
    note: Callable[[str, str], None] | None = field(default=None, compare=False, repr=False)
    # Set when the job is cancelled (deleted, or taken over by another worker): a backend that waits
    # on a remote service wakes at once and raises Cancelled; None: only `progress` can cancel.
    stop: threading.Event | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; the API refuses anything outside it with a 400 that says so."""

    tasks: tuple[str, ...]
    sizes: tuple[tuple[int, int], ...]  # native (width, height)
    max_seconds: float
    fps: int
    default_steps: int
    # Whether its videos can show people: the output filter then also runs the people check
    # (zoetrope/safety/people.py). A backend that does not say is taken to be able to.
    depicts_people: bool = True
    extra: dict = field(default_factory=dict)

    def aspects(self) -> set[tuple[int, int]]:
        from math import gcd

        return {(w // gcd(w, h), h // gcd(w, h)) for w, h in self.sizes}


@runtime_checkable
class Backend(Protocol):
    """A model. `generate` yields frame chunks (T_i, H, W, 3) uint8 in order, at the native size."""

    name: str

    @property
    def capabilities(self) -> Capabilities: ...

    def generate(
        self, request: GenerationRequest, progress: Progress = no_progress
    ) -> Iterator[np.ndarray]: ...


def revised_prompt(backend: Backend, prompt: str) -> str | None:
    """The words `backend` gives its model for `prompt` where they differ from the typed ones (OpenAI's
    `revised_prompt`); None for a backend that takes every prompt as typed."""
    reads = getattr(backend, "plain_prompt", None)
    return reads(prompt) if reads is not None and prompt else None
