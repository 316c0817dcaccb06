"""An `Idempotency-Key` is stored in a VARCHAR(255): a longer one is a 400 naming the header on every
database (PostgreSQL would refuse to store it, SQLite would keep it), before anything is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from zoetrope.access.models import Charge
from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest
from zoetrope.jobs import submit
from zoetrope.jobs.models import IdempotencyKey, Job
from zoetrope.storage import BlobStore


def _stored(engine) -> tuple[int, int, int]:
    with transaction(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Job, Charge, IdempotencyKey))


def test_a_key_over_255_characters_is_a_400_and_one_of_255_is_kept(engine, alice, tmp_path):
    registry, blobs = Registry(load_config()), BlobStore(str(tmp_path / "blobs"))
    req = submit.VideoRequest(prompt="a red ball", size="64x112", seconds="1")
    with pytest.raises(InvalidRequest) as refused:
        submit.submit(engine, registry, blobs, alice, req, idempotency_key="k" * 256)
    assert refused.value.param == "Idempotency-Key" and "255" in refused.value.message
    assert _stored(engine) == (0, 0, 0)
    job = submit.submit(engine, registry, blobs, alice, req, idempotency_key="k" * 255)
    assert submit.submit(engine, registry, blobs, alice, req, idempotency_key="k" * 255).id == job.id
    assert _stored(engine) == (1, 1, 1)
