"""Create offers no more variations than the plan runs at once: each is a job of its own, and one
past the plan's concurrency would be refused after the others were queued."""

from __future__ import annotations

import pytest

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
