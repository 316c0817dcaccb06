"""Small query functions over the jobs table, for the API side: create, find, list, delete.

Every lookup takes the caller's account: a job of another account is simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from zoetrope.access import ledger
from zoetrope.db import Prepared, python_default
from zoetrope.errors import Conflict, InvalidRequest, NotFound, shown
from zoetrope.jobs.models import COMPLETED, FAILED, QUEUED, IdempotencyKey, Job, now


@dataclass(frozen=True)
class Page:
    """One page of a cursor-paginated list, as OpenAI's list endpoints return it."""

    jobs: list[Job]
    has_more: bool


def add_job(session: Session, job: Job) -> Job:
    session.add(job)
    session.flush()
    return job


_JOB_COLUMNS = [c for c in Job.__table__.c if c.key != "seq"]
_INSERT_JOB = Prepared(insert(Job.__table__))


def insert_job(session: Session, job: Job) -> Job:
    """`add_job` as one plain INSERT, for submit: `job` gets its column defaults filled in and stays
    out of the session (a detached copy of the row, for the response)."""
    row = {}
    for column in _JOB_COLUMNS:
        value = getattr(job, column.key)
        if value is None and column.default is not None:
            value = python_default(column)
            setattr(job, column.key, value)
        row[column.key] = value
    _INSERT_JOB(session, row)
    return job


def get_job(session: Session, account_id: str, job_id: str, *, param: str = "video_id") -> Job:
    """The account's live job `job_id`; NotFound (naming `param`) for deleted jobs and for other
    accounts' jobs."""
    job = session.scalar(
        select(Job).where(Job.id == job_id, Job.account_id == account_id, Job.deleted_at.is_(None))
    )
    if job is None:
        raise NotFound(f"no video {shown(job_id)}", param=param)
    return job


# The columns of the public video object: what a poll reads.
_VIDEO = Job.__table__.c
VIDEO_COLUMNS = (
    _VIDEO.id, _VIDEO.created_at, _VIDEO.status, _VIDEO.progress, _VIDEO.model, _VIDEO.prompt,
    _VIDEO.seconds, _VIDEO.size, _VIDEO.completed_at, _VIDEO.expires_at, _VIDEO.error,
    _VIDEO.remixed_from_video_id, _VIDEO.details,
)  # fmt: skip


# Built once: a poll only binds the two ids (building the statement cost as much as running it).
_VIDEO_BY_ID = select(*VIDEO_COLUMNS).where(
    _VIDEO.id == bindparam("job_id"),
    _VIDEO.account_id == bindparam("account_id"),
    _VIDEO.deleted_at.is_(None),
)


def get_video(conn: Connection, account_id: str, job_id: str) -> Row:
    """`get_job` for a poll: the public columns only, in one indexed read without an ORM session
    (a quarter of the CPU; clients poll this more than anything else)."""
    row = conn.execute(_VIDEO_BY_ID, {"job_id": job_id, "account_id": account_id}).one_or_none()
    if row is None:
        raise NotFound(f"no video {shown(job_id)}", param="video_id")
    return row


def get_completed_job(session: Session, account_id: str, job_id: str, *, param: str = "video_id") -> Job:
    """A job that can be used as the source of a remix, an extension or an edit."""
    job = get_job(session, account_id, job_id, param=param)
    if job.status != COMPLETED:
        raise InvalidRequest(f"video {shown(job_id)} is {job.status}, not completed", param=param)
    return job


def list_jobs(
    session: Session, account_id: str, *, after: str | None = None, limit: int = 20, order: str = "desc"
) -> Page:
    """The account's jobs after the cursor `after` (a job id), newest first unless `order='asc'`."""
    if not 1 <= limit <= 100:
        raise InvalidRequest("limit must be between 1 and 100", param="limit")
    if order not in ("asc", "desc"):
        raise InvalidRequest("order must be 'asc' or 'desc'", param="order")
    stmt = select(Job).where(Job.account_id == account_id, Job.deleted_at.is_(None))
    if after:
        cursor = session.scalar(select(Job.seq).where(Job.id == after, Job.account_id == account_id))
        if cursor is None:
            raise InvalidRequest(f"cursor {shown(after)} is not one of your videos", param="after")
        stmt = stmt.where(Job.seq < cursor if order == "desc" else Job.seq > cursor)
    stmt = stmt.order_by(Job.seq.desc() if order == "desc" else Job.seq.asc()).limit(limit + 1)
    rows = list(session.scalars(stmt))
    return Page(jobs=rows[:limit], has_more=len(rows) > limit)


