"""The tables of access: accounts, API keys, job charges, the credit ledger and usage events."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zoetrope.db import Base

# SQLite only aliases rowid (autoincrement) for INTEGER PRIMARY KEY.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A random public id such as `acct_3f9a...`; unguessable, so ids leak nothing."""
    return f"{prefix}_{secrets.token_hex(12)}"


class Account(Base):
    """A customer: a person or a team. The plan decides what it may generate."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("acct"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    plan: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    birth_date: Mapped[date] = mapped_column(Date)
    seats: Mapped[int] = mapped_column(Integer, default=1)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Optional per-account quota overriding the plan's: {"requests_per_minute": 60, "seconds_per_day": 600}
    quota: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    keys: Mapped[list[ApiKey]] = relationship(back_populates="account", cascade="all, delete-orphan")


class PlanChange(Base):
    """An account's plan and seats from `at` on: one row when it is made, one per change. Invoices
    read it, so a month is billed for the plans it had, whatever the account has now."""

    __tablename__ = "plan_changes"

    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    plan: Mapped[str] = mapped_column(String(40))
    seats: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_plan_changes_account_at", "account_id", "at"),)


class ApiKey(Base):
    """A named, revocable secret of an account. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="default")
    hashed_secret: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, for display
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When the key stops working (None: never); a key is refused from this instant on.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Optional per-key quota ({"requests_per_minute": .., "seconds_per_day": ..}) and model allow-list.
    quota: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    allowed_models: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    account: Mapped[Account] = relationship(back_populates="keys")


class Charge(Base):
    """One job's reservation: held at submit, captured on success or released on failure or cancel.

    `job_id` is unique, so a job is reserved once however often it is admitted or retried; an
    open (`reserved`) charge is also what counts against the plan's concurrent jobs.
    """

    __tablename__ = "charges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("chg"))
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    model: Mapped[str] = mapped_column(String(128))
    task: Mapped[str] = mapped_column(String(32), default="t2v")
    lane: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    n: Mapped[int] = mapped_column(Integer, default=1)
    credits: Mapped[int] = mapped_column(Integer, default=0)  # reserved, then the captured amount
    points: Mapped[int] = mapped_column(Integer, default=0)
    fast_free: Mapped[int] = mapped_column(Integer, default=0)  # free fast generations it uses
    status: Mapped[str] = mapped_column(String(16), default="reserved")  # reserved/captured/released
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_charges_account_status", "account_id", "status"),
        Index("ix_charges_account_created", "account_id", "created_at"),
    )


class LedgerEntry(Base):
    """An append-only movement of credits or points; the balance is the sum of `amount`.

    `key` makes each movement happen at most once: `reserve:<job>:credits`, `grant:<acct>:2025-06`...
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # grant, expire, reserve, capture, release, adjust
    currency: Mapped[str] = mapped_column(String(8), default="credits")  # credits or points
    amount: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_ledger_account_currency", "account_id", "currency"),)


class AccountBalance(Base):
    """The running sum of an account's ledger entries in one currency, moved in the same
    transaction as every entry, so reading a balance costs one row however long the history."""

    __tablename__ = "account_balances"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(8), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageEvent(Base):
    """Metering: one API request, or one finished generation with its seconds and credits."""

    __tablename__ = "usage_events"

    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # request or generation
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_usage_account_created", "account_id", "created_at"),
        Index("ix_usage_key_created", "key_id", "created_at"),
    )
