"""The submit service: a request in the client's terms becomes a queued job, or a clear 4xx.

Order of checks: whether the prompt may run (safety: prompt moderation, before anything is
stored), what the model can (backend capabilities, sizes), then one transaction in which access
admits the job (eligibility, entitlement, concurrency, quota, credits reserved) and it is inserted
(`zoetrope.jobs.enqueue`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NoReturn

from sqlalchemy import Engine

from zoetrope.access.admission import check_model_allowed
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.entitlements import check_request as check_plan
from zoetrope.access.keys import Principal
from zoetrope.backends.base import Capabilities, StoryCard
from zoetrope.backends.checks import ResultTooLong, check_seed
from zoetrope.backends.registry import Registry
from zoetrope.config import Plan, get_config
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest, UnsupportedByBackend
from zoetrope.jobs import store
from zoetrope.jobs.enqueue import Checked, Ready, Submitted, Submitter, queue
from zoetrope.jobs.footage import KEEPS_SOURCE, Length, blend_target, find_source, measure, naming_source
from zoetrope.jobs.models import Job, new_video_id
from zoetrope.jobs.moderation import moderate
from zoetrope.jobs.request import (
    DEFAULT_MODEL,
    MAX_BOARD_CHARS,
    VideoRequest,
    check_idempotency_key,
    check_lane,
    check_length,
    story_cards,
    unicode_text,
)
from zoetrope.jobs.sizes import SizePlan, default_size, plan_size, size_for_source
from zoetrope.storage import BlobStore

DEFAULT_VIDEO_SIZE = "720x1280"
DEFAULT_IMAGE_SIZE = "1024x1024"


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
    sub = Submitter(engine, registry, blobs, principal)
    ready = prepare(sub, req, idempotency_key=idempotency_key, quote=quote)
    if isinstance(ready, Submitted):
        return ready
    return queue(sub, [ready], keyed=bool(idempotency_key))[0]


def prepare(
    sub: Submitter, req: VideoRequest, *, idempotency_key: str | None = None, quote: bool = False
) -> Submitted | Ready:
    """Every check of `req` (moderation last), and the write that queues its job; a Submitted when
    nothing is to be written (a quote, or the job an earlier request with this key made)."""
    check_idempotency_key(idempotency_key)  # before anything is read or stored under it
    # The request as the client sent it, before the defaults and the task below are filled in: what
    # a retry with the same key and body hashes to. Only a keyed request is compared by it: a create
    # without a key does not hash every field (an upload's bytes too) for nothing.
    fingerprint = req.fingerprint() if idempotency_key else ""
    if idempotency_key and not quote:
        with transaction(sub.engine) as s:
            earlier = store.find_idempotent(s, sub.principal.account_id, idempotency_key, fingerprint)
            if earlier is not None:
                return Submitted(earlier, False)
    checked = _check(sub, req)
    if quote:  # the plan's own limits too (its funds and free slots are the moment's, not the price's)
        check_model_allowed(sub.principal, checked.summary.model)
        with naming_source(checked.req):
            check_plan(get_config(), sub.principal.plan, checked.summary)
        return Submitted(None, False, checked.summary)
    # Last of the checks, as it is the dearest; ModerationBlocked (400) names the category and the
    # field, and nothing is stored yet.
    _moderate(checked.req, checked.cards, checked.source.job)
    return Ready(sub, checked, new_video_id(), idempotency_key, fingerprint)


def _check(sub: Submitter, req: VideoRequest) -> Checked:
    """Every check of `req` but moderation, in the order a client meets them: the request's own
    fields, its source, the model, the size, the length (the plan's refusal before the model's)."""
    check_lane(req.lane)
    if req.task == "t2v" and req.reference is not None:
        # An image to animate: image to video for every check (the model's tasks, the plan's), as the
        # worker makes it; not text to video with its image dropped or refused only at render.
        req = replace(req, task="i2v")
    cards = _check_prompts(req)
    source = find_source(sub.engine, sub.principal, req, _upload_fps(sub.registry, req))
    req = _with_model(sub.registry, req, source.job)
    entry = sub.registry.entry(req.model)
    caps = sub.registry.backend(entry.name).capabilities
    _check_task(sub, req, entry.name, caps)
    target = blend_target(sub.engine, sub.principal, req)
    sizing = _size(req, caps, entry.name, source.size, sub.principal.plan.max_resolution)
    length = measure(req, caps, entry.name, sizing, source, target, cards)
    summary = _summary(req, entry.name, caps, sizing, length)
    if length.too_long is not None:
        _refuse_too_long(sub.principal.plan, req, summary, length.too_long)
    return Checked(req, sizing, length, summary, cards, source, target)


def _summary(
    req: VideoRequest, model: str, caps: Capabilities, sizing: SizePlan, length: Length
) -> RequestSummary:
    """What the plan admits and credits charge the job for."""
    return RequestSummary(
        model=model,
        width=sizing.width,
        height=sizing.height,
        seconds=length.total,
        task=req.task,
        lane=req.lane,
        # Of a task that keeps source footage, only the new footage is generated, and charged.
        new_seconds=length.new if req.task in KEEPS_SOURCE else None,
        source_seconds=length.kept,
        fps=caps.fps,  # new footage comes in whole steps of frames: what the plan may suggest adding
    )


def _check_prompts(req: VideoRequest) -> tuple[StoryCard, ...]:
    """The storyboard's cards, once every prompt of `req` can be stored and read: not empty, valid
    Unicode, within the length limits (and its seed, in the order clients have met these refusals)."""
    if not req.prompt or not req.prompt.strip():
        raise InvalidRequest("prompt must not be empty", param="prompt")
    unicode_text(req.prompt, "prompt")
    check_seed(req.seed)  # t2v and t2i reach check_request only in the worker
    cards = story_cards(req.options or {})
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
    return cards


def _upload_fps(registry: Registry, req: VideoRequest) -> float | None:
    """The rate an upload is read at: it is made by the model asked, else the default."""
    if req.source_upload is None:
        return None
    return registry.backend(registry.entry(req.model or DEFAULT_MODEL).name).capabilities.fps


def _with_model(registry: Registry, req: VideoRequest, source: Job | None) -> VideoRequest:
    """`req` with its model named: the one asked, else its source's (a Wan clip is extended by Wan),
    else the default by its own name, as the quote shows it, not by the alias that routes to it."""
    if req.model is not None:
        return req
    return replace(req, model=source.model if source is not None else registry.entry(DEFAULT_MODEL).name)


def _check_task(sub: Submitter, req: VideoRequest, model: str, caps: Capabilities) -> None:
    """A 400 when `model` cannot do the task asked, naming the models that can animate an image."""
    if req.task in caps.tasks:
        return
    if req.task == "i2v":
        able = _models_that_do(sub.registry, "i2v", sub.principal)
        hint = f"ask for {' or '.join(able)}, or" if able else "no model on this server can;"
        raise UnsupportedByBackend(
            f"{model} cannot animate an image (input_reference); {hint} leave input_reference out",
            param="input_reference",
        )
    raise UnsupportedByBackend(
        f"{model} cannot do {req.task}; it does {', '.join(caps.tasks)}", param="model"
    )


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


def _size(
    req: VideoRequest, caps: Capabilities, model: str, source_size: str | None, max_resolution: int | None
) -> SizePlan:
    """The size asked, else the source's (or the nearest the model makes), else the default's
    aspect: not a default of another shape, and no larger than the plan makes."""
    image = req.task == "t2i"
    if req.size:
        size = req.size
    elif source_size:  # no larger than the plan makes: not a refusal about a size the client never sent
        size = size_for_source(*map(int, source_size.split("x")), caps, max_resolution)
    else:  # the default's aspect where the model makes it, no larger than the plan allows
        size = default_size(DEFAULT_IMAGE_SIZE if image else DEFAULT_VIDEO_SIZE, caps, max_resolution)
    sizing = plan_size(size, caps, model)
    if not image and (sizing.width % 2 or sizing.height % 2):  # the file would be a pixel larger than it says
        raise InvalidRequest(
            f"size {size}: a video's sides must be even (H.264 4:2:0); ask for "
            f"{sizing.width + sizing.width % 2}x{sizing.height + sizing.height % 2}",
            param="size",
        )
    return sizing


def _refuse_too_long(
    plan: Plan, req: VideoRequest, summary: RequestSummary, too_long: ResultTooLong
) -> NoReturn:
    """The model's refusal of the length, or the plan's where the plan's limit is the lower."""
    if plan.max_seconds is not None and plan.max_seconds < too_long.limit:
        # Over the model's limit and the plan's lower one: the plan's refusal (403) says what it
        # accepts; the model's ("add at most 58 s") would only be refused again by the plan.
        with naming_source(req):
            check_plan(get_config(), plan, summary)
    raise too_long


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
