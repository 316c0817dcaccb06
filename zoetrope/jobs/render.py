"""One job's generation, from its stored parameters to stored MP4, thumbnail and spritesheet."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoetrope import media
from zoetrope.backends.base import Backend, GenerationRequest, Progress, StoryCard
from zoetrope.backends.checks import new_footage, trim_frames
from zoetrope.errors import NotFound
from zoetrope.jobs.finalize import finalize, prompt_text
from zoetrope.jobs.models import Job
from zoetrope.media.sources import sniff
from zoetrope.safety.watermark import strip_watermark
from zoetrope.storage import BlobStore
from zoetrope.yielding import pause

# note(key, value): keep a value a backend notes for the job's later attempts (`GenerationRequest.note`).
Note = Callable[[str, str], None]


def _read(blobs: BlobStore, key: str, boxes: list[tuple[int, int]], fps: float) -> list[np.ndarray]:
    """A stored image or video as frames (T, h, w, 3) at the backend's frame rate (an uploaded 30 fps
    clip is resampled to the model's 8, so it keeps its length, as submit counted it), once for each
    (width, height) box, no larger than fits inside it: a phone's 4K upload is never decoded whole,
    nor twice."""
    try:
        data = blobs.get(key)
    except NotFound:
        # A source video deleted (or expired) between this job's submit and its run.
        what = "source video" if key.startswith("videos/") else "uploaded input"
        raise NotFound(
            f"the {what} of this job was deleted before the job ran", code="source_deleted"
        ) from None
    # Kept footage will carry this job's mark; the source's own mark comes off first (before any
    # padding: at the whole frame, where the detector finds it), or the two payloads would garble
    # each other.
    return [strip_watermark(read.frames)[0] for read in media.read_video_sizes(data, fps, boxes)]


def _framed(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """`frames` (T, h, w, 3) as (T, height, width, 3), letterboxed as the CLI does: nothing cut off."""
    return (
        frames if frames.shape[1:3] == (height, width) else media.fit(frames, width, height, mode="letterbox")
    )


def _frames_at(blobs: BlobStore, key: str, width: int, height: int, fps: float) -> np.ndarray:
    """A stored image or video as frames (T, height, width, 3) at the backend's size and frame rate."""
    return _framed(_read(blobs, key, [(width, height)], fps)[0], width, height)


# Tasks whose result holds its source's footage as it was: an extension's backend yields the new
# frames alone, a loop's, blend's or recut's the whole video (`new_footage` says which frames are new).
KEEPS_SOURCE = ("extend", "extend_backward", "loop", "blend", "recut")


@dataclass(frozen=True)
class Inputs:
    """What a job's generation starts from: the backend's request, and for a task that keeps its
    source's footage (`KEEPS_SOURCE`) whose output is not the model's size, that footage as kept, at
    the output's size (T, H, W, 3): the source (a recut's, whole: the trim is applied in `render`)
    and a blend's clip B as `kept_target`."""

    request: GenerationRequest
    kept: np.ndarray | None = None
    kept_target: np.ndarray | None = None


def generation_request(job: Job, blobs: BlobStore, fps: float, note: Note | None = None) -> GenerationRequest:
    """What the backend is asked to make for `job`; its inputs read from the blob store at the
    backend's size and `fps`. `note` keeps what the backend notes for later attempts (in the
    job's params, under "resume")."""
    return generation_inputs(job, blobs, fps, note).request


def generation_inputs(
    job: Job, blobs: BlobStore, fps: float, note: Note | None = None, stop: threading.Event | None = None
) -> Inputs:
    """`generation_request`, with the source footage to keep where the output is not the model's
    size, each input from one decode at both sizes; `stop` is set when the job is cancelled."""
    p = job.params
    width, height = p["native_width"], p["native_height"]
    out_width, out_height = (int(v) for v in job.size.split("x")) if job.size else (width, height)
    both = job.task in KEEPS_SOURCE and (out_width, out_height) != (width, height)

    def read(key: str) -> tuple[np.ndarray, np.ndarray | None]:
        """The input at the model's size, and where `both`, as kept at the output's."""
        if not both:
            return _frames_at(blobs, key, width, height, fps), None
        at_model, at_output = _read(blobs, key, [(width, height), (out_width, out_height)], fps)
        return _framed(at_model, width, height), _framed(at_output, out_width, out_height)

    source = kept = target = kept_target = None
    if p.get("source_key"):
        source, kept = read(p["source_key"])
    elif p.get("reference_key"):
        source = _frames_at(blobs, p["reference_key"], width, height, fps)[:1]
    if p.get("target_key"):
        target, kept_target = read(p["target_key"])
    options = p.get("options") or {}
    cards = tuple(StoryCard(prompt=c["prompt"], start=float(c["start"])) for c in options.get("cards") or ())
    trim = tuple(float(v) for v in options["trim"]) if options.get("trim") else None
    task = job.task
    if task == "t2v" and source is not None:
        task = "i2v"
    seconds = p["new_seconds"] if p.get("new_seconds") is not None else float(job.seconds)
    kw = {k: p[k] for k in ("strength", "strength_end") if p.get(k) is not None}
    request = GenerationRequest(
        prompt=job.prompt,
        width=width,
        height=height,
        seconds=seconds,
        task=task,  # type: ignore[arg-type]
        seed=p.get("seed"),
        source=source,
        target=target,
        cards=cards,
        trim=trim,  # type: ignore[arg-type]
        job_id=job.id,
        resume=dict(p.get("resume") or {}),
        note=note,
        stop=stop,
        **kw,
    )
    return Inputs(request, kept, kept_target)


