"""`/v1/images/generations`: an image is a one-frame video job; the request waits for it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from zoetrope.access.keys import Principal
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.forms import read_body
from zoetrope.api.routes.videos import LANE_FIELD, quote, wants_quote
from zoetrope.api.schemas import ImageData, ImagesResponse
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest, ModelUnavailable, ZoetropeError
from zoetrope.jobs import store, submit
from zoetrope.jobs.models import IdempotencyKey
from zoetrope.jobs.request import (
    MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_PROMPT_CHARS,
    VideoRequest,
    check_idempotency_key,
)
from zoetrope.jobs.worker import signal_cancel

router = APIRouter(prefix="/v1/images", tags=["images"])
MAX_IMAGES = 4
WAIT_SECONDS = 300.0
# An Idempotency-Key is remembered for the whole request under the key itself, with the hash of the
# whole body (`n` included) and this in place of a job id (no job has it); each image's job is
# remembered under its own key (`_image_key`), as a video's is.
REQUEST_RECORD = "images"

# The route reads its body itself (`read_body`, so every refusal is OpenAI's 400 naming the
# field); this is what it reads, for the spec's readers.
_BODY = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "prompt": {"type": "string", "maxLength": MAX_PROMPT_CHARS},
        "model": {"type": "string", "description": "a model of GET /v1/models (default: the first)"},
        "n": {"type": "integer", "minimum": 1, "maximum": MAX_IMAGES, "default": 1},
        "size": {"type": "string", "description": "WIDTHxHEIGHT or auto", "default": "auto"},
        "seed": {"type": "integer", "description": "image i of n uses seed + i"},
        "lane": LANE_FIELD,
        "response_format": {"type": "string", "enum": ["b64_json"], "default": "b64_json"},
        "output_format": {"type": "string", "enum": ["png"], "default": "png"},
    },
}
_SPEC = {"requestBody": {"required": True, "content": {"application/json": {"schema": _BODY}}}}


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


def _image_key(key: str, i: int) -> str:
    """Image `i`'s own Idempotency-Key: the client's with `:i`, or where that would be longer than
    a key can be, its digest with `:i`."""
    own = f"{key}:{i}"
    if len(own) <= MAX_IDEMPOTENCY_KEY_CHARS:
        return own
    return f"sha256:{hashlib.sha256(key.encode()).hexdigest()}:{i}"


def _withdraw(svc: Services, account_id: str, job_ids: list[str], *, key: str | None = None) -> None:
    """Withdraw these jobs of the request; with `key`, forget the request's record of it too."""
    if job_ids or key:
        with transaction(svc.engine, immediate=True) as s:
            store.withdraw_jobs(s, account_id, job_ids)
            if key:
                s.execute(
                    delete(IdempotencyKey).where(
                        IdempotencyKey.account_id == account_id,
                        IdempotencyKey.key == key,
                        IdempotencyKey.job_id == REQUEST_RECORD,
                    )
                )
        for job_id in job_ids:
            signal_cancel(job_id)


def _request_hash(reqs: list[VideoRequest]) -> str:
    """What an images request's Idempotency-Key is checked against: every image's request, so `n` too."""
    whole = {"n": len(reqs), "images": [req.fingerprint() for req in reqs]}
    return hashlib.sha256(json.dumps(whole, sort_keys=True).encode()).hexdigest()


def _bind_key(svc: Services, account_id: str, key: str, request_hash: str) -> bool:
    """Remember that `key` is this request's before any image is queued; True when this call did, False
    when an earlier request with the same body had. A 409 (nothing written) if its body differed."""
    while True:
        try:
            with transaction(svc.engine, immediate=True) as s:
                bound = s.scalar(
                    select(IdempotencyKey.seq).where(
                        IdempotencyKey.account_id == account_id, IdempotencyKey.key == key
                    )
                )
                if bound is not None:
                    store.find_idempotent(s, account_id, key, request_hash)  # Conflict if another body
                    return False
                store.remember_idempotent(s, account_id, key, request_hash, REQUEST_RECORD)
                return True
        except IntegrityError:  # a concurrent request with this key remembered it first: check against it
            continue


@router.post("/generations", response_model=ImagesResponse, openapi_extra=_SPEC)
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
    size = body.text("size")
    size = None if size == "auto" else size  # gpt-image's default: Zoetrope's default image size
    model = body.text("model") or svc.registry.model_names()[0]
    seed = body.integer("seed")
    lane = body.text("lane")
    if wants_quote(request):
        req = VideoRequest(
            prompt=body.text("prompt", required=True) or "", model=model, size=size, task="t2i", lane=lane
        )
        return await quote(svc, who, req, count=n)  # each image is a job of its own, priced alone
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
    bound = False  # whether this request remembered the Idempotency-Key (and forgets it if refused)
    if idempotency_key:  # checked against the whole body before any image is queued: a 409 writes nothing
        bound = await run_in_threadpool(_bind_key, svc, who.account_id, idempotency_key, _request_hash(reqs))
    jobs, made = [], []  # every image's job; those this request made (not an Idempotency-Key's earlier ones)
    try:
        for i, req in enumerate(reqs):
            key = _image_key(idempotency_key, i) if idempotency_key else None
            done = await run_in_threadpool(
                submit.submit_once, svc.engine, svc.registry, svc.blobs, who, req, idempotency_key=key
            )
            jobs.append(done.job)
            if done.new:
                made.append(done.job.id)
    except Exception:
        # One request, one answer: images this request queued are withdrawn and their credits
        # released, so a refusal of the third image (a plan's concurrency, say) charges nothing.
        # An image an earlier request with the same key made (and paid for) stays.
        await run_in_threadpool(_withdraw, svc, who.account_id, made, key=idempotency_key if bound else None)
        raise
    waited = await asyncio.gather(*(_wait(svc, who.account_id, j.id) for j in jobs), return_exceptions=True)
    images = [w for w in waited if not isinstance(w, BaseException)]
    # An image that failed (its output blocked, say) released its credits; one still unfinished
    # when the wait ran out is withdrawn, so nothing is charged that this answer does not hold.
    late = [
        j.id for j, w in zip(jobs, waited, strict=True) if isinstance(w, ModelUnavailable) and j.id in made
    ]
    await run_in_threadpool(_withdraw, svc, who.account_id, late)
    if not images:  # not one made: the first image's error is the answer
        raise next(w for w in waited if isinstance(w, BaseException))
    return ImagesResponse(
        created=int(time.time()),
        data=[ImageData(b64_json=base64.b64encode(png).decode()) for png, _ in images],  # those made
        output_format="png",
        size=images[0][1],
    )
