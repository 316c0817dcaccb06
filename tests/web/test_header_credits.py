"""The header's balance reads as English: "1 credit", "2 credits", when the page is made and when
the studio reads the balance again."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.slow


def _usage(p) -> dict:
    return p.evaluate("async () => await Studio.api('GET', '/v1/usage')")


def _grant(studio, account_id: str, amount: int) -> None:
    with studio.api("root") as api:
        r = api.post(f"/v1/admin/accounts/{account_id}/credits", json={"amount": amount, "note": "test"})
        assert r.status_code == 200, r.text


def test_the_header_says_1_credit_not_1_credits(page, studio):
    p = page.goto("/signup")  # a new account: its balance is this test's alone
    p.fill("input[name=email]", "one-credit@example.com")
    p.fill("input[name=password]", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url("**/create")
    usage = _usage(p)
    _grant(studio, usage["account_id"], 1 - usage["credits"])

    pill = page.goto("/account").locator("header .pill")
    assert pill.inner_text().startswith("1 credit ·")

    _grant(studio, usage["account_id"], 1)  # 2 now, read again without a reload
    p.evaluate("() => Studio.refreshCredits()")
    p.wait_for_function("() => document.querySelector('[data-credits]').textContent === '2'")
    assert pill.inner_text().startswith("2 credits ·")
    _grant(studio, usage["account_id"], -1)
    p.evaluate("() => Studio.refreshCredits()")
    p.wait_for_function("() => document.querySelector('[data-credits]').textContent === '1'")
    assert pill.inner_text().startswith("1 credit ·")
    assert page.errors == []
