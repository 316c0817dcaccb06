"""The video a request starts from, and the length of what it makes: the source of a remix, edit or
extension (a job of the caller's, or an upload), a blend's second clip, and the result's seconds as
the backend's checks, the plan and credits count them."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from sqlalchemy import Engine

from zoetrope import media
from zoetrope.access.keys import Principal
from zoetrope.backends.base import Capabilities, GenerationRequest, StoryCard
from zoetrope.backends.checks import (
    ResultTooLong,
    check_request,
    extension_frames,
    trim_frames,
    whole_frames,
)
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest, ZoetropeError
from zoetrope.jobs import store
from zoetrope.jobs.models import Job
from zoetrope.jobs.request import VideoRequest
from zoetrope.jobs.sizes import SizePlan, check_model_seconds, parse_seconds, seconds_str

DEFAULT_SECONDS = "4"
DEFAULT_JOIN_SECONDS = "1"  # the transition of a loop or a blend
SOURCE_TASKS = ("remix", "extend", "extend_backward", "loop", "blend", "recut")
NEW_FOOTAGE = ("extend", "extend_backward", "loop", "blend")  # `seconds` is what is added to the source
KEEPS_SOURCE = (*NEW_FOOTAGE, "recut")  # the result keeps source footage as it was, beside new footage


class Source(NamedTuple):
    """What a request starts from: the job (None for an upload, or nothing), its seconds, frames and
    size (None without a source; an image to animate gives its size alone)."""

    job: Job | None
    seconds: float
    frames: int
    size: str | None


class Length(NamedTuple):
    """The result's seconds: `total` as plans and credits charge it, `new` the footage a task on a
    source generates, `kept` the source footage the result keeps, and `too_long` the model's refusal
    of the length, raised once the plan's is known."""

    total: float
    new: float | None = None
    kept: float | None = None
    too_long: ResultTooLong | None = None


@contextmanager
def naming_source(req: VideoRequest) -> Iterator[None]:
    """Refusals about the source video, which the model's and the plan's checks call `video`, name
    the field this request named it with (the path's `video_id`, a blend's `video_a`): message,
    code and status as they are."""
    try:
        yield
    except ZoetropeError as e:
        if e.param == "video" and req.source_param != "video":
            e.param = req.source_param
        raise


def find_source(
    engine: Engine, principal: Principal, req: VideoRequest, upload_fps: float | None = None
) -> Source:
    """The job (or checked upload) a remix, edit or extension starts from (an image to animate gives
    its size alone). An upload's frames count against the frame limit at `upload_fps`, the rate the
    worker reads it at."""
    if req.reference is not None:
        info = media.probe(req.reference, param="input_reference")
        if info.kind != "image":
            raise InvalidRequest(
                "input_reference must be a still image (PNG, JPEG or WebP), not a video; to start from a "
                "video, send it as video to POST /v1/videos/extensions or /v1/videos/edits",
                param="input_reference",
            )
        if not (req.source_video_id or req.source_upload is not None):
            return Source(None, 0.0, 0, f"{info.width}x{info.height}")
    if req.source_video_id:
        with transaction(engine) as s:
            job = store.get_completed_job(
                s, principal.account_id, req.source_video_id, param=req.source_param
            )
        _require_video(job, req.task, req.source_param)
        return Source(job, float(job.seconds), _frames_of(job), job.size)
    if req.source_upload is not None:
        info = media.probe(req.source_upload, fps=upload_fps, param="video")
        if info.kind != "video":
            raise InvalidRequest("video must be an MP4 video, not an image", param="video")
        # Its length as frames / fps: submit counts the frames the worker will read at the model's rate.
        seconds = info.frames / info.fps if info.fps else float(info.duration or 0)
        return Source(None, seconds, int(info.frames), f"{info.width}x{info.height}")
    if req.task in SOURCE_TASKS:
        raise InvalidRequest(
            f"{req.task} needs a source video: send video={{'id': ...}} or a file", param="video"
        )
    return Source(None, 0.0, 0, None)


def blend_target(engine: Engine, principal: Principal, req: VideoRequest) -> Job | None:
    """Clip B of a blend, looked up in the caller's account (another account's id is a 404)."""
    if req.task != "blend":
        return None
    ref = (req.options or {}).get("target")
    if not ref:
        raise InvalidRequest("blend needs a second video to lead into: send video_b", param="video_b")
    with transaction(engine) as s:
        job = store.get_completed_job(s, principal.account_id, str(ref), param="video_b")
    _require_video(job, "blend", "video_b")
    return job


def _require_video(job: Job, task: str, param: str) -> None:
    """A 400 when a source job made an image: a still has no footage to remix or extend (animate
    it with input_reference instead)."""
    if "video" not in (job.outputs or {}):
        raise InvalidRequest(
            f"{job.id} is an image, and {task} needs a video; to make a video from it, send it as "
            "input_reference to POST /v1/videos",
            param=param,
        )


def _frames_of(job: Job) -> int:
    frames = (job.details or {}).get("frames")
    return int(frames) if frames else 0


