"""The tables of who may call: accounts and their API keys."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zoetrope.db import Base


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
    # Optional per-key quota ({"requests_per_minute": .., "seconds_per_day": ..}) and model allow-list.
    quota: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    allowed_models: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    account: Mapped[Account] = relationship(back_populates="keys")
