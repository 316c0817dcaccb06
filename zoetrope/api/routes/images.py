"""`/v1/images/generations`: an image is a one-frame video job; the request waits for it."""

from __future__ import annotations

import asyncio
import base64
import time

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select

from zoetrope.access.keys import Principal
from zoetrope.api.bodies import LANE_FIELD, PROMPT, create_body
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.forms import Body, read_body
from zoetrope.api.routes.videos import quote, wants_quote
from zoetrope.api.schemas import ImageData, ImagesResponse, VideoQuote
from zoetrope.backends.base import revised_prompt
from zoetrope.backends.checks import MAX_SEED
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest, ModelUnavailable, NotFound, ZoetropeError
from zoetrope.jobs import batch, store
from zoetrope.jobs.models import COMPLETED, Job
from zoetrope.jobs.request import VideoRequest, check_idempotency_key
from zoetrope.jobs.worker import signal_cancel

router = APIRouter(prefix="/v1/images", tags=["images"])
MAX_IMAGES = 4
WAIT_SECONDS = 300.0

# The route reads its body itself (`read_body`, so every refusal is OpenAI's 400 naming the
# field); this is what it reads, for the spec's readers.
_BODY = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "prompt": PROMPT,
        "model": {"type": "string", "description": "a model of GET /v1/models (default: the first)"},
        "n": {"type": "integer", "minimum": 1, "maximum": MAX_IMAGES, "default": 1},
        "size": {"type": "string", "description": "WIDTHxHEIGHT or auto", "default": "auto"},
        "seed": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_SEED - (MAX_IMAGES - 1),
            "description": "image i takes seed + i",
        },
        "lane": LANE_FIELD,
        "response_format": {"type": "string", "enum": ["b64_json"], "default": "b64_json"},
        "output_format": {"type": "string", "enum": ["png"], "default": "png"},
        "stream": {
            "type": "boolean",
            "enum": [False],
            "default": False,
            "description": "not supported (a 400)",
        },
    },
}
_SPEC = create_body(_BODY["properties"], _BODY["required"])  # JSON or multipart, as `read_body` takes


def _made(svc: Services, account_id: str, job_id: str) -> tuple[bytes, str]:
    """The image of a completed job, and its size."""
    with transaction(svc.engine) as s:
        job = store.get_job(s, account_id, job_id)
    return svc.blobs.get(job.outputs["image"]), job.size


async def _wait(svc: Services, account_id: str, job_id: str) -> tuple[bytes, str]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        with transaction(svc.engine) as s:
            job = store.get_job(s, account_id, job_id)
        if job.status == "completed":
            return svc.blobs.get(job.outputs["image"]), job.size
        if job.status == "failed":
            err = job.error or {}
            raise ZoetropeError(err.get("message", "image generation failed"), code=err.get("code"))
        await asyncio.sleep(0.05)
    raise ModelUnavailable(f"image {job_id} did not finish within {WAIT_SECONDS:g} s; no worker free?")


def _withdraw(svc: Services, account_id: str, job_ids: list[str]) -> set[str]:
    """Withdraw these jobs of the request (their credits released, their keys forgotten), except
    those that completed after the wait gave up on them: those are kept, charged, and answered, and
    their ids returned. Each job's row is locked first, so a worker completing it at this moment has
    either committed (the job is kept) or completes a deleted job, whose credits are already back."""
    if not job_ids:
        return set()
    with transaction(svc.engine, immediate=True) as s:
        rows = s.execute(
            select(Job.id, Job.status)
            .where(Job.id.in_(job_ids), Job.account_id == account_id)
            .with_for_update()
        ).all()
        finished = {job_id for job_id, status in rows if status == COMPLETED}
        store.withdraw_jobs(s, account_id, [j for j in job_ids if j not in finished])
    for job_id in job_ids:
        if job_id not in finished:
            signal_cancel(job_id)
    return finished


def _no_streaming(body: Body) -> None:
    """A 400 for `stream` (and `partial_images`, which only a stream carries): the images come back
    whole in one answer, and a client waiting for events would be charged for an answer it never reads."""
    stream = body.fields.get("stream")
    if stream not in (None, False) and str(stream).lower() not in ("", "false"):
        raise InvalidRequest(
            "stream is not supported: the images come back whole, as b64_json; leave stream out or send false",
            param="stream",
        )
    if body.fields.get("partial_images") not in (None, 0, "", "0"):
        raise InvalidRequest(
            "partial_images needs stream, which is not supported: leave partial_images out",
            param="partial_images",
        )


