"""The submit service: a request in the client's terms becomes a queued job, or a clear 4xx.

Order of checks: whether the prompt may run (safety: prompt moderation, before anything is
stored), what the model can (backend capabilities, sizes), then one transaction in which access
admits the job (eligibility, entitlement, concurrency, quota, credits reserved) and it is inserted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zoetrope import media
from zoetrope.access.admission import admit, check_model_allowed
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.entitlements import check_request as check_plan
from zoetrope.access.keys import Principal
from zoetrope.backends.base import GenerationRequest, StoryCard
from zoetrope.backends.checks import (
    ResultTooLong,
    check_request,
    check_seed,
    extension_frames,
    trim_frames,
    whole_frames,
)
from zoetrope.backends.registry import Registry
from zoetrope.config import get_config
from zoetrope.db import batched_write, transaction
from zoetrope.errors import Conflict, InvalidRequest, UnsupportedByBackend, ZoetropeError
from zoetrope.jobs import dispatch, store, webhooks
from zoetrope.jobs.models import Job, new_video_id
from zoetrope.jobs.moderation import moderate
from zoetrope.jobs.request import (
    DEFAULT_MODEL,
    MAX_BOARD_CHARS,
    VideoRequest,
    check_idempotency_key,
    check_lane,
    check_length,
    part_key,
    story_cards,
    unicode_text,
    whole_fingerprint,
)
from zoetrope.jobs.sizes import (
    check_model_seconds,
    default_size,
    parse_seconds,
    plan_size,
    seconds_str,
    size_for_source,
)
from zoetrope.safety import payload_for
from zoetrope.settings import get_settings
from zoetrope.storage import BlobStore

DEFAULT_VIDEO_SIZE = "720x1280"
DEFAULT_IMAGE_SIZE = "1024x1024"
DEFAULT_SECONDS = "4"
DEFAULT_JOIN_SECONDS = "1"  # the transition of a loop or a blend
SOURCE_TASKS = ("remix", "extend", "extend_backward", "loop", "blend", "recut")
NEW_FOOTAGE = ("extend", "extend_backward", "loop", "blend")  # `seconds` is what is added to the source
KEEPS_SOURCE = (*NEW_FOOTAGE, "recut")  # the result keeps source footage as it was, beside new footage
# The job id in the record of a whole request of several jobs (`submit_all`): no job has it. Written
# "images", as the images route wrote it before the record moved here.
WHOLE_REQUEST = "images"


def submit(
    engine: Engine,
    registry: Registry,
    blobs: BlobStore,
    principal: Principal,
    req: VideoRequest,
    *,
    idempotency_key: str | None = None,
) -> Job:
    """Queue the job `req` describes for `principal` and return it (with an `idempotency_key` an
    earlier request already used, the job that request made)."""
    return submit_once(engine, registry, blobs, principal, req, idempotency_key=idempotency_key).job


class Submitted(NamedTuple):
    job: Job | None  # None for a quote
    new: bool  # False: the job an earlier request with the same Idempotency-Key made
    summary: RequestSummary | None = None  # a quote's: what the job would be charged for


def submit_once(
    engine: Engine,
    registry: Registry,
    blobs: BlobStore,
    principal: Principal,
    req: VideoRequest,
    *,
    idempotency_key: str | None = None,
    quote: bool = False,
) -> Submitted:
    """`submit`, saying whether this call made the job. With `quote`, nothing is queued or
    moderated: `Submitted.summary` is what it would be charged for, refusals of the request itself
    as they would be."""
    ready = _prepare(engine, registry, blobs, principal, req, idempotency_key=idempotency_key, quote=quote)
    if isinstance(ready, Submitted):
        return ready
    return _queue(engine, blobs, [ready], keyed=bool(idempotency_key))[0]


def submit_all(
    engine: Engine,
    registry: Registry,
    blobs: BlobStore,
    principal: Principal,
    reqs: list[VideoRequest],
    *,
    idempotency_key: str | None = None,
) -> list[Submitted]:
    """The jobs of `reqs` (`n` images) queued as one request, in one transaction: all of them, or on
    any refusal none, so no other request ever answers with a job this one withdrew. An
    `idempotency_key` covers them all, their number included: the same requests again answer the
    jobs the first made (job i remembered under `part_key(key, i)`), others are a 409."""
    check_idempotency_key(idempotency_key)  # the client's key, before job i's are made of it
    key, account, whole = idempotency_key, principal.account_id, whole_fingerprint(reqs)
    if key:  # another body (or number of jobs) under this key: a 409, before anything is done
        with transaction(engine) as s:
            _covers(s, account, key, whole, len(reqs))
    done = [
        _prepare(engine, registry, blobs, principal, req, idempotency_key=part_key(key, i) if key else None)
        for i, req in enumerate(reqs)
    ]
    ready = [d for d in done if isinstance(d, _Ready)]
    if not ready:  # every job made by an earlier request with this key
        return [d for d in done if isinstance(d, Submitted)]

    def cover(s: Session) -> None:  # the whole request's record: written with its jobs, or not at all
        if key and not _covers(s, account, key, whole, len(reqs)):
            store.remember_idempotent(s, account, key, whole, WHOLE_REQUEST)

    written = iter(_queue(engine, blobs, ready, keyed=bool(key), first=cover))
    return [next(written) if isinstance(d, _Ready) else d for d in done]


def _covers(s: Session, account_id: str, key: str, whole: str, n: int) -> bool:
    """Whether `key` already names this request of `n` jobs (`whole`, their fingerprint); a 409
    Conflict when it names another. A key used before it covered the number of jobs has only each
    job's record (`key:i`, none of the whole): it names this request only with exactly n of them,
    each checked against its job's request when that is looked up."""
    parts = [part_key(key, i) for i in range(n + 1)]  # one more: a record past the n says "more"
    found = store.remembered(s, account_id, [key, *parts])
    if key in found:
        if found[key] != whole:
            raise Conflict(
                "this Idempotency-Key was already used with a different request body",
                param="Idempotency-Key",
                code="idempotency_key_reused",
            )
        return True
    made = [k for k in parts if k in found]
    if made and made != parts[:n]:
        raise Conflict(
            f"this Idempotency-Key was already used for {'more' if parts[n] in found else 'fewer'} "
            f"images than {n}; send the request it was used for, or a new key",
            param="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return bool(made)


class _Ready(NamedTuple):
    """A request checked and moderated: its job's id, and the write that queues it (or answers the
    job an earlier request with its Idempotency-Key made)."""

    job_id: str
    write: Callable[[Session], Submitted]


def _queue(
    engine: Engine,
    blobs: BlobStore,
    ready: list[_Ready],
    *,
    keyed: bool,
    first: Callable[[Session], None] | None = None,
) -> list[Submitted]:
    """Write `ready` (after `first`) in one transaction: a refusal of any rolls back all."""

    def write(s: Session) -> list[Submitted]:
        if first is not None:
            first(s)
        return [r.write(s) for r in ready]

    try:
        try:
            # Concurrent submits share one transaction, each in a savepoint (`batched_write`).
            done = batched_write(engine, write)
        except IntegrityError:
            if not keyed:
                raise
            # Another request with this key (another process, or PostgreSQL's next transaction)
            # committed between this one's check and its insert: written again, the check finds
            # that request's jobs, which are the answer.
            done = batched_write(engine, write)
            for r, d in zip(ready, done, strict=True):
                if not d.new:
                    blobs.delete_prefix(f"inputs/{r.job_id}")
    except BaseException:
        for r in ready:
            blobs.delete_prefix(f"inputs/{r.job_id}")
        raise
    if any(d.new for d in done):
        dispatch.doorbell.ring()  # committed: an idle worker of this process claims it now
    return done


def _prepare(
    engine: Engine,
    registry: Registry,
    blobs: BlobStore,
    principal: Principal,
    req: VideoRequest,
    *,
    idempotency_key: str | None = None,
    quote: bool = False,
) -> Submitted | _Ready:
    """Every check of `req` (moderation last), and the write that queues its job; a Submitted when
    nothing is to be written (a quote, or the job an earlier request with this key made)."""
    check_idempotency_key(idempotency_key)  # before anything is read or stored under it
    # The request as the client sent it, before the defaults and the task below are filled in: what
    # a retry with the same key and body hashes to.
    fingerprint = req.fingerprint()
    if idempotency_key and not quote:
        with transaction(engine) as s:
            earlier = store.find_idempotent(s, principal.account_id, idempotency_key, fingerprint)
            if earlier is not None:
                return Submitted(earlier, False)
    check_lane(req.lane)
    if req.task == "t2v" and req.reference is not None:
        # An image to animate: image to video for every check (the model's tasks, the plan's), as the
        # worker makes it; not text to video with its image dropped or refused only at render.
        req = replace(req, task="i2v")
    if not req.prompt or not req.prompt.strip():
        raise InvalidRequest("prompt must not be empty", param="prompt")
    unicode_text(req.prompt, "prompt")
    check_seed(req.seed)  # t2v and t2i reach check_request only in the worker
    options = dict(req.options or {})
    cards = story_cards(options)
    check_length(req.prompt, "prompt")
    for i, card in enumerate(cards):
        unicode_text(card.prompt, f"cards[{i}].prompt")
        check_length(card.prompt, f"cards[{i}].prompt")
    if sum(len(card.prompt) for card in cards) > MAX_BOARD_CHARS:
        raise InvalidRequest(
            f"the cards' prompts come to {sum(len(c.prompt) for c in cards):,} characters, over "
            f"{MAX_BOARD_CHARS:,}; shorten them or use fewer cards",
            param="cards",
        )
    # An upload is made by the model asked, else the default: counted at that model's frame rate.
    upload_fps = None
    if req.source_upload is not None:
        upload_fps = registry.backend(registry.entry(req.model or DEFAULT_MODEL).name).capabilities.fps
    source, source_seconds, source_frames, source_size = _source(engine, principal, req, upload_fps)
    if req.model is None:  # a task on a video uses its model (a Wan clip is extended by Wan)
        # The default by its own name, as the quote shows it, not by the alias that routes to it.
        req = replace(req, model=source.model if source is not None else registry.entry(DEFAULT_MODEL).name)
    entry = registry.entry(req.model)
    caps = registry.backend(entry.name).capabilities
    if req.task not in caps.tasks:
        if req.task == "i2v":
            able = _models_that_do(registry, "i2v", principal)
            hint = f"ask for {' or '.join(able)}, or" if able else "no model on this server can;"
            raise UnsupportedByBackend(
                f"{entry.name} cannot animate an image (input_reference); {hint} leave input_reference out",
                param="input_reference",
            )
        raise UnsupportedByBackend(
            f"{entry.name} cannot do {req.task}; it does {', '.join(caps.tasks)}", param="model"
        )

    target = _target(engine, principal, req, options)
    image = req.task == "t2i"
    # With no size asked, a source's own (or the nearest the model makes): not a default of another shape.
    if req.size:
        size = req.size
    elif source_size:  # no larger than the plan makes: not a refusal about a size the client never sent
        size = size_for_source(*map(int, source_size.split("x")), caps, principal.plan.max_resolution)
    else:  # the default's aspect where the model makes it, no larger than the plan allows
        default = DEFAULT_IMAGE_SIZE if image else DEFAULT_VIDEO_SIZE
        size = default_size(default, caps, principal.plan.max_resolution)
    sizing = plan_size(size, caps, entry.name)
    if not image and (sizing.width % 2 or sizing.height % 2):  # the file would be a pixel larger than it says
        raise InvalidRequest(
            f"size {size}: a video's sides must be even (H.264 4:2:0); ask for "
            f"{sizing.width + sizing.width % 2}x{sizing.height + sizing.height % 2}",
            param="size",
        )
    params: dict = {"seed": req.seed, "strength": req.strength}
    if req.strength_end is not None:
        params["strength_end"] = req.strength_end
    params.update(native_width=sizing.native_width, native_height=sizing.native_height)
    webhooks.record_target(params)  # the event goes where this process says, whichever worker finishes
    if options:
        params["options"] = options
    too_long: ResultTooLong | None = None  # the model's length refusal, answered once the plan's is known
    kept: float | None = None
    if image:
        total = 0.0
    elif req.task in SOURCE_TASKS or req.task == "storyboard":
        if req.source_upload is not None:  # the upload's frames at the model's rate, as the worker reads them
            source_frames = max(1, round(source_seconds * caps.fps))  # `media.retime`'s count
            source_seconds = source_frames / caps.fps
        new = _new_seconds(req, caps, entry.name, source_seconds)
        makes = 0 < new <= caps.max_seconds  # longer is refused as it is (and would overflow as frames)
        if req.task in KEEPS_SOURCE and makes:
            # New footage comes in whole steps of the VAE's 4 frames: what is made is what is checked and charged.
            new = extension_frames(new, caps.fps) / caps.fps
        elif req.task == "storyboard" and makes:
            new = whole_frames(new, caps.fps) / caps.fps  # as text to video: the frames made
        try:
            with _naming_source(req):
                _check(req, caps, sizing, new, source_frames, target, cards)
        except ResultTooLong as e:
            too_long = e
        params["new_seconds"] = new
        total = _total(req.task, new, source_seconds, source_frames, target, options, caps.fps)
        if req.task in KEEPS_SOURCE:  # the source footage the result keeps, in whole frames
            kept = _total(req.task, 0.0, source_seconds, source_frames, target, options, caps.fps)
    else:
        total = parse_seconds(req.seconds or source_seconds or DEFAULT_SECONDS, caps, entry.name)
        try:
            check_model_seconds(total, caps, entry.name)
        except ResultTooLong as e:
            too_long = e
        # What is made is whole frames (1.06 s at 8 fps is 8 frames, 1 s): the video object, the
        # charge and the day's quota count those, not the asked decimals. Longer is refused as asked.
        if too_long is None:
            total = whole_frames(total, caps.fps) / caps.fps

    summary = RequestSummary(
        model=entry.name,
        width=sizing.width,
        height=sizing.height,
        seconds=total,
        task=req.task,
        lane=req.lane,
        # Of a task that keeps source footage, only the new footage is generated, and charged.
        new_seconds=params["new_seconds"] if req.task in KEEPS_SOURCE else None,
        source_seconds=kept,
        fps=caps.fps,  # new footage comes in whole steps of frames: what the plan may suggest adding
    )
    if too_long is not None:
        plan = principal.plan
        if plan.max_seconds is not None and plan.max_seconds < too_long.limit:
            # Over the model's limit and the plan's lower one: the plan's refusal (403) says what it
            # accepts; the model's ("add at most 58 s") would only be refused again by the plan.
            with _naming_source(req):
                check_plan(get_config(), plan, summary)
        raise too_long
    if quote:  # the plan's own limits too (its funds and free slots are the moment's, not the price's)
        check_model_allowed(principal, summary.model)
        with _naming_source(req):
            check_plan(get_config(), principal.plan, summary)
        return Submitted(None, False, summary)
    # Last of the checks, as it is the dearest; ModerationBlocked (400) names the category and the
    # field, and nothing is stored yet.
    _moderate(req, cards, source)
    job_id = new_video_id()

    def write(s: Session) -> Submitted:
        if idempotency_key:
            earlier = store.find_idempotent(s, principal.account_id, idempotency_key, fingerprint)
            if earlier is not None:
                return Submitted(earlier, False)
            store.remember_idempotent(s, principal.account_id, idempotency_key, fingerprint, job_id)
        # Refusals (403/402/429) roll back all of this submit, and the other jobs of its request
        # (their savepoint); credits are held only with the job row.
        with _naming_source(req):
            admission = admit(s, principal, summary, job_id)
        params["watermark"] = admission.watermark
        _store_inputs(blobs, req, source, job_id, params)
        if target is not None:
            params["target_key"] = target.outputs["video"]
        details = {"generated_size": sizing.native_size, "resized": str(sizing.resized).lower()}
        dispatch.announce(s)
        return Submitted(store.insert_job(
            s,
            Job(
                id=job_id,
                account_id=principal.account_id,
                key_id=principal.key_id,
                model=req.model,
                backend_model=entry.name,
                prompt=req.prompt,
                seconds=seconds_str(total),
                size=sizing.size,
                task=req.task,
                params=params,
                details=details,
                remixed_from_video_id=req.remix_of,
                lane=admission.lane,
                max_concurrent=max(1, admission.max_concurrent),
                max_attempts=get_settings().max_attempts,
                watermark_payload=payload_for(job_id).hex(),
            ),
        ), True)

    return _Ready(job_id, write)


@contextmanager
def _naming_source(req: VideoRequest) -> Iterator[None]:
    """Refusals about the source video, which the model's and the plan's checks call `video`, name
    the field this request named it with (the path's `video_id`, a blend's `video_a`): message,
    code and status as they are."""
    try:
        yield
    except ZoetropeError as e:
        if e.param == "video" and req.source_param != "video":
            e.param = req.source_param
        raise


def _models_that_do(registry: Registry, task: str, principal: Principal) -> list[str]:
    """The models of this server whose backend does `task` and that `principal`'s key may use (those
    that cannot be built are left out): what a refusal may suggest instead."""
    able = []
    for name in registry.model_names():
        try:
            check_model_allowed(principal, name)
            if task in registry.backend(name).capabilities.tasks:
                able.append(name)
        except Exception:  # a model this key may not use, or that cannot be built, is no suggestion
            continue
    return able


def _store_inputs(blobs: BlobStore, req: VideoRequest, source: Job | None, job_id: str, params: dict) -> None:
    """Write the request's uploads (only once the job is admitted) and name them in `params`."""
    if source is not None:
        params["source_key"] = source.outputs["video"]
    elif req.source_upload is not None:
        params["source_key"] = f"inputs/{job_id}/source.mp4"
        blobs.put(params["source_key"], req.source_upload)
    if req.reference is not None:
        params["reference_key"] = f"inputs/{job_id}/reference"
        blobs.put(params["reference_key"], req.reference)


def _moderate(req: VideoRequest, cards: tuple[StoryCard, ...], source: Job | None) -> None:
    """Each text the video is made from, and the texts it combines read together: a request
    cannot split what the policy refuses across cards, or between a video and its remix."""
    texts, params = [], []
    for i, card in enumerate(cards):  # each card first, so a refusal names the card
        texts.append(card.prompt)
        params.append(f"cards[{i}].prompt")
    if len(cards) > 1:
        texts.append(". ".join(card.prompt for card in cards if card.prompt.strip()))
        params.append("cards")
    texts.append(req.prompt)
    params.append("prompt")
    if source is not None and (source.prompt or "").strip() and source.prompt != req.prompt:
        texts.append(f"{source.prompt}. {req.prompt}")  # what the new video shows: its source, changed
        params.append("prompt")
    moderate(*texts, params=params)


def _source(
    engine: Engine, principal: Principal, req: VideoRequest, upload_fps: float | None = None
) -> tuple[Job | None, float, int, str | None]:
    """The job (or checked upload) a remix, edit or extension starts from: its duration, frames and
    size (an image to animate gives its size alone). An upload's frames count against the frame
    limit at `upload_fps`, the rate the worker reads it at."""
    if req.reference is not None:
        info = media.probe(req.reference, param="input_reference")
        if info.kind != "image":
            raise InvalidRequest(
                "input_reference must be a still image (PNG, JPEG or WebP), not a video; to start from a "
                "video, send it as video to POST /v1/videos/extensions or /v1/videos/edits",
                param="input_reference",
            )
        if not (req.source_video_id or req.source_upload is not None):
            return None, 0.0, 0, f"{info.width}x{info.height}"
    if req.source_video_id:
        with transaction(engine) as s:
            job = store.get_completed_job(s, principal.account_id, req.source_video_id, param=req.source_param)
        _require_video(job, req.task, req.source_param)
        return job, float(job.seconds), _frames_of(job), job.size
    if req.source_upload is not None:
        info = media.probe(req.source_upload, fps=upload_fps, param="video")
        if info.kind != "video":
            raise InvalidRequest("video must be an MP4 video, not an image", param="video")
        # Its length as frames / fps: submit counts the frames the worker will read at the model's rate.
        seconds = info.frames / info.fps if info.fps else float(info.duration or 0)
        return None, seconds, int(info.frames), f"{info.width}x{info.height}"
    if req.task in SOURCE_TASKS:
        raise InvalidRequest(
            f"{req.task} needs a source video: send video={{'id': ...}} or a file", param="video"
        )
    return None, 0.0, 0, None


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


def _target(engine: Engine, principal: Principal, req: VideoRequest, options: dict) -> Job | None:
    """Clip B of a blend, looked up in the caller's account (another account's id is a 404)."""
    if req.task != "blend":
        return None
    ref = options.get("target")
    if not ref:
        raise InvalidRequest("blend needs a second video to lead into: send video_b", param="video_b")
    with transaction(engine) as s:
        job = store.get_completed_job(s, principal.account_id, str(ref), param="video_b")
    _require_video(job, "blend", "video_b")
    return job


def _new_seconds(req: VideoRequest, caps, model: str, source_seconds: float) -> float:
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
        if frames is not None and (not math.isfinite(frames) or round(frames) != round(source_seconds * caps.fps)):
            raise InvalidRequest(
                f"a remix keeps its source's length ({seconds_str(source_seconds)} s), so seconds cannot be "
                f"{req.seconds!r}: leave seconds out, then extend or re-cut the result", param="seconds")
        return source_seconds
    default = DEFAULT_JOIN_SECONDS if req.task in ("loop", "blend") else DEFAULT_SECONDS
    return parse_seconds(req.seconds or default, caps, model)


def _check(req: VideoRequest, caps, sizing, new: float, frames: int, target: Job | None, cards) -> None:
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
