"""Read queries the pages need beyond the API's: filtered library pages, the public feed, queue counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from zoetrope.jobs.models import COMPLETED, Job
from zoetrope.web.models import Publication

PAGE_SIZE = 24
KINDS = {"video": Job.task != "t2i", "image": Job.task == "t2i"}
STATUSES = ("completed", "in_progress", "queued", "failed")


def like_literal(text: str) -> str:
    """`text` as a LIKE pattern that matches only itself (with `escape="\\"`): `%` and `_` are
    characters a prompt may hold, not wildcards, on SQLite and PostgreSQL alike."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class LibraryPage:
    jobs: list[Job]
    page: int
    pages: int
    total: int


def library(
    session: Session, account_id: str, *, kind: str = "", status: str = "", q: str = "", page: int = 1
) -> LibraryPage:
    """The account's live jobs, newest first, filtered by kind, status and prompt text."""
    where = [Job.account_id == account_id, Job.deleted_at.is_(None)]
    if kind in KINDS:
        where.append(KINDS[kind])
    if status in STATUSES:
        where.append(Job.status == status)
    if q:
        where.append(Job.prompt.ilike(f"%{like_literal(q)}%", escape="\\"))
    total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    stmt = select(Job).where(*where).order_by(Job.seq.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return LibraryPage(list(session.scalars(stmt)), page, pages, total)


def running(session: Session, account_id: str, task: str = "", limit: int = PAGE_SIZE) -> list[Job]:
    """The account's queued and running jobs (of `task` only, if given), newest first: what Create
    and Storyboard show again after a reload."""
    where = _running_where(account_id)
    if task:
        where.append(Job.task == task)
    stmt = select(Job).where(*where).order_by(Job.seq.desc()).limit(limit)
    return list(session.scalars(stmt))


def running_from(session: Session, video: Job, limit: int = PAGE_SIZE) -> list[Job]:
    """The queued and running jobs made from `video` (its remixes, extensions, loops, blends and
    re-cuts, and the blends it is the second clip of), newest first: what the video's page shows
    again after a reload."""
    # A remix names its source video; the other tasks keep only its footage's blob key, a blend
    # also its second clip's (`target_key`).
    made_from = [Job.remixed_from_video_id == video.id]
    footage = (video.outputs or {}).get("video")
    if footage:
        made_from.append(Job.params["source_key"].as_string() == footage)
        made_from.append(Job.params["target_key"].as_string() == footage)
    where = [*_running_where(video.account_id), or_(*made_from)]
    stmt = select(Job).where(*where).order_by(Job.seq.desc()).limit(limit)
    return list(session.scalars(stmt))


def _running_where(account_id: str) -> list:
    return [Job.account_id == account_id, Job.deleted_at.is_(None), Job.status.in_(("queued", "in_progress"))]


def published_ids(session: Session, account_id: str) -> set[str]:
    rows = session.scalars(select(Publication.job_id).where(Publication.account_id == account_id))
    return set(rows)


def explore(session: Session, limit: int = 48) -> list[Job]:
    """Published, completed, undeleted videos, most recently published first."""
    stmt = (
        select(Job)
        .join(Publication, Publication.job_id == Job.id)
        .where(Job.status == COMPLETED, Job.deleted_at.is_(None))
        .order_by(Publication.published_at.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def published_job(session: Session, job_id: str) -> Job | None:
    stmt = (
        select(Job)
        .join(Publication, Publication.job_id == Job.id)
        .where(Job.id == job_id, Job.status == COMPLETED, Job.deleted_at.is_(None))
    )
    return session.scalar(stmt)


def set_published(session: Session, job: Job, published: bool) -> None:
    row = session.get(Publication, job.id)
    if published and row is None:
        session.add(Publication(job_id=job.id, account_id=job.account_id))
    elif not published and row is not None:
        session.delete(row)
    session.flush()