def render(
    job: Job,
    backend: Backend,
    blobs: BlobStore,
    progress: Progress,
    note: Note | None = None,
    stop: threading.Event | None = None,
) -> tuple[dict, dict]:
    """Generate, post-process, encode and store the job's outputs; returns (outputs, details).
    `stop` is set when the job is cancelled (`GenerationRequest.stop`)."""
    inputs = generation_inputs(job, blobs, backend.capabilities.fps, note, stop)
    request = inputs.request
    frames = np.concatenate(list(backend.generate(request, progress)), axis=0)  # (T, h, w, 3)
    width, height = (int(v) for v in job.size.split("x"))
    fps = request.fps or backend.capabilities.fps
    # Backends yield only the new frames of an extension; the video object is the stitched whole,
    # whose source footage is kept as it was: at the output's size, not the model's.
    if request.task in ("loop", "blend", "recut") and inputs.kept is not None:
        # These yield the whole video, their source at the model's size: of that only the new frames
        # are taken (rescaled as `finalize` would: never stretched), the source's own frames around them.
        new = frames[new_footage(request, fps)]
        new = media.fit(new, width, height, mode="crop") if len(new) else np.empty((0, height, width, 3), np.uint8)
        cut = inputs.kept[trim_frames(request.trim, fps)] if request.task == "recut" else inputs.kept
        after = [inputs.kept_target] if request.task == "blend" and inputs.kept_target is not None else []
        frames = np.concatenate([cut, new, *after], axis=0)
    elif request.task in ("extend", "extend_backward") and request.source is not None:
        kept = request.source if inputs.kept is None else inputs.kept
        if inputs.kept is not None:
            frames = media.fit(frames, width, height, mode="crop")  # as `finalize` would: never stretched
        frames = np.concatenate([kept, frames] if request.task == "extend" else [frames, kept], axis=0)
    prefix = f"videos/{job.id}/{job.attempts}"
    variant, name = ("image", "image.png") if job.task == "t2i" else ("video", "video.mp4")
    outputs: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="zoetrope-render-") as tmp:
        parent = None
        if job.params.get("source_key"):
            parent = Path(tmp) / f"source{Path(job.params['source_key']).suffix or '.mp4'}"
            parent.write_bytes(blobs.get(job.params["source_key"]))
        # The other inputs kept in the output, for the manifest: a blend's clip B, an animated still.
        components = []
        for key, title in (("target_key", "video_b"), ("reference_key", "input_reference")):
            if job.params.get(key):
                data = blobs.get(job.params[key])
                if fmt := sniff(data[:16]):
                    components.append(Path(tmp) / f"{title}.{ {'jpeg': 'jpg'}.get(fmt, fmt) }")
                    components[-1].write_bytes(data)
        out = Path(tmp) / name
        frames = finalize(
            frames,
            out,
            generation_id=job.id,
            model=job.backend_model,
            width=width,
            height=height,
            fps=fps,
            visible_watermark=job.params.get("watermark", True),
            parent=parent,
            components=components,
            task=request.task,
            prompt=prompt_text(request),
            depicts_people=backend.capabilities.depicts_people,
        )
        blobs.put(outputs.setdefault(variant, f"{prefix}/{name}"), out.read_bytes())
    pause()
    blobs.put(
        outputs.setdefault("thumbnail", f"{prefix}/thumbnail.webp"), media.thumbnail(frames, format="webp")
    )
    sheet = media.spritesheet(frames).encode("jpeg")
    blobs.put(outputs.setdefault("spritesheet", f"{prefix}/spritesheet.jpg"), sheet)
    details = {"frames": str(len(frames)), "fps": f"{fps:g}"}
    return outputs, details
