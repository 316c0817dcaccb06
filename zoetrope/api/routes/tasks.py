"""`/v1/videos` creative tasks beyond OpenAI's: loop, blend, storyboard, recut.

Each takes a JSON (or form) body, is checked at submit like every other job (a bad input is a 400
naming the field; nothing is stored or charged) and returns the queued video object. Backward
extension is `direction: "backward"` on `/v1/videos/extensions`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response

from zoetrope.access.keys import Principal
from zoetrope.api.bodies import BLEND_VIDEOS, LOOP_VIDEO, RECUT_VIDEO, STORYBOARD
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.forms import Body, read_body
from zoetrope.api.routes.videos import body_request, queue_video
from zoetrope.api.schemas import Video, VideoQuote
from zoetrope.errors import InvalidRequest
from zoetrope.jobs.request import MAX_PROMPT_CHARS

router = APIRouter(prefix="/v1/videos", tags=["creative tasks"])


def _video_id(body: Body, name: str) -> str:
    ref = body.reference_id(name) or body.text(name)
    if not ref:
        raise InvalidRequest(f"missing required parameter {name!r} (a video id)", param=name)
    return ref


@router.post(
    "/{video_id}/loop",
    response_model=Video | VideoQuote,
    summary="Loop a video",
    description="The video, then a `seconds` transition from its end back into its start: played on repeat, "
    "it has no cut.",
    openapi_extra=LOOP_VIDEO,
)
async def loop_video(
    video_id: str,
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> Response:
    body = await read_body(request)
    return await queue_video(svc, who, body_request(body, "loop", source_video_id=video_id, source_param="video_id"), idempotency_key, request)


@router.post(
    "/blends",
    response_model=Video | VideoQuote,
    summary="Blend two videos",
    description="video_a, a `seconds` transition from its end into video_b's start, then video_b. Both must "
    "be your completed videos.",
    openapi_extra=BLEND_VIDEOS,
)
async def blend_videos(
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> Response:
    body = await read_body(request)
    a, b = _video_id(body, "video_a"), _video_id(body, "video_b")
    req = body_request(body, "blend", source_video_id=a, source_param="video_a", options={"target": b})
    return await queue_video(svc, who, req, idempotency_key, request)


@router.post(
    "/storyboards",
    response_model=Video | VideoQuote,
    summary="Generate a video from a storyboard",
    description="Cards (prompt, start second): the first at 0, each later than the one before, all before "
    "`seconds`, the video's total length. `prompt` defaults to the cards' prompts.",
    openapi_extra=STORYBOARD,
)
async def create_storyboard(
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> Response:
    body = await read_body(request)
    cards = body.fields.get("cards")
    if not isinstance(cards, list) or not cards:
        raise InvalidRequest("cards must be a non-empty list of {prompt, start}", param="cards")
    for i, card in enumerate(cards):  # the default prompt is made of the cards': check them first
        if not isinstance(card, dict):
            raise InvalidRequest(f"cards[{i}] must be an object with prompt and start", param=f"cards[{i}]")
        if not isinstance(card.get("prompt"), str) or not card["prompt"].strip():
            raise InvalidRequest(f"cards[{i}].prompt must be a non-empty string", param=f"cards[{i}].prompt")
    # The cards' prompts joined stand for the whole (cut to the prompt limit: each card is checked on its own).
    prompt = body.text("prompt") or " / ".join(card["prompt"] for card in cards)[:MAX_PROMPT_CHARS]
    seconds = body.text("seconds", required=True)
    req = body_request(body, "storyboard", prompt=prompt, seconds=seconds, options={"cards": cards})
    return await queue_video(svc, who, req, idempotency_key, request)


@router.post(
    "/{video_id}/recut",
    response_model=Video | VideoQuote,
    summary="Recut a video",
    description="Keep seconds [start, end) of the video, then (with `extend` > 0) extend the cut by that many "
    "seconds of new footage that follows `prompt`.",
    openapi_extra=RECUT_VIDEO,
)
async def recut_video(
    video_id: str,
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> Response:
    body = await read_body(request)
    start, end = body.number("start"), body.number("end")
    if start is None:
        raise InvalidRequest("missing required parameter 'start' (seconds)", param="start")
    if end is None:
        raise InvalidRequest("missing required parameter 'end' (seconds)", param="end")
    extend = body.number("extend") or 0.0
    req = body_request(
        body, "recut", seconds=f"{extend:g}", source_video_id=video_id, source_param="video_id",
        options={"trim": [start, end]},
    )
    return await queue_video(svc, who, req, idempotency_key, request)
