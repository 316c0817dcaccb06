"""The submit service: a request in the client's terms becomes a queued job, or a clear 4xx.

Order of checks: whether the prompt may run (safety: prompt moderation, before anything is
stored), what the model can (backend capabilities, sizes), then one transaction in which access
admits the job (eligibility, entitlement, concurrency, quota, credits reserved) and it is inserted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import Engine

from zoetrope import media
from zoetrope.access.admission import admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import Principal
from zoetrope.backends.registry import Registry
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest, UnsupportedByBackend
from zoetrope.jobs import store
from zoetrope.jobs.models import Job, new_video_id
from zoetrope.jobs.sizes import parse_seconds, plan_size, seconds_str
from zoetrope.safety import moderate_prompt, payload_for
from zoetrope.settings import get_settings
from zoetrope.storage import BlobStore

DEFAULT_VIDEO_SIZE = "720x1280"
DEFAULT_IMAGE_SIZE = "1024x1024"
DEFAULT_SECONDS = "4"
SOURCE_TASKS = ("remix", "extend", "extend_backward")


@dataclass(frozen=True)
class VideoRequest:
    """One generation as a client asks for it. `source_video_id` or `source_upload` name the video
    a remix, edit or extension starts from; `reference` is an image to animate."""

    prompt: str
    model: str = "sora-2"
    seconds: str | None = None
    size: str | None = None
    task: str = "t2v"
    reference: bytes | None = field(default=None, repr=False)
    source_video_id: str | None = None
    source_upload: bytes | None = field(default=None, repr=False)
    remix_of: str | None = None
    seed: int | None = None
    strength: float | None = None

    def fingerprint(self) -> str:
        """A hash of everything in the request: what an `Idempotency-Key` is checked against."""
        fields = asdict(self)
        for name in ("reference", "source_upload"):
            blob = fields.pop(name)
            fields[name] = hashlib.sha256(blob).hexdigest() if blob else None
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def submit(
    engine: Engine,
    registry: Registry,
    blobs: BlobStore,
    principal: Principal,
    req: VideoRequest,
    *,
    idempotency_key: str | None = None,
) -> Job:
    """Queue the job `req` describes for `principal` and return it."""
    if idempotency_key:
        with transaction(engine) as s:
            earlier = store.find_idempotent(s, principal.account_id, idempotency_key, req.fingerprint())
            if earlier is not None:
                return earlier
    if not req.prompt or not req.prompt.strip():
        raise InvalidRequest("prompt must not be empty", param="prompt")
    moderate_prompt(req.prompt)  # ModerationBlocked (400) naming the category; nothing stored yet
    entry = registry.entry(req.model)
    caps = registry.backend(entry.name).capabilities
    if req.task not in caps.tasks:
        raise UnsupportedByBackend(
            f"{entry.name} cannot do {req.task}; it does {', '.join(caps.tasks)}", param="model"
        )

    source, source_seconds, source_size = _source(engine, principal, req)
    image = req.task == "t2i"
    size = req.size or source_size or (DEFAULT_IMAGE_SIZE if image else DEFAULT_VIDEO_SIZE)
    sizing = plan_size(size, caps, entry.name)
    params: dict = {"seed": req.seed, "strength": req.strength}
    params.update(native_width=sizing.native_width, native_height=sizing.native_height)
    if req.task == "extend":
        params["new_seconds"] = parse_seconds(req.seconds or DEFAULT_SECONDS, caps, entry.name)
        total = source_seconds + params["new_seconds"]
    elif image:
        total = 0.0
    else:
        total = parse_seconds(req.seconds or source_seconds or DEFAULT_SECONDS, caps, entry.name)

    summary = RequestSummary(
        model=entry.name, width=sizing.width, height=sizing.height, seconds=total, task=req.task
    )
    job_id = new_video_id()
    try:
        with transaction(engine, immediate=True) as s:
            if idempotency_key:
                earlier = store.find_idempotent(s, principal.account_id, idempotency_key, req.fingerprint())
                if earlier is not None:
                    return earlier
                store.remember_idempotent(s, principal.account_id, idempotency_key, req.fingerprint(), job_id)
            # Refusals (403/402/429) roll back everything; credits are held only with the job row.
            admission = admit(s, principal, summary, job_id)
            params["watermark"] = admission.watermark
            _store_inputs(blobs, req, source, job_id, params)
            details = {"generated_size": sizing.native_size, "resized": str(sizing.resized).lower()}
            return store.add_job(
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
            )
    except BaseException:
        blobs.delete_prefix(f"inputs/{job_id}")
        raise


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


def _source(engine: Engine, principal: Principal, req: VideoRequest) -> tuple[Job | None, float, str | None]:
    """The job (or checked upload) a remix, edit or extension starts from, and its duration."""
    if req.reference is not None:
        media.probe(req.reference, param="input_reference")
    if req.source_video_id:
        with transaction(engine) as s:
            job = store.get_completed_job(s, principal.account_id, req.source_video_id, param="video")
        return job, float(job.seconds), job.size
    if req.source_upload is not None:
        info = media.probe(req.source_upload, param="video")
        if info.kind != "video":
            raise InvalidRequest("video must be an MP4 video, not an image", param="video")
        seconds = info.frames / info.fps if info.fps else float(info.duration or 0)
        if info.fps and abs(seconds - round(seconds)) <= 1.01 / info.fps:
            seconds = float(round(seconds))  # a clip of n seconds often carries one frame more
        return None, seconds, f"{info.width}x{info.height}"
    if req.task in SOURCE_TASKS:
        raise InvalidRequest(
            f"{req.task} needs a source video: send video={{'id': ...}} or a file", param="video"
        )
    return None, 0.0, None
