"""A tab opened before another account signed in (in another tab) reads nothing of that account:
the header's balance it reads again stays its own account's, the page says another account signed
in, and the script's reads are refused with the same words until its own account signs in again."""

from __future__ import annotations

import pytest

from tests.web.test_header_credits import _grant
from tests.web.test_stale_tab_token import SWITCHED, _sign_out_and_in, _sign_up

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
OWN = "stale-reads-own@example.com"
OTHER = "stale-reads-other@example.com"


def _header(p) -> str:
    return p.locator("[data-credits]").inner_text()


def test_a_tab_of_another_account_does_not_show_the_balance_of_the_one_signed_in_now(page, studio):
    p = page.page
    _sign_up(p, studio.url, OTHER)
    _sign_up(p, studio.url, OWN)  # the browser: signed in as the tab's own account
    usage = p.evaluate("async () => await Studio.api('GET', '/v1/usage')")
    _grant(studio, usage["account_id"], 7)  # its balance differs from the other account's
    own = str(usage["credits"] + 7)
    page.goto("/create")
    assert _header(p) == own

    other = p.context.new_page()
    _sign_out_and_in(studio, other, p, OTHER)
    theirs = other.locator("[data-credits]").inner_text()
    assert theirs != own

    p.evaluate("() => Studio.refreshCredits()")  # as when a job of the tab ends
    assert _header(p) == own
    notice = p.locator("#session-changed")
    assert SWITCHED in notice.inner_text() and notice.get_attribute("role") == "alert"
    said = p.evaluate("() => Studio.api('GET', '/v1/videos').then(() => 'read', (e) => e.message)")
    assert said.startswith(SWITCHED)

    _sign_out_and_in(studio, other, p, OWN)  # its own account again: read as before
    _grant(studio, usage["account_id"], 1)
    p.evaluate("() => Studio.refreshCredits()")
    assert _header(p) == str(usage["credits"] + 8)
    assert notice.count() == 0