@router.post("/generations", response_model=ImagesResponse | VideoQuote, openapi_extra=_SPEC)
async def generate_images(
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    idempotency_key: str | None = Header(None),
) -> ImagesResponse | JSONResponse:
    """The images, made while the request waits; with `Zoetrope-Quote: true`, what they would cost
    (a video create's quote object), nothing queued, charged or moderated."""
    check_idempotency_key(idempotency_key)  # the client's key, before image i's are made of it
    body = await read_body(request)
    n = body.integer("n")
    n = 1 if n is None else n
    if not 1 <= n <= MAX_IMAGES:
        raise InvalidRequest(f"n must be between 1 and {MAX_IMAGES}", param="n")
    if (body.text("response_format") or "b64_json") != "b64_json":
        raise InvalidRequest("only response_format='b64_json' is supported", param="response_format")
    if (body.text("output_format") or "png") != "png":
        raise InvalidRequest(
            "only output_format='png' is supported: the PNG carries the image's C2PA manifest",
            param="output_format",
        )
    _no_streaming(body)
    size = body.text("size")
    size = None if size == "auto" else size  # gpt-image's default: Zoetrope's default image size
    model = body.text("model") or svc.registry.model_names()[0]
    seed = body.integer("seed")
    if seed is not None and not 0 <= seed <= MAX_SEED - (n - 1):  # image i takes seed + i
        each = f" with n={n} (image i takes seed + i)" if n > 1 else ""
        raise InvalidRequest(
            f"seed must be between 0 and {MAX_SEED - (n - 1)}{each}, got {seed}", param="seed"
        )
    lane = body.text("lane")
    prompt = body.text("prompt", required=True) or ""
    reqs = [
        VideoRequest(
            prompt=prompt,
            model=model,
            size=size,
            task="t2i",
            seed=None if seed is None else seed + i,
            lane=lane,
        )
        for i in range(n)
    ]
    if wants_quote(request):  # refused as the create would be: image 0's request, priced n times
        return await quote(svc, who, reqs[0], count=n)  # each image is a job of its own, priced alone
    # One request, one answer: the n jobs are queued together or, if one is refused (a plan's
    # concurrency, say), not at all, so a refusal charges nothing and another request with the same
    # Idempotency-Key never answers with an image this one withdrew. The key covers the whole body.
    done = await run_in_threadpool(
        batch.submit_all, svc.engine, svc.registry, svc.blobs, who, reqs, idempotency_key=idempotency_key
    )
    jobs = [d.job for d in done]
    made = {d.job.id for d in done if d.new}  # not an Idempotency-Key's earlier ones, which stay
    waited = await asyncio.gather(*(_wait(svc, who.account_id, j.id) for j in jobs), return_exceptions=True)
    images = [w for w in waited if not isinstance(w, BaseException)]
    # An image that failed (its output blocked, say) released its credits; one still unfinished
    # when the wait ran out is withdrawn, so nothing is charged that this answer does not hold.
    late = [
        j.id for j, w in zip(jobs, waited, strict=True) if isinstance(w, ModelUnavailable) and j.id in made
    ]
    finished = await run_in_threadpool(_withdraw, svc, who.account_id, late)
    for i, job in enumerate(jobs):
        if job.id in finished:  # made just as the wait ran out: charged, so answered
            waited[i] = await run_in_threadpool(_made, svc, who.account_id, job.id)
    images = [w for w in waited if not isinstance(w, BaseException)]
    if not images:  # not one made: the first image's error is the answer
        raise next(w for w in waited if isinstance(w, BaseException))
    # DALL-E 3's field: the words the model was given, where they are not the prompt as typed.
    revised = revised_prompt(svc.registry.backend(model), prompt)
    return ImagesResponse(
        created=int(time.time()),
        data=[ImageData(b64_json=base64.b64encode(png).decode(), revised_prompt=revised) for png, _ in images],
        output_format="png",
        size=images[0][1],
    )


# The `openai` client's images.edit and images.create_variation: a NotFoundError that says so and
# what this server does instead, rather than a bare 404.
@router.post("/edits", include_in_schema=False)
@router.post("/variations", include_in_schema=False)
def unsupported(request: Request, _: Principal = Depends(principal)) -> None:
    what = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    raise NotFound(
        f"image {what} are not supported by this server: make images from a prompt with "
        "POST /v1/images/generations",
        code="unsupported_endpoint",
    )
