"""Writes queued together share one transaction on SQLite, each in its own savepoint: one that
fails leaves nothing behind and gets its own error; the others commit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from zoetrope.access.accounts import create_account, find_account
from zoetrope.access.models import Account
from zoetrope.db import batched_write, transaction


class Refused(Exception):
    pass


def test_concurrent_writes_commit_except_the_one_that_fails(engine):
    gate = threading.Barrier(8)

    def write(n: int) -> str:
        gate.wait()  # all at once, so they queue behind one another

        def work(s):
            account = create_account(s, f"user{n}")
            if n == 3:
                raise Refused("no")  # after its row was written: the savepoint must undo it
            return account.id

        return batched_write(engine, work)

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(write, n) for n in range(8)]
    with pytest.raises(Refused):
        futures[3].result()
    ids = [f.result() for i, f in enumerate(futures) if i != 3]
    with transaction(engine) as s:
        assert find_account(s, "user3") is None
        assert s.scalar(select(func.count()).select_from(Account).where(Account.id.in_(ids))) == 7


def test_a_write_sees_the_writes_queued_before_it(engine):
    batched_write(engine, lambda s: create_account(s, "first"))
    seen = batched_write(engine, lambda s: find_account(s, "first"))
    assert seen is not None and seen.name == "first"


def test_a_lone_write_that_fails_leaves_nothing_and_the_next_commits(engine):
    def work(s):
        create_account(s, "lone")
        raise Refused("no")  # after its row was written

    with pytest.raises(Refused):
        batched_write(engine, work)
    batched_write(engine, lambda s: create_account(s, "after"))
    with transaction(engine) as s:
        assert find_account(s, "lone") is None
        assert find_account(s, "after") is not None
