"""A poll's read (`single_read`): it sees what is committed, and the connection it returns to the
pool still opens real transactions afterwards (on SQLite the read itself runs without BEGIN)."""

from __future__ import annotations

import pytest

from zoetrope.access.accounts import create_account, find_account
from zoetrope.db import single_read, transaction
from zoetrope.errors import NotFound
from zoetrope.jobs import store
from zoetrope.jobs.models import Job, new_video_id


def _add(engine, account_id: str) -> str:
    job_id = new_video_id()
    with transaction(engine) as s:
        store.add_job(s, Job(id=job_id, account_id=account_id, model="m", backend_model="m", prompt="a red ball",
                             seconds="1", size="64x64", task="t2v", params={}, watermark_payload="00000000"))
    return job_id


class Undo(Exception):
    pass


def test_a_poll_sees_committed_rows_and_only_its_account(engine):
    with transaction(engine) as s:
        alice, bob = create_account(s, "alice").id, create_account(s, "bob").id
    job_id = _add(engine, alice)
    with single_read(engine) as conn:
        assert store.get_video(conn, alice, job_id).status == "queued"
    with single_read(engine) as conn, pytest.raises(NotFound):
        store.get_video(conn, bob, job_id)
    with transaction(engine) as s:
        store.get_job(s, alice, job_id).status = "in_progress"
    with single_read(engine) as conn:
        assert store.get_video(conn, alice, job_id).status == "in_progress"


def test_the_connection_after_a_poll_still_rolls_back(engine):
    # Used one after another, both blocks get the same pooled connection: if the poll left it
    # without transactions, the write below would commit on its own and survive the error.
    with single_read(engine) as conn:
        conn.exec_driver_sql("SELECT 1")
    with pytest.raises(Undo), transaction(engine) as s:
        create_account(s, "carol")
        s.flush()
        raise Undo
    with transaction(engine) as s:
        assert find_account(s, "carol") is None