def delete_job(session: Session, account_id: str, job_id: str) -> Job:
    """Mark the job deleted; a queued job never runs and a running one stops at its next step."""
    job = get_job(session, account_id, job_id)
    job.deleted_at = now()
    if job.status == QUEUED:
        job.status = FAILED
        job.error = {"code": "cancelled", "message": "the video was deleted before it ran"}
    # A running job stops at its next step and can no longer complete: its credits go back now.
    ledger.release(session, job.id, reason="deleted")
    session.flush()
    return job


def count_by_status(session: Session) -> dict[tuple[str, str], int]:
    """(status, lane) -> number of live jobs; what the queue-depth metric reports."""
    rows = session.execute(
        select(Job.status, Job.lane, func.count())
        .where(Job.deleted_at.is_(None))
        .group_by(Job.status, Job.lane)
    )
    return {(status, lane): n for status, lane, n in rows}


def find_idempotent(session: Session, account_id: str, key: str, request_hash: str) -> Job | None:
    """The job an earlier request with this `Idempotency-Key` made; Conflict if its body differed."""
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was already used with a different request body",
            param="Idempotency-Key",
            code="idempotency_key_reused",
        )
    job = session.scalar(select(Job).where(Job.id == row.job_id))
    if job is not None and job.deleted_at is not None:
        raise Conflict(
            f"the video this Idempotency-Key created ({job.id}) has been deleted; "
            "send a new Idempotency-Key to create another",
            param="Idempotency-Key",
            code="idempotent_video_deleted",
        )
    return job


def withdraw_jobs(session: Session, account_id: str, job_ids: list[str]) -> None:
    """Undo submits that were part of a request which failed as a whole: the jobs are deleted
    (their credits released) and their Idempotency-Keys forgotten, so a retry starts afresh."""
    for job_id in job_ids:
        delete_job(session, account_id, job_id)
    if job_ids:
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.account_id == account_id, IdempotencyKey.job_id.in_(job_ids)
            )
        )
        session.flush()


def remembered(session: Session, account_id: str, keys: list[str]) -> dict[str, str]:
    """Of these Idempotency-Keys, those the account has used: key -> the hash of its request."""
    rows = session.execute(
        select(IdempotencyKey.key, IdempotencyKey.request_hash).where(
            IdempotencyKey.account_id == account_id, IdempotencyKey.key.in_(keys)
        )
    )
    return {key: request_hash for key, request_hash in rows}


def remember_idempotent(session: Session, account_id: str, key: str, request_hash: str, job_id: str) -> None:
    session.add(IdempotencyKey(account_id=account_id, key=key, request_hash=request_hash, job_id=job_id))
    session.flush()


def generation_record(session: Session, key: str, *, account_id: str | None) -> dict | None:
    """The generation record `verify` reports for a job id (from a C2PA manifest) or a watermark
    payload (8 hex digits); None when there is none, or when it is not `account_id`'s job
    (`account_id=None` is the local data directory's owner, who sees every record)."""
    stmt = select(Job).where(or_(Job.id == key, Job.watermark_payload == key.lower()))
    if account_id is not None:
        stmt = stmt.where(Job.account_id == account_id)
    job = session.scalars(stmt.where(Job.deleted_at.is_(None)).order_by(Job.seq.desc()).limit(1)).first()
    if job is None:
        return None
    return {
        "id": job.id,
        "object": "video",
        "status": job.status,
        "model": job.model,
        "prompt": job.prompt,
        "size": job.size,
        "seconds": job.seconds,
        "created_at": int(job.created_at),
        "completed_at": int(job.completed_at) if job.completed_at else None,
        "remixed_from_video_id": job.remixed_from_video_id,
        "watermark_payload": job.watermark_payload,
    }
