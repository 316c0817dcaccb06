"""The studio in Chromium against a live server: API keys on the account page. Each test writes
screenshots to tests/web/artifacts/."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_create_a_key_see_it_once_and_revoke_it(page, studio):
    p = page.goto("/signin")
    p.fill("input[name=api_key]", studio.keys["bob"])
    p.click("button[type=submit]")
    p.wait_for_url("**/create")
    p = page.goto("/account")
    p.fill("#keys input[name=name]", "laptop")
    p.click("#keys button.primary")
    key = p.locator("#new-key").inner_text()
    assert key.startswith("zk-")
    page.shot("account-new-key")
    assert studio.api("bob").get("/v1/models", headers={"authorization": f"Bearer {key}"}).status_code == 200
    row = p.locator("tr", has_text="laptop")
    row.locator("button", has_text="Revoke").click()
    p.wait_for_url("**/account#keys")
    assert p.locator("tr", has_text="laptop").locator(".badge", has_text="revoked").count() == 1
    assert key not in p.locator("#keys").inner_text()  # shown once: not after the reload
    page.shot("account")
    assert page.errors == []
