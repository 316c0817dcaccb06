"""The jobs tables: the job (the OpenAI video object plus our dispatch fields), webhook
deliveries (an outbox) and idempotency keys."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zoetrope.db import Base

# SQLite only aliases rowid (autoincrement) for INTEGER PRIMARY KEY.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")

QUEUED, IN_PROGRESS, COMPLETED, FAILED = "queued", "in_progress", "completed", "failed"
STATUSES = (QUEUED, IN_PROGRESS, COMPLETED, FAILED)
LANES = ("fast", "relaxed")


def new_video_id() -> str:
    return f"video_{secrets.token_hex(16)}"


def now() -> float:
    return time.time()


class Job(Base):
    """One generation. Public fields mirror OpenAI's video object; the rest drive dispatch."""

    __tablename__ = "jobs"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, default=new_video_id)
    account_id: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(64))
    # The OpenAI video object.
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str] = mapped_column(String(128))  # as the client named it
    prompt: Mapped[str] = mapped_column(Text, default="")
    seconds: Mapped[str] = mapped_column(String(16))  # "4"; for extensions, the stitched total
    size: Mapped[str] = mapped_column(String(16))  # "720x1280", what the client gets
    created_at: Mapped[float] = mapped_column(Float, default=now)
    completed_at: Mapped[float | None] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)
    error: Mapped[dict | None] = mapped_column(JSON)  # {"code", "message"}
    remixed_from_video_id: Mapped[str | None] = mapped_column(String(64))
    # Ours: what to run and where.
    backend_model: Mapped[str] = mapped_column(String(128))  # the registry's canonical model name
    task: Mapped[str] = mapped_column(String(32), default="t2v")
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # seed, steps, strength, input blob keys...
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # metadata shown to the client
    outputs: Mapped[dict] = mapped_column(JSON, default=dict)  # variant -> blob key
    lane: Mapped[str] = mapped_column(String(16), default="relaxed")
    max_concurrent: Mapped[int] = mapped_column(Integer, default=1)  # the plan's, at submit
    # Lease: who runs it and until when.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[float | None] = mapped_column(Float)
    lease_expires_at: Mapped[float | None] = mapped_column(Float)
    deleted_at: Mapped[float | None] = mapped_column(Float)
    # `payload_for(id).hex()`: what the invisible watermark carries, so verify finds the job.
    watermark_payload: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (
        Index("ix_jobs_dispatch", "status", "lane", "seq"),
        Index("ix_jobs_account", "account_id", "seq"),
        Index("ix_jobs_running", "status", "account_id"),
        Index("ix_jobs_watermark_payload", "watermark_payload"),
    )


class WebhookDelivery(Base):
    """One event to POST to a webhook URL, retried with backoff until delivered or given up."""

    __tablename__ = "webhook_deliveries"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)  # exactly the bytes that are signed
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/delivered/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, default=now)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=now)

    __table_args__ = (Index("ix_webhooks_due", "status", "next_attempt_at"),)


class IdempotencyKey(Base):
    """A POST's `Idempotency-Key`: the same key and body return the same job."""

    __tablename__ = "idempotency_keys"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float, default=now)

    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),)
