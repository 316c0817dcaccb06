"""The write that queues a checked request's job: in one transaction with the other jobs of its
request, admitted (credits reserved), its uploads stored and its row inserted; or the job an earlier
request with its Idempotency-Key made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zoetrope.access.admission import Admission, admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import Principal
from zoetrope.backends.base import StoryCard
from zoetrope.backends.registry import Registry
from zoetrope.db import batched_write
from zoetrope.jobs import dispatch, store, webhooks
from zoetrope.jobs.footage import Length, Source, naming_source
from zoetrope.jobs.models import Job
from zoetrope.jobs.request import VideoRequest
from zoetrope.jobs.sizes import SizePlan, seconds_str
from zoetrope.safety import payload_for
from zoetrope.settings import get_settings
from zoetrope.storage import BlobStore


@dataclass(frozen=True)
class Submitter:
    """Who submits, and where their jobs are checked, stored and queued: what every step reads."""

    engine: Engine
    registry: Registry
    blobs: BlobStore
    principal: Principal


class Submitted(NamedTuple):
    job: Job | None  # None for a quote
    new: bool  # False: the job an earlier request with the same Idempotency-Key made
    summary: RequestSummary | None = None  # a quote's: what the job would be charged for


@dataclass(frozen=True)
class Checked:
    """A request that passed every check but moderation: what its job is made of."""

    req: VideoRequest  # with its task and model filled in
    sizing: SizePlan
    length: Length
    summary: RequestSummary
    cards: tuple[StoryCard, ...]
    source: Source
    target: Job | None


@dataclass(frozen=True)
class Ready:
    """A request checked and moderated: its job's id, and the write that queues it (or answers the
    job an earlier request with its Idempotency-Key made)."""

    sub: Submitter
    checked: Checked
    job_id: str
    idempotency_key: str | None
    fingerprint: str

    def write(self, s: Session) -> Submitted:
        """The job, admitted and inserted in `s`; or the one an earlier request with this key made."""
        account_id, key = self.sub.principal.account_id, self.idempotency_key
        if key:
            earlier = store.find_idempotent(s, account_id, key, self.fingerprint)
            if earlier is not None:
                return Submitted(earlier, False)
            store.remember_idempotent(s, account_id, key, self.fingerprint, self.job_id)
        # Refusals (403/402/429) roll back all of this submit, and the other jobs of its request
        # (their savepoint); credits are held only with the job row.
        with naming_source(self.checked.req):
            admission = admit(s, self.sub.principal, self.checked.summary, self.job_id)
        params = self._params(admission.watermark)
        self._store_inputs(params)
        if self.checked.target is not None:
            params["target_key"] = self.checked.target.outputs["video"]
        dispatch.announce(s)
        return Submitted(store.insert_job(s, self._job(admission, params)), True)

    def _params(self, watermark: bool) -> dict:
        """The job's `params`: what the worker reads of the request beside its prompt and size."""
        req, checked = self.checked.req, self.checked
        params: dict = {"seed": req.seed, "strength": req.strength}
        if req.strength_end is not None:
            params["strength_end"] = req.strength_end
        params.update(native_width=checked.sizing.native_width, native_height=checked.sizing.native_height)
        webhooks.record_target(params)  # the event goes where this process says, whichever worker finishes
        if req.options:
            params["options"] = dict(req.options)
        if checked.length.new is not None:
            params["new_seconds"] = checked.length.new
        params["watermark"] = watermark
        return params

    def _store_inputs(self, params: dict) -> None:
        """Write the request's uploads (only once the job is admitted) and name them in `params`."""
        req, source = self.checked.req, self.checked.source.job
        if source is not None:
            params["source_key"] = source.outputs["video"]
        elif req.source_upload is not None:
            params["source_key"] = f"inputs/{self.job_id}/source.mp4"
            self.sub.blobs.put(params["source_key"], req.source_upload)
        if req.reference is not None:
            params["reference_key"] = f"inputs/{self.job_id}/reference"
            self.sub.blobs.put(params["reference_key"], req.reference)

    def _job(self, admission: Admission, params: dict) -> Job:
        """The job row: the request as checked, in the lane and at the concurrency it was admitted to."""
        req, sizing, principal = self.checked.req, self.checked.sizing, self.sub.principal
        return Job(
            id=self.job_id,
            account_id=principal.account_id,
            key_id=principal.key_id,
            model=req.model,
            backend_model=self.checked.summary.model,
            prompt=req.prompt,
            seconds=seconds_str(self.checked.summary.seconds),
            size=sizing.size,
            task=req.task,
            params=params,
            details={"generated_size": sizing.native_size, "resized": str(sizing.resized).lower()},
            remixed_from_video_id=req.remix_of,
            lane=admission.lane,
            max_concurrent=max(1, admission.max_concurrent),
            max_attempts=get_settings().max_attempts,
            watermark_payload=payload_for(self.job_id).hex(),
        )


def queue(
    sub: Submitter,
    ready: list[Ready],
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
            done = batched_write(sub.engine, write)
        except IntegrityError:
            if not keyed:
                raise
            # Another request with this key (another process, or PostgreSQL's next transaction)
            # committed between this one's check and its insert: written again, the check finds
            # that request's jobs, which are the answer.
            done = batched_write(sub.engine, write)
            for r, d in zip(ready, done, strict=True):
                if not d.new:
                    sub.blobs.delete_prefix(f"inputs/{r.job_id}")
    except BaseException:
        for r in ready:
            sub.blobs.delete_prefix(f"inputs/{r.job_id}")
        raise
    if any(d.new for d in done):
        dispatch.doorbell.ring()  # committed: an idle worker of this process claims it now
    return done
