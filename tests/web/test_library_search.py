"""The library's prompt search matches the text typed, on SQLite and PostgreSQL: `%`, `_` and `\\`
are characters to find, not LIKE wildcards."""

from __future__ import annotations

import os
import secrets

import pytest
from sqlalchemy import create_engine, text

from zoetrope.db import make_engine, transaction
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import Job
from zoetrope.web import queries

PG_URL = os.environ.get("ZOETROPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PROMPTS = ("a 50% chance of rain", "a_b testing", "a red ball bounces", r"C:\new folder")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'library.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    try:
        admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with admin.connect() as c:
            c.execute(text("select 1"))
    except Exception as e:  # the server is unreachable: the only reason to skip
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {e}")
    schema = f"zt_test_{secrets.token_hex(6)}"
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _found(engine, q: str) -> list[str]:
    with transaction(engine) as s:
        return sorted(j.prompt for j in queries.library(s, "acct_lib", kind="video", q=q).jobs)


def test_library_search_finds_percent_underscore_and_backslash_literally(engine):
    with transaction(engine, immediate=True) as s:
        for prompt in PROMPTS:
            s.add(
                Job(
                    account_id="acct_lib",
                    model="m",
                    backend_model="m",
                    prompt=prompt,
                    seconds="2",
                    size="64x64",
                )
            )
    assert _found(engine, "%") == ["a 50% chance of rain"]
    assert _found(engine, "50%") == ["a 50% chance of rain"]
    assert _found(engine, "_") == ["a_b testing"]
    assert _found(engine, "a_b") == ["a_b testing"]
    assert _found(engine, "a%b") == []
    assert _found(engine, "\\") == [r"C:\new folder"]
    assert _found(engine, "\\n") == [r"C:\new folder"]
    # An ordinary search is unchanged: a substring, in any case.
    assert _found(engine, "RED BALL") == ["a red ball bounces"]
    assert _found(engine, "") == sorted(PROMPTS)
