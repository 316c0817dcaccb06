"""Many workers on one PostgreSQL and one S3 bucket: jobs submitted through the official `openai`
client to an API-only `serve` complete on three separate worker processes, once each."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.scale.conftest import MODEL, audit, client_for

# Starting four processes on a busy 2-core machine can take minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_jobs_complete_across_three_worker_processes_through_the_openai_client(deployment):
    from zoetrope.db import transaction
    from zoetrope.jobs.models import Job

    alice = client_for(deployment, "alice")
    carol = client_for(deployment, "carol")
    created = [
        c.videos.create(prompt=f"a red ball {i}", model=MODEL, size="64x64", seconds="4")
        for i in range(4)
        for c in (alice, carol)
    ]
    done = [alice.videos.poll(v.id) if i % 2 == 0 else carol.videos.poll(v.id) for i, v in enumerate(created)]
    assert [v.status for v in done] == ["completed"] * len(done), deployment.logs()
    mp4 = alice.videos.download_content(done[0].id).read()
    assert mp4[4:8] == b"ftyp"
    ids = [v.id for v in created]
    assert audit(deployment, ids) == {"lost": [], "double_charge": [], "missing_output": [], "failed": []}
    engine = deployment.engine()
    with transaction(engine) as s:
        ran_on = {w.rsplit("-", 1)[0] for w in s.scalars(select(Job.worker_id).where(Job.id.in_(ids)))}
    engine.dispose()
    assert len(ran_on) >= 2, f"all jobs ran on {ran_on}"  # the claim spreads work over processes


def test_another_tenants_video_is_404_on_the_shared_database(deployment):
    import openai

    video = client_for(deployment, "alice").videos.create(prompt="a blue cube", model=MODEL, size="64x64")
    with pytest.raises(openai.NotFoundError):
        client_for(deployment, "carol", max_retries=0).videos.retrieve(video.id)
