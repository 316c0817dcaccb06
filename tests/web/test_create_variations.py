"""Create offers no more variations than the plan runs at once: each is a job of its own, and one
past the plan's concurrency would be refused after the others were queued."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize(("name", "offered"), [("bob", ["1"]), ("alice", ["1", "2", "3", "4"])])
def test_variations_stop_at_the_jobs_the_plan_runs_at_once(page, studio, name, offered):
    page.sign_in(name)  # bob's plus runs 1 job at a time, alice's pro 5
    p = page.page
    options = p.locator("select[name=n] option")
    assert [o.inner_text() for o in options.all()] == offered
    limits = p.locator("details.limits")
    limits.locator("summary").click()
    assert limits.locator("dt:text-is('Concurrent jobs') + dd").inner_text() == str(1 if name == "bob" else 5)
    assert page.errors == []


def test_more_variations_than_the_plan_has_room_for_start_none_and_say_how_many_can(page, studio):
    """A pro account (5 at once) with 3 jobs running asks for 4 variations: none starts, and the page
    says 2 can start now, on the Variations field."""
    from zoetrope.access import ledger
    from zoetrope.access.accounts import open_account
    from zoetrope.access.admission import admit
    from zoetrope.access.entitlements import RequestSummary
    from zoetrope.access.keys import principal_for
    from zoetrope.db import make_engine, transaction
    from zoetrope.web.models import StudioUser
    from zoetrope.web.session import hash_password

    engine = make_engine(f"sqlite:///{studio.data_dir / 'zoetrope.db'}")
    with transaction(engine, immediate=True) as s:
        account = open_account(s, "kim", plan="pro")
        s.add(
            StudioUser(
                account_id=account.id, email=studio.email("kim"), password_hash=hash_password(PASSWORD)
            )
        )
        req = RequestSummary(model="zoetrope-mini", width=64, height=64, seconds=2)
        for i in range(3):  # admitted and not finished: what the plan's concurrency counts
            admit(s, principal_for(account), req, f"video_kims_running_{i}")
        account_id = account.id
    page.sign_in("kim")
    p = page.page
    p.fill("textarea[name=prompt]", "a red ball rolls")
    p.select_option("select[name=n]", "4")
    p.click("#create button[type=submit]")
    error = p.locator("#create-error")
    error.wait_for()
    assert error.inner_text() == (
        "Variations: your plan runs 5 jobs at once and 3 are running, so 2 can start now: "
        "choose 2, or wait for one to finish"
    )
    assert p.locator("select[name=n]").get_attribute("aria-invalid") == "true"
    assert p.locator("#jobs .tile").count() == 0
    p.wait_for_timeout(1000)  # the price asked for 4 variations arrives after the refusal: the mark stays
    assert p.locator("select[name=n]").get_attribute("aria-invalid") == "true"
    p.select_option("select[name=n]", "2")  # the fix the page named: the error and the mark go
    assert error.is_hidden() and p.locator("select[name=n]").get_attribute("aria-invalid") is None
    with transaction(engine) as s:
        assert ledger.open_charges(s, account_id) == 3  # nothing started
    engine.dispose()
    assert page.errors == []
