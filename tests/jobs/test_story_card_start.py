"""A storyboard card's `start` as the API reads it: required, and a finite number, or a 400 naming
the card, never a job that fails in the worker or a 500."""

from __future__ import annotations

import pytest

from zoetrope.errors import InvalidRequest
from zoetrope.jobs.request import story_cards


@pytest.mark.parametrize(
    "cards",
    [
        [{"prompt": "a ball", "start": 0}, {"prompt": "a cube"}],  # was queued, then failed in the worker
        [{"prompt": "a ball", "start": 0}, {"prompt": "a cube", "start": 10**400}],  # was a 500 (OverflowError)
        [{"prompt": "a ball", "start": 0}, {"prompt": "a cube", "start": "1e999"}],  # was read as infinity
        [{"prompt": "a ball", "start": 0}, {"prompt": "a cube", "start": None}],
    ],
)
def test_a_card_without_a_finite_start_is_refused_naming_it(cards):
    with pytest.raises(InvalidRequest) as refused:
        story_cards({"cards": cards})
    assert refused.value.param == "cards[1].start"
    assert "start" in refused.value.message and "\n" not in refused.value.message


def test_cards_with_their_starts_are_read():
    cards = story_cards({"cards": [{"prompt": "a ball", "start": 0}, {"prompt": "a cube", "start": "2.5"}]})
    assert [(c.prompt, c.start) for c in cards] == [("a ball", 0.0), ("a cube", 2.5)]
