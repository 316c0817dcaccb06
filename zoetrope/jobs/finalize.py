"""A generation's release: frame check, fit to the asked size, watermarks, encode, C2PA signature.

The API's workers and the `zoetrope generate` command both finish a generation here, so every
MP4 and PNG Zoetrope writes carries the same invisible mark and content credentials, and no
frame leaves before the output filter has seen it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zoetrope import media, safety
from zoetrope.backends.base import GenerationRequest
from zoetrope.errors import ConfigError
from zoetrope.safety.provenance import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, TRAINED_ALGORITHMIC_MEDIA
from zoetrope.yielding import pause

log = logging.getLogger(__name__)


def finalize(
    frames: np.ndarray,
    path: Path,
    *,
    generation_id: str,
    model: str,
    width: int,
    height: int,
    fps: float,
    visible_watermark: bool,
    parent: Path | None = None,
    components: Sequence[Path] = (),
    task: str = "t2v",
    prompt: str,
    depicts_people: bool,
) -> np.ndarray:
    """Write `frames` (uint8 (T, h, w, 3)) released to `path` (.mp4, or .png for one image) and
    return the frames as written, (T, height, width, 3).

    Raises OutputBlocked before anything is written when the frame filter flags the frames.
    `parent` is the file a remix, extension or edit started from: the manifest then says
    `c2pa.edited` with it as the parent ingredient instead of `c2pa.created`; `components` are the
    other inputs kept in the output (a blend's clip B, an animated still), and `task` says whether
    source footage is kept (`sign`). `prompt` and `depicts_people` go to the frame check: a backend
    that can show people gets the people check.
    """
    frames = release_frames(
        frames,
        generation_id=generation_id,
        width=width,
        height=height,
        visible_watermark=visible_watermark,
        prompt=prompt,
        depicts_people=depicts_people,
    )
    pause()
    if path.suffix.lower() == ".png":
        frames = frames[:1]
        media.write_png(path, frames[0])
    else:
        media.write_mp4(path, frames, fps=fps)
    pause()
    sign(path, generation_id, model, parent, components=components, task=task)
    return frames


def release_frames(
    frames: np.ndarray,
    *,
    generation_id: str,
    width: int,
    height: int,
    visible_watermark: bool,
    prompt: str,
    depicts_people: bool,
) -> np.ndarray:
    """The frame steps of `finalize` on frames (T, h, w, 3) in memory: check, fit, watermarks."""
    safety.moderate_frames(frames, prompt=prompt, depicts_people=depicts_people)
    pause()
    return mark_frames(frames, generation_id=generation_id, width=width, height=height,
                       visible_watermark=visible_watermark)  # fmt: skip


def mark_frames(
    frames: np.ndarray, *, generation_id: str, width: int, height: int, visible_watermark: bool
) -> np.ndarray:
    """`release_frames` after the check: fit to width x height, then the watermarks."""
    if frames.shape[1:3] != (height, width):
        # Natives differ from the asked aspect by up to 3 %: crop that sliver, never stretch.
        frames = media.fit(frames, width, height, mode="crop")
    if visible_watermark:
        frames = safety.visible_watermark(frames)
    return safety.embed_watermark(frames, generation_id)  # last, so nothing covers the mark


class ReleasedBackend:
    """A backend whose chunks come out released (frame check, fit, invisible watermark), for
    writers that stream chunk by chunk (the CLI's long videos); `sign` the file once written.
    `previews` keeps the first chunk and one frame of each later one, for thumbnails."""

    def __init__(self, backend, generation_id: str, width: int, height: int) -> None:
        self.backend, self.generation_id, self.width, self.height = backend, generation_id, width, height
        self.name = backend.name
        self.previews: list[np.ndarray] = []

    @property
    def capabilities(self):
        return self.backend.capabilities

    def generate(self, request, progress=None):
        chunks = self.backend.generate(request, progress) if progress else self.backend.generate(request)
        for chunk in chunks:
            chunk = release_frames(
                chunk,
                generation_id=self.generation_id,
                width=self.width,
                height=self.height,
                visible_watermark=False,
                prompt=prompt_text(request),
                depicts_people=self.capabilities.depicts_people,
            )
            self.previews.extend(chunk if not self.previews else chunk[:1])
            yield chunk


def prompt_text(request: GenerationRequest) -> str:
    """All the text a generation was made from: its prompt and its storyboard cards' prompts."""
    return "\n".join([request.prompt, *(card.prompt for card in request.cards)])


# Tasks whose output keeps source footage or a still as it was: a composite, not wholly model-made.
KEEPS_SOURCE = frozenset({"extend", "extend_backward", "loop", "blend", "recut", "i2v"})


def sign(
    path: Path,
    generation_id: str,
    model: str,
    parent: Path | None = None,
    *,
    components: Sequence[Path] = (),
    task: str = "t2v",
) -> None:
    """Sign the file at `path` in place: c2pa.created, or c2pa.edited with `parent` as ingredient,
    and `components` (the other inputs kept in it) as ingredients too; the action's
    digitalSourceType is compositeWithTrainedAlgorithmicMedia where `task` keeps source footage,
    else trainedAlgorithmicMedia, so a viewer marks an edit as AI-made as it does a generation."""
    kept = task in KEEPS_SOURCE
    source_type = COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA if kept else TRAINED_ALGORITHMIC_MEDIA
    try:
        safety.sign_file(
            path,
            generation_id=generation_id,
            model=model,
            parent=parent,
            components=components,
            source_type=source_type,
        )
    except (ConfigError, OSError):  # signing files, or the output's own write (a full disk):
        raise  # no retry without the ingredients makes them right
    except Exception:  # an upload C2PA cannot read as an ingredient: still say what was done
        if parent is None and not components:
            raise
        names = ", ".join(p.name for p in [*([parent] if parent else []), *components])
        log.warning("%s: inputs %s not usable as C2PA ingredients", generation_id, names, exc_info=True)
        actions = ["c2pa.edited"] if parent is not None else ["c2pa.created"]
        safety.sign_file(
            path, generation_id=generation_id, model=model, actions=actions, source_type=source_type
        )