def measure(
    req: VideoRequest,
    caps: Capabilities,
    model: str,
    sizing: SizePlan,
    source: Source,
    target: Job | None,
    cards: tuple[StoryCard, ...],
) -> Length:
    """The result's length, checked as the backend would check it, before anything is stored."""
    if req.task == "t2i":
        return Length(0.0)
    if req.task not in SOURCE_TASKS and req.task != "storyboard":
        return _measure_whole(req, caps, model, source.seconds)
    seconds, frames = source.seconds, source.frames
    if req.source_upload is not None:  # the upload's frames at the model's rate, as the worker reads them
        frames = max(1, round(seconds * caps.fps))  # `media.retime`'s count
        seconds = frames / caps.fps
    new = _new_seconds(req, caps, model, seconds)
    makes = 0 < new <= caps.max_seconds  # longer is refused as it is (and would overflow as frames)
    if req.task in KEEPS_SOURCE and makes:
        # New footage comes in whole steps of the VAE's 4 frames: what is made is what is checked and charged.
        new = extension_frames(new, caps.fps) / caps.fps
    elif req.task == "storyboard" and makes:
        new = whole_frames(new, caps.fps) / caps.fps  # as text to video: the frames made
    too_long = None
    try:
        with naming_source(req):
            _check(req, caps, sizing, new, frames, target, cards)
    except ResultTooLong as e:
        too_long = e
    options = req.options or {}
    total = _total(req.task, new, seconds, frames, target, options, caps.fps)
    if req.task not in KEEPS_SOURCE:
        return Length(total, new, None, too_long)
    kept = _total(
        req.task, 0.0, seconds, frames, target, options, caps.fps
    )  # the source footage, in whole frames
    return Length(total, new, kept, too_long)


def _measure_whole(req: VideoRequest, caps: Capabilities, model: str, source_seconds: float) -> Length:
    """`measure` for a task whose `seconds` is the whole video."""
    total = parse_seconds(req.seconds or source_seconds or DEFAULT_SECONDS, caps, model)
    try:
        check_model_seconds(total, caps, model)
    except ResultTooLong as e:
        return Length(total, too_long=e)  # longer is refused as asked
    # What is made is whole frames (1.06 s at 8 fps is 8 frames, 1 s): the video object, the charge
    # and the day's quota count those, not the asked decimals.
    return Length(whole_frames(total, caps.fps) / caps.fps)


def _new_seconds(req: VideoRequest, caps: Capabilities, model: str, source_seconds: float) -> float:
    """`seconds` as the task reads it: new footage, the transition, the extension of a cut, the whole."""
    if req.task == "recut":
        try:
            return float(req.seconds or 0)
        except ValueError:
            raise InvalidRequest(
                f"extend must be a number of seconds, not {req.seconds!r}", param="extend"
            ) from None
    if req.task == "remix":
        # A remix redraws its source frame for frame: it lasts as long as the source.
        asked = None if req.seconds is None else parse_seconds(req.seconds, caps, model)
        frames = None if asked is None else asked * caps.fps  # inf for "1e308": no frame, so not the source's
        if frames is not None and (
            not math.isfinite(frames) or round(frames) != round(source_seconds * caps.fps)
        ):
            raise InvalidRequest(
                f"a remix keeps its source's length ({seconds_str(source_seconds)} s), so seconds cannot be "
                f"{req.seconds!r}: leave seconds out, then extend or re-cut the result",
                param="seconds",
            )
        return source_seconds
    default = DEFAULT_JOIN_SECONDS if req.task in ("loop", "blend") else DEFAULT_SECONDS
    return parse_seconds(req.seconds or default, caps, model)


def _check(
    req: VideoRequest,
    caps: Capabilities,
    sizing: SizePlan,
    new: float,
    frames: int,
    target: Job | None,
    cards: tuple[StoryCard, ...],
) -> None:
    """The backend-independent checks every task gets (zoetrope.backends.checks), before anything is stored."""
    trim = (req.options or {}).get("trim")
    try:
        trim = None if trim is None else (float(trim[0]), float(trim[1]))
    except (TypeError, ValueError, IndexError):
        raise InvalidRequest("start and end must be numbers of seconds", param="start") from None
    kw = {k: v for k, v in (("strength", req.strength), ("strength_end", req.strength_end)) if v is not None}
    check_request(
        GenerationRequest(
            prompt=req.prompt,
            width=sizing.native_width,
            height=sizing.native_height,
            seconds=new,
            task=req.task,  # type: ignore[arg-type]
            source=_placeholder(frames) if req.task in SOURCE_TASKS else None,
            target=None if target is None else _placeholder(_frames_of(target)),
            cards=cards,
            trim=trim,
            **kw,
        ),
        fps=caps.fps,
        max_seconds=caps.max_seconds,
    )


def _placeholder(frames: int) -> np.ndarray:
    """Frames with the source's length, one black pixel each: what the checks read (its length and
    form), without decoding the video."""
    return np.zeros((frames, 1, 1, 3), dtype=np.uint8)


def _total(
    task: str, new: float, source: float, frames: int, target: Job | None, options: dict, fps: float
) -> float:
    """The result's seconds, as check_request counts them: what plans and credits charge."""
    if task in NEW_FOOTAGE:
        return source + new + (float(target.seconds) if target is not None else 0.0)
    if task == "recut":
        start, end = (float(v) for v in options["trim"])
        return len(range(frames)[trim_frames((start, end), fps)]) / fps + new
    return new
