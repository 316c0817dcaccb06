"""`/v1/videos`: create, list, retrieve, delete, content, remix, extensions, edits."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from zoetrope.access import ledger
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import Principal
from zoetrope.access.pricing import Charge, charge_for
from zoetrope.access.usage import today_utc
from zoetrope.api.bodies import CREATE_VIDEO, EDIT_VIDEO, EXTEND_VIDEO, REMIX_VIDEO, refusal
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.forms import Body, read_body
from zoetrope.api.numbers import PlainInt
from zoetrope.api.schemas import Video, VideoDeleted, VideoList, VideoQuote, respond
from zoetrope.config import get_config
from zoetrope.db import single_read, transaction, within_deadline
from zoetrope.errors import InvalidRequest, NotFound, StorageUnavailable
from zoetrope.jobs import store, submit
from zoetrope.jobs.content import open_content
from zoetrope.jobs.request import VideoRequest
from zoetrope.jobs.sizes import seconds_str
from zoetrope.jobs.worker import signal_cancel

router = APIRouter(prefix="/v1/videos", tags=["videos"])
# The `openai` client's create_and_poll waits this long between polls (it defaults to 1 s).
POLL_AFTER_MS = "250"

QUOTE_HEADER = "zoetrope-quote"  # `Zoetrope-Quote: true` on any create: its price, nothing queued


def wants_quote(request: Request | None) -> bool:
    return request is not None and request.headers.get(QUOTE_HEADER, "").lower() in ("1", "true")


async def quote(
    svc: Services, who: Principal, req: VideoRequest, count: int = 1, key: str | None = None
) -> Response:
    """What `count` creates of `req` would cost, refused as a create would be (its plan, model and
    size checks, its `Idempotency-Key` header's form); nothing is queued, charged or moderated."""
    summary = (
        await run_in_threadpool(
            submit.submit_once, svc.engine, svc.registry, svc.blobs, who, req, idempotency_key=key, quote=True
        )
    ).summary
    lane = summary.lane or who.plan.lane
    charge = await run_in_threadpool(_plan_charge, svc, who, summary, lane, count)
    return respond(
        VideoQuote(
            model=summary.model,
            size=f"{summary.width}x{summary.height}",
            seconds=seconds_str(summary.seconds),
            credits=charge.credits,
            points=charge.points,
            lane=lane,
        )
    )


def _plan_charge(svc: Services, who: Principal, summary: RequestSummary, lane: str, count: int) -> Charge:
    """What `count` creates of `summary` take on the caller's plan in `lane`: list-price credits on a
    plan that pays in credits (each create priced alone), none on a free plan, whose fast lane costs
    points once the free fast generations left now are used."""
    config, plan = get_config(), who.plan
    if not plan.free_generations:
        return Charge(credits=count * charge_for(config, plan, summary, lane).credits)
    fast_used = 0
    if lane == "fast":
        with transaction(svc.engine) as s:
            fast_used = ledger.fast_generations_used(s, who.account_id, plan, today_utc())
    return charge_for(config, plan, replace(summary, n=summary.n * count), lane, fast_used)


async def queue_video(
    svc: Services, who: Principal, req: VideoRequest, key: str | None, request: Request | None = None
) -> Response:
    """Submit `req` for `who` and answer with the queued video object (the path every create takes);
    with `Zoetrope-Quote: true`, answer with what it would cost instead (refusals as a create's)."""
    if wants_quote(request):
        return await quote(svc, who, req, key=key)
    # Submitting moderates the prompt (a model) and writes the database: off the event loop.
    job = await run_in_threadpool(
        submit.submit, svc.engine, svc.registry, svc.blobs, who, req, idempotency_key=key
    )
    return respond(Video.of(job))


def body_request(
    body: Body, task: str, *, prompt: str | None = None, seconds: str | None = None, **kw
) -> VideoRequest:
    """The request a create-like body asks for; `prompt` and `seconds` override the body's."""
    return VideoRequest(
        prompt=prompt if prompt is not None else body.text("prompt", required=True) or "",
        model=body.text("model"),  # None: the source video's model, else the default
        seconds=seconds if seconds is not None else body.text("seconds"),
        size=body.text("size"),
        task=task,
        seed=body.integer("seed"),
        lane=body.text("lane"),  # None: the plan's default lane
        strength=body.number("strength"),
        strength_end=body.number("strength_end"),
        **kw,
    )


@router.post("", response_model=Video | VideoQuote, openapi_extra=CREATE_VIDEO)
async def create_video(
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> Response:
    body = await read_body(request)
    nested = any(name.startswith("input_reference[") for name in body.fields)  # a form's input_reference[image_url]
    if body.fields.get("input_reference") not in (None, "") or nested:  # text or JSON where a file belongs
        raise InvalidRequest(
            "input_reference must be an image file uploaded as multipart/form-data, not a text field",
            param="input_reference",
        )
    # Unknown text fields are let through (OpenAI may add some), but an upload left unread is always a mistake.
    if stray := sorted(set(body.files) - {"input_reference"}):
        raise InvalidRequest(
            f"{stray[0]} is not a file POST /v1/videos takes: send the image to animate as input_reference",
            param=stray[0],
        )
    req = body_request(body, "t2v", reference=body.files.get("input_reference"))
    return await queue_video(svc, who, req, idempotency_key, request)


@router.get("", response_model=VideoList)
def list_videos(
    after: str | None = None,
    limit: Annotated[PlainInt, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
) -> Response:
    with transaction(svc.engine) as s:
        page = store.list_jobs(s, who.account_id, after=after, limit=limit, order=order)
    data = [Video.of(j) for j in page.jobs]
    return respond(
        VideoList(
            data=data,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
            has_more=page.has_more,
        )
    )


@router.post("/extensions", response_model=Video | VideoQuote, openapi_extra=EXTEND_VIDEO)
async def extend_video(
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> Response:
    body = await read_body(request)
    direction = body.text("direction") or "forward"
    if direction not in ("forward", "backward"):
        raise InvalidRequest(
            f"direction must be 'forward' or 'backward', not {direction!r}", param="direction"
        )
    task = "extend_backward" if direction == "backward" else "extend"
    ref, upload = body.source("video")
    req = body_request(body, task, source_video_id=ref, source_upload=upload)
    return await queue_video(svc, who, req, idempotency_key, request)


@router.post("/edits", response_model=Video | VideoQuote, openapi_extra=EDIT_VIDEO)
async def edit_video(
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> Response:
    body = await read_body(request)
    ref, upload = body.source("video")
    req = body_request(body, "remix", source_video_id=ref, source_upload=upload, remix_of=ref)
    return await queue_video(svc, who, req, idempotency_key, request)


# The `openai` client's create_character and get_character: a NotFoundError that says so, rather
# than a 405 (`/v1/videos/characters` read as a video id, which takes GET and DELETE) or a bare 404.
@router.post("/characters", include_in_schema=False)
@router.get("/characters/{character_id}", include_in_schema=False)
def characters(_: Principal = Depends(principal)) -> Response:
    raise NotFound(
        "video characters are not supported by this server: create videos with POST /v1/videos "
        "(an image to animate goes in input_reference)",
        code="unsupported_endpoint",
    )


def _read_video(engine, account_id: str, video_id: str):
    with single_read(engine) as conn:
        return store.get_video(conn, account_id, video_id)


# Retrieve is the hot path (clients poll it): one indexed read, with the services taken from the
# app rather than as a dependency (FastAPI rebuilds every dependency's signature on each request
# once the studio overrides `principal`). The read runs in the threadpool, under a deadline: a
# database that stalls must not stop the event loop, and with it every other route.
@router.get("/{video_id}", response_model=Video)
async def retrieve_video(video_id: str, request: Request, who: Principal = Depends(principal)) -> Response:
    svc: Services = request.app.state.services
    video = await within_deadline(_read_video, svc.engine, who.account_id, video_id)
    running = video.status in ("queued", "in_progress")
    return respond(Video.of(video), headers={"openai-poll-after-ms": POLL_AFTER_MS} if running else None)


@router.delete("/{video_id}", response_model=VideoDeleted)
def delete_video(
    video_id: str, svc: Services = Depends(services), who: Principal = Depends(principal)
) -> Response:
    with transaction(svc.engine) as s:  # another account's, or gone: 404 before anything is removed
        job_id = store.get_job(s, who.account_id, video_id).id
    # The files go first: while the store is away this answers 503 and the video stays, so the
    # client's retry removes both, never the video without its files.
    _delete_files(svc, job_id)
    with transaction(svc.engine, immediate=True) as s:
        job = store.delete_job(s, who.account_id, video_id)
    signal_cancel(job.id)
    with suppress(StorageUnavailable):  # a running attempt's files: its worker removes them too
        _delete_files(svc, job.id)
    return respond(VideoDeleted(id=job.id))


def _delete_files(svc: Services, job_id: str) -> None:
    svc.blobs.delete_prefix(f"videos/{job_id}")
    svc.blobs.delete_prefix(f"inputs/{job_id}")


@router.post("/{video_id}/remix", response_model=Video | VideoQuote, openapi_extra=REMIX_VIDEO)
async def remix_video(
    video_id: str,
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> Response:
    body = await read_body(request)
    req = body_request(body, "remix", source_video_id=video_id, source_param="video_id", remix_of=video_id)
    return await queue_video(svc, who, req, idempotency_key, request)


_FILE = {"schema": {"type": "string", "format": "binary"}}
_CONTENT = {  # the video's MP4 (an image job's PNG), the WebP thumbnail, the JPEG spritesheet
    "content": {kind: _FILE for kind in ("video/mp4", "image/png", "image/webp", "image/jpeg")},
    "headers": {"ETag": {"schema": {"type": "string"}}, "Accept-Ranges": {"schema": {"type": "string"}}},
}
_CONTENT_RESPONSES = {
    200: {"description": "The whole file", **_CONTENT},
    206: {"description": "The range asked for; Content-Range says which", **_CONTENT},
    304: {"description": "If-None-Match holds the file's ETag: the copy the client has is this file"},
    416: refusal("The range starts past the end of the file; Content-Range says its size"),
}


@router.get("/{video_id}/content", response_class=StreamingResponse, responses=_CONTENT_RESPONSES)
def download_content(
    video_id: str,
    request: Request,
    variant: Literal["video", "thumbnail", "spritesheet"] = "video",
    range: str | None = Header(None),
    if_range: str | None = Header(None),
    if_none_match: str | None = Header(None),
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
) -> StreamingResponse:
    with transaction(svc.engine) as s:
        job = store.get_job(s, who.account_id, video_id)
    content = open_content(
        svc.blobs,
        job,
        variant,
        range,
        body=request.method != "HEAD",
        if_range=if_range,
        if_none_match=if_none_match,
    )
    return StreamingResponse(
        content.chunks, status_code=content.status, media_type=content.media_type, headers=content.headers
    )


# HEAD answers as GET would, without the bytes (players and download managers ask for the size first).
router.head("/{video_id}/content", include_in_schema=False)(download_content)
