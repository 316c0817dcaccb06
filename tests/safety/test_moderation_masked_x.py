"""Runs of x's that are no rating pass: a beer (XXXX Gold), digits or letters masked in a card
number, a phone number, a date or a form field. A rating stretched or disguised the same way
("xxxxx video", "an xxxx clip of her") is still blocked as sexual."""

from __future__ import annotations

import pytest

from zoetrope.safety import check_prompt


@pytest.mark.parametrize(
    "prompt",
    [
        "a can of XXXX Gold lager on a bar",
        "a barman pulling a pint of XXXX Bitter",
        "a bottle of xxxx beer sweating in the sun",
        "a credit card showing card number xxxx xxxx xxxx 1234",
        "a credit card showing card number xxxx xxxx xxxx xxxx",
        "a receipt printed with card number xxxx-xxxx-xxxx-1234",
        "a serial number XXXX-XXXX on a sticker",
        "a sticky note with the wifi password xxxx-xxxx",
        "a shop sign with the phone number (555) xxx-xxxx",
        "a form with the date of birth field filled in as xx/xx/xxxx",
    ],
)
def test_masked_digits_and_a_beer_called_xxxx_are_not_a_rating(prompt):
    result = check_prompt(prompt)
    assert not result.flagged, result.reasons


@pytest.mark.parametrize(
    "prompt",
    [
        "xxxxx video",
        "xxx porn",
        "XXX movie",
        "an xxxx clip of her",
        "xxxx-xxxx video",
        "xxxx 1080p",
        "xxxx girls drinking beer",  # a beer near the x's is no excuse: XXXX must be the beer
        "an xxxx video of a credit card number",  # a video makes the x's a rating again
    ],
)
def test_x_ratings_next_to_no_number_or_beer_are_still_sexual(prompt):
    result = check_prompt(prompt)
    assert result.flagged and "sexual" in result.reasons, result.reasons
