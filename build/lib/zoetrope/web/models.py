"""The studio's tables: people who sign in with email and password, and published videos.

No foreign keys to `accounts`/`jobs`: the studio's tables stay optional for the layers below.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from zoetrope.access.models import new_id, utcnow
from zoetrope.db import Base


class StudioUser(Base):
    """An email and an argon2 password hash that sign in as one account."""

    __tablename__ = "studio_users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("user"))
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StudioSession(Base):
    """A browser's sign-in. The cookie names it; signing out, or a new password, ends it here, so
    a copy of the cookie stops working too."""

    __tablename__ = "studio_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("sess"))
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Publication(Base):
    """A video its owner chose to show on the public Explore feed."""

    __tablename__ = "published_videos"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
