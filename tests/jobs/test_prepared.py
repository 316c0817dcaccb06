"""`Prepared` writes store exactly the rows that `session.execute` of the same statement stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from zoetrope.access.accounts import create_account
from zoetrope.access.models import LedgerEntry
from zoetrope.db import Prepared, transaction
from zoetrope.jobs.models import Job

JOBS = Job.__table__
ENTRIES = LedgerEntry.__table__


def _job(job_id: str) -> dict:
    return {
        "id": job_id, "account_id": "acct_1", "key_id": None, "model": "sora-2", "backend_model": "zoetrope-mini",
        "prompt": "a red fox ü", "seconds": "4", "size": "64x64", "task": "t2v", "created_at": 1796500000.25,
        "params": {"seed": None, "options": {"cards": [1, 2]}}, "details": {"resized": "false"}, "outputs": {},
        "lane": "fast", "max_concurrent": 2, "max_attempts": 3, "watermark_payload": "ab12",
    }  # fmt: skip


def _stored(conn, table, key: str, value) -> dict:
    """The row as the database holds it (JSON as its text), without its surrogate key."""
    row = conn.execute(select(table).where(table.c[key] == value)).mappings().one()
    out = {k: v for k, v in row.items() if k not in ("seq", "id", key)}
    if conn.dialect.name == "postgresql" and table is JOBS:
        texts = conn.execute(text("SELECT params::text, details::text, outputs::text FROM jobs WHERE id = :i"), {"i": value})
        out["json"] = tuple(texts.one())
    return out


def test_insert_stores_the_same_row_as_execute(engine):
    with transaction(engine) as s:
        Prepared(insert(JOBS))(s, _job("video_prepared"))
        s.execute(insert(JOBS), _job("video_plain"))
    with engine.connect() as conn:
        prepared, plain = _stored(conn, JOBS, "id", "video_prepared"), _stored(conn, JOBS, "id", "video_plain")
    assert prepared == plain
    assert prepared["status"] == "queued" and prepared["attempts"] == 0  # column defaults filled in
    assert prepared["params"] == {"seed": None, "options": {"cards": [1, 2]}}


def test_insert_fills_python_defaults_and_converts_dates(engine):
    when = datetime(2026, 12, 6, 3, 4, 5, 600_000, tzinfo=UTC)
    with transaction(engine) as s:
        account = create_account(s, "prepared", plan="free").id
    entry = {"account_id": account, "job_id": None, "kind": "grant", "currency": "credits", "amount": 5, "note": ""}
    with transaction(engine) as s:
        Prepared(insert(ENTRIES))(s, {**entry, "key": "prepared", "created_at": when})
        s.execute(insert(ENTRIES), {**entry, "key": "plain", "created_at": when})
        Prepared(insert(ENTRIES))(s, {**entry, "key": "defaulted"})  # created_at from the column's default
    with engine.connect() as conn:
        assert _stored(conn, ENTRIES, "key", "prepared") == _stored(conn, ENTRIES, "key", "plain")
        raw = conn.execute(select(ENTRIES.c.created_at).where(ENTRIES.c.key == "defaulted")).scalar_one()
        if conn.dialect.name == "sqlite":  # the same text form as SQLAlchemy's own writes
            stored = conn.exec_driver_sql(
                "SELECT created_at FROM ledger_entries WHERE key IN ('plain', 'prepared')"
            ).scalars().all()
            assert stored == ["2026-12-06 03:04:05.600000"] * 2
    assert abs((raw.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 60


def test_update_reports_rows_and_errors_are_sqlalchemys(engine):
    bump = Prepared(update(JOBS).where(JOBS.c.id == bindparam("b_id")).values(progress=JOBS.c.progress + bindparam("b_by")))
    with transaction(engine) as s:
        Prepared(insert(JOBS))(s, _job("video_1"))
        assert bump(s, {"b_id": "video_1", "b_by": 7}).rowcount == 1
        assert bump(s, {"b_id": "video_none", "b_by": 7}).rowcount == 0
    with engine.connect() as conn:
        assert conn.execute(select(JOBS.c.progress).where(JOBS.c.id == "video_1")).scalar_one() == 7
    with pytest.raises(IntegrityError), transaction(engine) as s:  # the same id twice
        Prepared(insert(JOBS))(s, _job("video_1"))
