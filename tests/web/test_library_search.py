"""The library's prompt search matches the text typed, on SQLite and PostgreSQL: `%`, `_` and `\\`
are characters to find, not LIKE wildcards."""

from __future__ import annotations

from tests.jobs.conftest import engine  # noqa: F401  (the migrated sqlite/postgres store fixture)
from zoetrope.db import transaction
from zoetrope.jobs.models import Job
from zoetrope.web import queries

PROMPTS = ("a 50% chance of rain", "a_b testing", "a red ball bounces", r"C:\new folder")


def _found(db, q: str) -> list[str]:
    with transaction(db) as s:
        return sorted(j.prompt for j in queries.library(s, "acct_lib", kind="video", q=q).jobs)


def test_library_search_finds_percent_underscore_and_backslash_literally(engine):  # noqa: F811
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
