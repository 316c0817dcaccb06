"""A storyboard takes at most one card for each second of video begun (each card is made as a window
of its own, so a one-frame card costs a second's generation): more is a 400 naming `cards`, with
nothing stored."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI
from sqlalchemy import func, select

from zoetrope.db import make_engine, transaction
from zoetrope.jobs.models import Job

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def alice(server) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key=server.keys["alice"], max_retries=0, timeout=300)


def _jobs(server) -> int:
    engine = make_engine(f"sqlite:///{server.data_dir / 'zoetrope.db'}")
    try:
        with transaction(engine) as s:
            return s.scalar(select(func.count()).select_from(Job))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("starts", "seconds", "most"),
    [([i / 8 for i in range(32)], "4", 4), ([0, 1, 2, 3, 4, 4.1], "4.5", 5)],
    ids=["a-card-a-frame", "one-card-too-many"],
)
def test_more_cards_than_seconds_are_refused(server, alice, starts, seconds, most):
    before = _jobs(server)
    cards = [{"prompt": f"shot {i}", "start": start} for i, start in enumerate(starts)]
    with pytest.raises(openai.BadRequestError) as e:
        alice.post("/videos/storyboards", cast_to=openai.types.Video,
                   body={"cards": cards, "seconds": seconds, "size": "64x64"})
    assert e.value.body["param"] == "cards", e.value.body
    message = e.value.body["message"]
    assert f"at most {most} cards" in message and "merge cards or make the video longer" in message
    assert _jobs(server) == before
