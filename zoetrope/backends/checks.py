"""Checks of a creative task's inputs before any model runs: each failure names the field and the fix.

The CLI, the API and the backends call `check_request`, so a bad request is refused the same
way everywhere, before weights load or a job is queued.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np

from zoetrope.backends.base import GenerationRequest
from zoetrope.errors import InvalidRequest

MIN_EXTEND_FRAMES = 5  # a forward extension re-encodes the last 5 frames (two latent frames)
MIN_BACKWARD_FRAMES = 8  # a backward extension holds the first 8 frames (two latent frames after frame 0)
MIN_JOIN_FRAMES = 4  # blend and loop hold the first 4 frames of what they lead into
STEP_FRAMES = 4  # new footage comes in whole steps of the VAE's time stride
SOURCE_TASKS = ("i2v", "extend", "extend_backward", "remix", "loop", "blend", "recut")
NEW_FOOTAGE = ("extend", "extend_backward", "loop", "blend")  # `seconds` is footage added: more than 0


class ResultTooLong(InvalidRequest):
    """A result longer than the model makes (400 invalid_request, as any InvalidRequest). A caller
    with a lower limit of its own (an account's plan) answers that limit's refusal instead: advice
    that fits the model's limit alone would only be refused again by the lower one."""

    def __init__(self, message: str, *, param: str, limit: float, code: str | None = None) -> None:
        super().__init__(message, param=param, code=code)
        self.limit = limit


def extension_frames(seconds: float, fps: float) -> int:
    """New frames for an extension of `seconds`: a positive multiple of 4 (the VAE's time stride)."""
    return STEP_FRAMES * max(1, round(seconds * fps / STEP_FRAMES))


def whole_frames(seconds: float, fps: float) -> int:
    """The frames `seconds` of video holds (at least one): what a whole-clip task delivers. A model makes
    1 + k * stride frames; the frames past the asked duration are dropped, so 4 s at 8 fps is 32 frames."""
    return max(1, round(seconds * fps))


def take(chunks: Iterable[np.ndarray], count: int) -> Iterator[np.ndarray]:
    """The first `count` frames of a stream of (T, H, W, 3) chunks, stopping the stream there."""
    for chunk in chunks:
        if count <= 0:
            return
        yield chunk[:count]
        count -= len(chunk)


def trim_frames(trim: tuple[float, float], fps: float) -> slice:
    """The frames [start, end) seconds cover."""
    return slice(round(trim[0] * fps), round(trim[1] * fps))


def new_footage(req: GenerationRequest, fps: float) -> slice:
    """The frames of a backend's output for `req` that are new footage. Loop, blend and recut yield
    the whole video, their source at the model's size around (before) what they make; a caller that
    writes at the source's own size keeps the source's own frames there instead, unchanged. Extensions
    yield the new frames alone; other tasks keep no source footage."""
    if req.source is None or req.task not in ("loop", "blend", "recut"):
        return slice(0, None)
    if req.task == "recut":
        return slice(len(range(len(req.source))[trim_frames(req.trim, fps)]), None)
    return slice(len(req.source), len(req.source) + extension_frames(req.seconds, fps))


def frames_in(chunks: Iterable[np.ndarray], span: slice) -> Iterator[np.ndarray]:
    """The frames `span` (a slice with no step) of a stream of (T, H, W, 3) chunks, chunk by chunk; the
    stream is not read past the chunk after the span's end."""
    at, start, stop = 0, span.start or 0, span.stop
    for chunk in chunks:
        if stop is not None and at >= stop:
            return
        part = chunk[max(0, start - at) : None if stop is None else max(0, stop - at)]
        at += len(chunk)
        if len(part):
            yield part


MAX_SEED = 2**63 - 1  # what the samplers' random generators take
# Denoising steps a request may ask for: the models default to 2..50, and a sampler's result stops
# changing long before 1000; more is a slip (100000 would sample for days on a CPU).
MAX_STEPS = 1000
# Classifier-free guidance a request may ask for: the models' default is 4, and past about 20 the
# bundled model's frames are saturated noise; far beyond (1e20 on) the sampler overflows and the video
# comes out flat grey, then black.
MAX_GUIDANCE = 100.0
SECONDS_PER_CARD = 1.0  # a storyboard takes a card for each second of video begun (`check_cards`)


def check_seed(seed: int | None) -> None:
    if seed is not None and not 0 <= seed <= MAX_SEED:
        got = str(seed) if -(10**40) < seed < 10**40 else f"a number of {len(str(abs(seed)))} digits"
        raise InvalidRequest(f"seed must be between 0 and {MAX_SEED}, got {got}", param="seed")


def check_request(req: GenerationRequest, *, fps: float, max_seconds: float) -> None:
    """Raise InvalidRequest (with `param`) if `req` cannot be made; return None if it can."""
    task = req.task
    check_seed(req.seed)
    if req.steps is not None and not 1 <= req.steps <= MAX_STEPS:
        raise InvalidRequest(f"steps must be from 1 to {MAX_STEPS}, got {req.steps}; leave it out for the model's "
                             "default", param="steps")
    if req.guidance is not None and not (math.isfinite(req.guidance) and 0 <= req.guidance <= MAX_GUIDANCE):
        raise InvalidRequest(f"guidance must be from 0 to {MAX_GUIDANCE:g}, got {req.guidance:g}; try 4 (the "
                             "default)", param="guidance")
    if not math.isfinite(req.seconds) or req.seconds < 0:
        name = "extend" if task == "recut" else "seconds"  # a re-cut's new footage is its `extend`
        accepted = "more than 0" if task in NEW_FOOTAGE else "0 or more"  # what the check below takes
        raise InvalidRequest(f"{name} must be a finite number {accepted}, got {req.seconds:g}", param=name)
    if task in ("t2v", "i2v", "storyboard") and req.seconds * fps < 1 - 1e-9:
        raise InvalidRequest(f"seconds must be at least one frame ({1 / fps:.3g} s at {fps:g} fps) for a video, "
                             f"got {req.seconds:g}", param="seconds")
    if task in SOURCE_TASKS and req.source is None:
        field = "input_reference" if task == "i2v" else "video"
        raise InvalidRequest(f"{task} needs a source {'image' if task == 'i2v' else 'video'}", param=field)
    for frames, field in ((req.source, "input_reference" if task == "i2v" else "video"), (req.target, "video_b")):
        if frames is not None:
            _check_frames(frames, field)
    if task == "remix" and not (math.isfinite(req.strength) and 0.0 <= req.strength <= 1.0):
        raise InvalidRequest(
            f"strength must be between 0 and 1 (0 keeps the video, 1 ignores it), got {req.strength:g}; "
            "try 0.6", param="strength")
    end = req.strength_end
    if task == "remix" and end is not None and not (math.isfinite(end) and 0.0 <= end <= 1.0):
        raise InvalidRequest(
            f"strength_end must be between 0 and 1 (the last frame's strength; 1 frees a new motion), got {end:g}; "
            "try 1, or leave it out for the same strength throughout", param="strength_end")
    src_seconds = 0.0 if req.source is None else len(req.source) / fps
    new = req.seconds
    if task in NEW_FOOTAGE and not (math.isfinite(new) and new > 0):
        raise InvalidRequest(f"seconds of new footage must be more than 0, got {new:g}", param="seconds")
    if task in ("extend", "extend_backward"):
        need = MIN_EXTEND_FRAMES if task == "extend" else MIN_BACKWARD_FRAMES
        _long_enough(req.source, need, fps, "video", "to extend")
    if task in ("loop", "blend"):
        _long_enough(req.source, MIN_JOIN_FRAMES, fps, "video", f"to {task}")
    if task == "blend":
        if req.target is None:
            raise InvalidRequest("blend needs a second video to lead into", param="video_b")
        _long_enough(req.target, MIN_JOIN_FRAMES, fps, "video_b", "to blend into")
        src_seconds += len(req.target) / fps
    if task == "recut":
        src_seconds = _check_trim(req, fps)
        if new < 0 or not math.isfinite(new):
            raise InvalidRequest(f"extend must be 0 or more seconds, got {new:g}", param="extend")
    if task == "storyboard":
        check_cards(req, max_seconds, fps)
    total = src_seconds + new if task in ("extend", "extend_backward", "loop", "blend", "recut") else new
    if task == "remix" and req.source is not None:
        total = src_seconds  # a remix redraws its source frame for frame, whatever `seconds` says
    if total > max_seconds + 1e-6:
        _too_long(task, total, src_seconds, new, fps, max_seconds)


def trim_how(end: float | None) -> str:
    """How to keep a video's first `end` seconds (None: a range of one's choice) before a task on it;
    the plan's refusals (zoetrope.access.entitlements) give the same advice."""
    cut = f"--start 0 --end {end:g}" if end is not None else "--start S --end E"
    return f"POST /v1/videos/{{video_id}}/recut with start and end, or `zoetrope recut FILE {cut}` for a file"


def _too_long(task: str, total: float, source: float, new: float, fps: float, max_seconds: float) -> None:
    """Refuse a result longer than `max_seconds` (ResultTooLong), naming what to change: `seconds`
    (`extend` for a re-cut) with the most new footage that fits, in the whole steps of 4 frames it is
    made in; or, when the source alone leaves no room for even one step (or a remix, as long as its
    source), the source video itself, as no `seconds` would do."""
    limit = f"the limit is {max_seconds:g} s"
    would_be = f"the result would be {_over(total, max_seconds)} s"
    if task not in SOURCE_TASKS or task == "i2v":  # `seconds` is the whole video
        raise ResultTooLong(f"{would_be}; {limit}: ask for {max_seconds:.1f} s or fewer",
                            param="seconds", limit=max_seconds)
    if task == "remix":
        target = math.floor(max_seconds * fps + 1e-6) / fps
        raise ResultTooLong(
            f"video is {source:.1f} s and a remix keeps its source's length; {limit}: trim it to {target:g} s or "
            f"less first ({trim_how(target)}) or use a shorter clip", param="video", limit=max_seconds)
    field = "extend" if task == "recut" else "seconds"
    fits = int(math.floor((max_seconds - source) * fps + 1e-6)) // STEP_FRAMES * STEP_FRAMES  # whole steps
    if fits >= STEP_FRAMES:
        raise ResultTooLong(f"{would_be}; {limit}: add at most {fits / fps:g} s",
                            param=field, limit=max_seconds)
    if task == "recut":  # the cut is what a re-cut chooses: end it earlier
        more = f", which leaves no room for {new:g} s more" if new > 0 else ""
        raise ResultTooLong(
            f"the cut keeps {source:.2f} s{more}; {limit}: end the cut earlier"
            f"{', or leave extend out' if new > 0 else ''}", param="end", limit=max_seconds)
    clips, them = ("the two videos are", "them") if task == "blend" else ("video is", "it")
    keep = max_seconds - new  # a source that leaves room for what is asked, in whole frames
    keep = math.floor(keep * fps + 1e-6) / fps if keep > 0 else 0.0
    if keep > 0 and task == "blend":  # two clips: which to shorten, and by how much, is the caller's
        fix = f"trim {them} to {keep:g} s or less together first ({trim_how(None)}) or use shorter clips"
    elif keep > 0:
        fix = f"trim {them} to {keep:g} s or less first ({trim_how(keep)}) or use a shorter clip"
    else:
        fix = f"trim {them} first ({trim_how(None)}) and add less: together at most {max_seconds:g} s"
    what = {"loop": "loop", "blend": "blend"}.get(task, "extension")
    raise ResultTooLong(f"{clips} already {source:.1f} s; {limit} for the whole result, so no {what} fits: {fix}",
                        param="video", limit=max_seconds)


def _over(seconds: float, limit: float) -> str:
    """`seconds` (more than `limit`) with the digits that show it is more: 60.01, not 60.0."""
    if seconds >= 1e9:
        return f"{seconds:.3g}"
    for digits in (1, 2, 3):
        if float(shown := f"{seconds:.{digits}f}") > limit:
            return shown
    return f"{seconds:g}"


def _check_frames(frames, param: str) -> None:
    """Media handed in as an array (the Python API) is what the decoders give: uint8 (T, H, W, 3), T >= 1."""
    shape = getattr(frames, "shape", None)
    if shape is None or len(shape) != 4 or shape[0] < 1 or shape[3] != 3:
        raise InvalidRequest(f"{param} must be frames of shape (T, H, W, 3) with T >= 1, got shape {shape}; "
                             "read files with zoetrope.media.read_frames", param=param)
    if frames.dtype != np.uint8:
        raise InvalidRequest(f"{param} must be uint8 pixels 0..255, got {frames.dtype}; convert with "
                             "np.clip(x, 0, 255).astype(np.uint8)", param=param)


def _long_enough(frames, need: int, fps: float, param: str, what: str) -> None:
    if len(frames) < need:
        raise InvalidRequest(
            f"{param} has {len(frames)} frames; {what} it needs at least {need} ({need / fps:.2f} s at {fps:g} fps): "
            "use a longer clip (or `animate` for a still)", param=param)


def _check_trim(req: GenerationRequest, fps: float) -> float:
    """Seconds the trim keeps."""
    if req.trim is None:
        raise InvalidRequest("recut needs a start and an end second", param="start")
    start, end = req.trim
    duration = len(req.source) / fps
    if not (math.isfinite(start) and start >= 0):
        raise InvalidRequest(f"start must be 0 or later, got {start:g}", param="start")
    if not (math.isfinite(end) and end > start):
        raise InvalidRequest(f"end ({end:g} s) must come after start ({start:g} s)", param="end")
    if end > duration + 1 / fps:
        raise InvalidRequest(f"end {end:g} s is past the video's end ({duration:.2f} s); use {duration:.2f} or less",
                             param="end")
    kept = trim_frames(req.trim, fps)
    frames = len(range(len(req.source))[kept])
    if frames < 1:
        raise InvalidRequest(f"{start:g}..{end:g} s keeps no frame; widen the range", param="end")
    if req.seconds > 0 and frames < MIN_EXTEND_FRAMES:
        raise InvalidRequest(
            f"the cut keeps {frames} frames; to extend it needs at least {MIN_EXTEND_FRAMES} "
            f"({MIN_EXTEND_FRAMES / fps:.2f} s): widen start..end", param="end")
    return frames / fps


def check_cards(req: GenerationRequest, max_seconds: float, fps: float) -> None:
    """Cards: at least one, the first at 0 s, each later than the one before, all inside the video,
    and each with a frame of its own (a card starts at its nearest frame)."""
    cards, total = req.cards, req.seconds
    if not cards:
        raise InvalidRequest("a storyboard needs at least one card (prompt, start)", param="cards")
    lasts = (f"a storyboard lasts 0 < seconds <= {max_seconds:g}, got {total:g}; set `seconds` to when the last "
             "card ends")
    if not (math.isfinite(total) and total > 0):
        raise InvalidRequest(lasts, param="seconds")
    if total > max_seconds:  # a ResultTooLong: a caller's lower limit (its plan's) is answered instead
        raise ResultTooLong(lasts, param="seconds", limit=max_seconds)
    for i, card in enumerate(cards):
        where = f"cards[{i}]"
        if not card.prompt or not card.prompt.strip():
            raise InvalidRequest(f"{where} has an empty prompt; say what this part shows", param=f"{where}.prompt")
        if not math.isfinite(card.start) or card.start < 0:
            raise InvalidRequest(f"{where}.start must be 0 or later, got {card.start}", param=f"{where}.start")
        if i == 0 and card.start != 0:
            raise InvalidRequest(f"the first card must start at 0 s, not {card.start:g} s", param=f"{where}.start")
        if i and card.start <= cards[i - 1].start:
            raise InvalidRequest(
                f"{where} starts at {card.start:g} s, not after cards[{i - 1}] ({cards[i - 1].start:g} s): cards "
                "overlap; give each card a later start than the one before", param=f"{where}.start")
        if card.start >= total:
            raise InvalidRequest(
                f"{where} starts at {card.start:g} s, at or after the end of the {total:g} s video; "
                "move it earlier or make the video longer", param=f"{where}.start")
        if i and round(card.start * fps) <= round(cards[i - 1].start * fps):
            raise InvalidRequest(
                f"{where} starts at {card.start:g} s, on the same frame as cards[{i - 1}] ({cards[i - 1].start:g} s) at "
                f"{fps:g} fps: start it at least {1 / fps:.3g} s later", param=f"{where}.start")
    if round(cards[-1].start * fps) >= round(total * fps):
        raise InvalidRequest(
            f"cards[{len(cards) - 1}] starts at {cards[-1].start:g} s, on the {total:g} s video's last frame or after: "
            f"move it earlier or make the video longer", param=f"cards[{len(cards) - 1}].start")
    # Each card is made as a window of its own however short it is, so a card a frame long costs a
    # second's generation: 480 one-frame cards cost 12 times a 60 s video. One card a second at most.
    if len(cards) > (most := max(1, math.ceil(total / SECONDS_PER_CARD - 1e-9))):
        raise InvalidRequest(
            f"a {total:g} s storyboard takes at most {most} cards (one a second, part seconds counted: each "
            f"card is made whole, however short), got {len(cards)}; merge cards or make the video longer",
            param="cards")
