"""The jobs a video's page shows running again after a reload, on SQLite and PostgreSQL: those made
from it as the source, and the blends it is the second clip of; not a stranger's, not a finished one."""

from __future__ import annotations

from tests.jobs.conftest import engine  # noqa: F401  (the migrated sqlite/postgres store fixture)
from zoetrope.db import transaction
from zoetrope.jobs.models import Job
from zoetrope.web import queries


def _job(s, account: str, task: str, status: str, **params) -> Job:
    job = Job(
        account_id=account,
        model="m",
        backend_model="m",
        prompt=task,
        seconds="2",
        size="64x64",
        task=task,
        status=status,
        params=params,
    )
    s.add(job)
    s.flush()
    return job


def test_a_video_finds_the_running_jobs_that_use_it_as_source_or_second_clip(engine):  # noqa: F811
    with transaction(engine, immediate=True) as s:
        a = _job(s, "acct_run", "t2v", "completed")
        b = _job(s, "acct_run", "t2v", "completed")
        a.outputs, b.outputs = {"video": "outputs/a.mp4"}, {"video": "outputs/b.mp4"}
        blend = _job(s, "acct_run", "blend", "queued", source_key="outputs/a.mp4", target_key="outputs/b.mp4")
        loop = _job(s, "acct_run", "loop", "in_progress", source_key="outputs/b.mp4")
        _job(s, "acct_run", "blend", "completed", source_key="outputs/a.mp4", target_key="outputs/b.mp4")
        _job(s, "acct_other", "blend", "queued", source_key="outputs/a.mp4", target_key="outputs/b.mp4")
        ids = {"a": a.seq, "b": b.seq, "blend": blend.id, "loop": loop.id}
    with transaction(engine) as s:
        first, second = s.get(Job, ids["a"]), s.get(Job, ids["b"])  # by primary key, `seq`
        assert [j.id for j in queries.running_from(s, first)] == [ids["blend"]]
        assert [j.id for j in queries.running_from(s, second)] == [ids["loop"], ids["blend"]]
