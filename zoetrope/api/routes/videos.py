"""`/v1/videos`: create, list, retrieve, delete, content, remix, extensions, edits."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from zoetrope.access import ledger
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import Principal
from zoetrope.access.pricing import Charge, charge_for
from zoetrope.access.usage import today_utc
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.forms import Body, read_body
from zoetrope.api.schemas import Video, VideoDeleted, VideoList, respond
from zoetrope.config import get_config
from zoetrope.db import single_read, transaction
from zoetrope.errors import InvalidRequest
from zoetrope.jobs import store, submit
from zoetrope.jobs.content import open_content
from zoetrope.jobs.request import LANES, VideoRequest
from zoetrope.jobs.sizes import seconds_str
from zoetrope.jobs.worker import signal_cancel

router = APIRouter(prefix="/v1/videos", tags=["videos"])
# The `openai` client's create_and_poll waits this long between polls (it defaults to 1 s).
POLL_AFTER_MS = "250"

# Zoetrope's fields beside OpenAI's, on every create (the rest are read by `read_body`).
LANE_FIELD = {
    "type": "string",
    "enum": list(LANES),
    "description": "the queue lane to run in, if the plan has it (403 lane_not_in_plan otherwise); "
    "left out: the plan's default lane",
}
_CREATE_SCHEMA = {"type": "object", "properties": {"lane": LANE_FIELD}}
_FORM = {
    "requestBody": {
        "content": {
            "multipart/form-data": {"schema": _CREATE_SCHEMA},
            "application/json": {"schema": _CREATE_SCHEMA},
        }
    }
}


QUOTE_HEADER = "zoetrope-quote"  # `Zoetrope-Quote: true` on any create: its price, nothing queued


def wants_quote(request: Request | None) -> bool:
    return request is not None and request.headers.get(QUOTE_HEADER, "").lower() in ("1", "true")


async def quote(
    svc: Services, who: Principal, req: VideoRequest, count: int = 1, key: str | None = None
) -> JSONResponse:
    """What `count` creates of `req` would cost, refused as a create would be (its plan, model and
    size checks, its `Idempotency-Key` header's form); nothing is queued, charged or moderated."""
    summary = (
        await run_in_threadpool(
            submit.submit_once, svc.engine, svc.registry, svc.blobs, who, req, idempotency_key=key, quote=True
        )
    ).summary
    lane = summary.lane or who.plan.lane
    charge = await run_in_threadpool(_plan_charge, svc, who, summary, lane, count)
    return JSONResponse(
        {
            "object": "video.quote",
            "model": summary.model,
            "size": f"{summary.width}x{summary.height}",
            "seconds": seconds_str(summary.seconds),
            "credits": charge.credits,
            "points": charge.points,
            "lane": lane,
        }
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


@router.post("", response_model=Video, openapi_extra=_FORM)
async def create_video(
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> Response:
    body = await read_body(request)
    if body.fields.get("input_reference") not in (None, ""):  # text or JSON where a file belongs
        raise InvalidRequest(
            "input_reference must be an image file uploaded as multipart/form-data, not a text field",
            param="input_reference",
        )
    req = body_request(body, "t2v", reference=body.files.get("input_reference"))
    return await queue_video(svc, who, req, idempotency_key, request)


@router.get("", response_model=VideoList)
def list_videos(
    after: str | None = None,
    limit: int = Query(20, ge=1, le=100),
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


@router.post("/extensions", response_model=Video, openapi_extra=_FORM)
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


@router.post("/edits", response_model=Video, openapi_extra=_FORM)
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


# Retrieve is the hot path (clients poll it): one indexed read, done on the event loop to spare
# the threadpool hop, and the services taken from the app rather than as a dependency (FastAPI
# rebuilds every dependency's signature on each request once the studio overrides `principal`).
@router.get("/{video_id}", response_model=Video)
async def retrieve_video(video_id: str, request: Request, who: Principal = Depends(principal)) -> Response:
    svc: Services = request.app.state.services
    with single_read(svc.engine) as conn:
        video = store.get_video(conn, who.account_id, video_id)
    running = video.status in ("queued", "in_progress")
    return respond(Video.of(video), headers={"openai-poll-after-ms": POLL_AFTER_MS} if running else None)


@router.delete("/{video_id}", response_model=VideoDeleted)
def delete_video(
    video_id: str, svc: Services = Depends(services), who: Principal = Depends(principal)
) -> Response:
    with transaction(svc.engine, immediate=True) as s:
        job = store.delete_job(s, who.account_id, video_id)
    signal_cancel(job.id)
    svc.blobs.delete_prefix(f"videos/{job.id}")
    svc.blobs.delete_prefix(f"inputs/{job.id}")
    return respond(VideoDeleted(id=job.id))


@router.post("/{video_id}/remix", response_model=Video, openapi_extra=_FORM)
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


@router.get("/{video_id}/content", response_class=StreamingResponse)
def download_content(
    video_id: str,
    request: Request,
    variant: Literal["video", "thumbnail", "spritesheet"] = "video",
    range: str | None = Header(None),
    if_range: str | None = Header(None),
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
) -> StreamingResponse:
    with transaction(svc.engine) as s:
        job = store.get_job(s, who.account_id, video_id)
    content = open_content(svc.blobs, job, variant, range, body=request.method != "HEAD", if_range=if_range)
    return StreamingResponse(
        content.chunks, status_code=content.status, media_type=content.media_type, headers=content.headers
    )


# HEAD answers as GET would, without the bytes (players and download managers ask for the size first).
router.head("/{video_id}/content", include_in_schema=False)(download_content)
