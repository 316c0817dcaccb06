"""The studio in Chromium against a live server: create with a live bar, play, remix, library,
keys, verify, and a refusal shown in place. Each test writes screenshots to tests/web/artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.web import studio_forms as forms

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
PLAYING = "v => v.readyState >= 2 && v.videoWidth > 0"
GENERATE_MS = 240_000  # a 2 s clip from tiny random weights on a busy 2-core machine


def _wait_playing(page, selector: str) -> None:
    page.wait_for_function(
        f"() => {{ const v = document.querySelector('{selector}'); return v && ({PLAYING})(v); }}"
    )


def _create(p, prompt: str, seconds: str = "2") -> str:
    page = p.goto("/create")
    page.fill("textarea[name=prompt]", prompt)
    page.select_option("select[name=seconds]", seconds)
    page.select_option("select[name=aspect]", "landscape")
    page.select_option("select[name=resolution]", "480")  # the smallest: generation is CPU-bound here
    page.wait_for_function("() => document.getElementById('cost').textContent !== '…'")
    page.click("#create button[type=submit]")
    page.wait_for_selector("#jobs .tile, #create-error:not([hidden])")
    assert page.locator("#create-error").is_hidden(), page.locator("#create-error").inner_text()
    tile = page.locator("#jobs .tile").first
    page.wait_for_selector("#jobs .tile[data-progress='100']", state="attached", timeout=GENERATE_MS)
    _wait_playing(page, "#jobs .tile video")
    return tile.get_attribute("data-id")


def test_sign_in_create_see_progress_play_remix_and_find_it_in_the_library(page, warm_studio):
    page.sign_in("alice")
    page.shot("create-empty")
    credits = page.page.locator("[data-credits]").inner_text()
    video_id = _create(page, "a red ball bounces across a blue floor")
    assert page.page.locator("#jobs .tile").first.get_attribute("data-status") == "completed"
    # The header's credits follow the charge without a reload.
    page.page.wait_for_function(f"() => document.querySelector('[data-credits]').textContent !== '{credits}'")
    page.shot("create-done")

    v = page.goto(f"/videos/{video_id}")
    _wait_playing(v, "#player")
    # Each action shows its price, from the API, before the click.
    v.wait_for_function(
        "() => /^\\d+ credits \\(/.test(document.querySelector('[data-action=remix] [data-price]').textContent)"
    )
    v.click("[data-action=extend] summary")
    v.wait_for_function(
        "() => /^\\d+ credits \\(/.test(document.querySelector('[data-action=extend] [data-price]').textContent)"
    )
    v.fill("[data-action=remix] textarea", "a green ball bounces across a blue floor")
    v.locator("[data-action=remix] input[name=strength]").fill("0.8")
    v.check("[data-action=remix] input[name=new_motion]")
    v.click("[data-action=remix] button")
    v.wait_for_selector(
        "[data-action=remix] .out .tile[data-progress='100']", state="attached", timeout=GENERATE_MS
    )
    _wait_playing(v, "[data-action=remix] .out video")
    page.shot("video")
    remix_id = v.locator("[data-action=remix] .out .tile").first.get_attribute("data-id")
    details = page.goto(f"/videos/{remix_id}").locator("dl")
    assert "Strength at the end" in details.inner_text() and "0.8" in details.inner_text()
    v = page.goto(f"/videos/{video_id}")

    # Tasks the server may not have yet still call the API; its answer shows under the button.
    v.click("[data-action=loop] summary")
    v.click("[data-action=loop] button")
    v.wait_for_function(
        "() => { const e = document.querySelector('[data-action=loop] .error');"
        " const out = document.querySelector('[data-action=loop] .out .tile');"
        " return (e && !e.hidden && e.textContent.length > 0) || out; }"
    )

    # Blend into the remix, and re-cut with 2 s more: each queues a job whose video object says so.
    v = page.goto(f"/videos/{video_id}")
    made = {}
    for action, choose in (
        ("blend", ("select[name=target]", remix_id)),
        ("recut", ("select[name=extend_seconds]", "2")),
    ):
        v.click(f"[data-action={action}] summary")
        v.select_option(f"[data-action={action}] {choose[0]}", choose[1])
        v.click(f"[data-action={action}] button")
        v.wait_for_selector(f"[data-action={action}] .out .tile, [data-action={action}] .error:not([hidden])")
        error = v.locator(f"[data-action={action}] .error")
        assert error.is_hidden(), (action, error.inner_text())
        made[action] = v.locator(f"[data-action={action}] .out .tile").first.get_attribute("data-id")
    with warm_studio.api("alice") as api:
        original = float(api.get(f"/v1/videos/{video_id}").json()["seconds"])
        assert float(api.get(f"/v1/videos/{made['recut']}").json()["seconds"]) == original + 2
        assert api.get(f"/v1/videos/{made['blend']}").json()["status"] in (
            "queued",
            "in_progress",
            "completed",
        )

    lib = page.goto("/library")
    ids = lib.locator(".grid .tile").evaluate_all("els => els.map(e => e.dataset.id)")
    assert video_id in ids and len(ids) >= 2
    lib.locator(f".tile[data-id='{video_id}'] .thumb").hover()
    lib.wait_for_function("() => document.querySelector('.thumb.playing')")
    page.shot("library")
    # The render above may be refused (the reordered first card starts after 0 s): the browser logs
    # that 400, and the page shows the API's message in place; nothing else may error.
    assert [e for e in page.errors if not re.search(r"status of 40[04]", e)] == []


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
    p.reload()  # the key was created by a POST that redirected: a reload neither re-creates nor re-shows it
    assert p.locator("#new-key").count() == 0 and p.locator("tr", has_text="laptop").count() == 1
    assert studio.api("bob").get("/v1/models", headers={"authorization": f"Bearer {key}"}).status_code == 200
    row = p.locator("tr", has_text="laptop")
    asked = []
    p.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))  # "no": nothing is revoked
    row.locator("button", has_text="Revoke").click()
    assert asked and "laptop" in asked[0] and row.locator(".badge", has_text="revoked").count() == 0
    p.once("dialog", lambda d: d.accept())
    row.locator("button", has_text="Revoke").click()
    p.wait_for_url("**/account#keys")
    assert p.locator("tr", has_text="laptop").locator(".badge", has_text="revoked").count() == 1
    assert key not in p.locator("#keys").inner_text()  # shown once: not after the reload
    page.shot("account")
    assert page.errors == []


def test_a_downloaded_video_verifies_as_signed_and_watermarked(page, warm_studio, tmp_path):
    studio = warm_studio
    with studio.api("alice") as api:
        job = api.post(
            "/v1/videos", json={"prompt": "a blue cube spins", "seconds": "1", "size": "112x64"}
        ).json()
        for _ in range(600):
            if api.get(f"/v1/videos/{job['id']}").json()["status"] == "completed":
                break
            page.page.wait_for_timeout(200)
    page.sign_in("alice")
    v = page.goto(f"/videos/{job['id']}")
    with v.expect_download() as d:
        v.click("#download")
    path = tmp_path / "download.mp4"
    d.value.save_as(path)
    p = page.goto("/verify")
    p.set_input_files("#verify-file", str(path))
    p.wait_for_selector("#verify-result:not([hidden])")
    assert "Signed by Zoetrope" in p.locator("#c2pa").inner_text()
    page.shot("verify")
    assert page.errors == []


def test_a_plus_user_asking_for_20_seconds_sees_the_api_refusal_in_place(page, warm_studio):
    studio = warm_studio
    with studio.api("bob") as api:
        r = api.post("/v1/videos", json={"prompt": "a red ball", "seconds": "20", "size": "1280x720"})
    assert r.status_code >= 400
    message = r.json()["error"]["message"]
    page.sign_in("bob")
    p = page.page
    p.fill("textarea[name=prompt]", "a red ball")
    p.select_option("select[name=seconds]", "20")
    # The price line says it first, before any click: the create's own refusal is its quote's.
    p.wait_for_function("m => document.getElementById('cost').textContent === m", arg=message)
    p.click("#create button[type=submit]")
    error = p.locator("#create-error")
    error.wait_for()
    assert error.inner_text() == message
    assert p.locator("#jobs .tile").count() == 0
    page.shot("create-refused")
    assert all(re.search(r"status of 4\d\d", e) for e in page.errors)


def test_the_other_pages_render_and_fit_a_phone(page, browser, studio):
    page.sign_in("root")
    for path, name in (("/storyboard", "storyboard"), ("/explore", "explore"), ("/admin", "admin")):
        page.goto(path)
        page.shot(name)
    sb = page.goto("/storyboard")
    sb.click("#sb-add")
    assert sb.locator("#cards li").count() == 3
    sb.locator("#cards li").nth(2).locator("[data-remove]").click()
    sb.locator("#cards li").nth(1).locator("[data-move='-1']").click()
    cards = sb.locator("#cards li")
    assert "bounces" in cards.nth(0).locator("textarea").input_value()
    # the shots swap places, the clock does not: the first card still starts at 0
    assert [cards.nth(i).locator("[name=start]").input_value() for i in range(2)] == ["0", "4"]
    # The price as the board stands (two cards, 8 s: the added card had lengthened it to 12 s),
    # from the API before the click.
    sb.fill("#sb-seconds", "8")
    sb.dispatch_event("#sb-seconds", "change")
    sb.wait_for_function(
        "() => /^\\d+ credits \\(8 s at /.test(document.getElementById('sb-price').textContent)"
    )
    sb.select_option("#sb-resolution", "480")  # the plan's resolutions, as on Create
    sb.wait_for_function("() => / at 854x480\\)$/.test(document.getElementById('sb-price').textContent)")
    sb.dblclick("#sb-render")  # an impatient double click renders one storyboard, not two
    sb.wait_for_function(
        "() => !document.getElementById('sb-error').hidden || document.querySelector('#sb-out .tile')"
    )
    sb.wait_for_function("() => !document.getElementById('sb-render').disabled")
    assert sb.locator("#sb-out .tile").count() <= 1
    page.shot("storyboard-rendered")
    page.page.set_viewport_size({"width": 390, "height": 844})
    for path, name in (
        ("/create", "phone-create"),
        ("/library", "phone-library"),
        ("/account", "phone-account"),
    ):
        p = page.goto(path)
        assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        page.shot(name)
    # The render above may be refused (the reordered first card starts after 0 s): the browser logs
    # that 400, and the page shows the API's message in place; nothing else may error.
    assert [e for e in page.errors if not re.search(r"status of 40[04]", e)] == []


def test_the_create_pages_price_is_what_a_video_and_an_image_are_charged(page, warm_studio):
    """Create prices through the API's own quote of the request it sends (no price path of its own), so
    the price shown is what the create then takes from the balance."""
    page.sign_in("dana")  # pro: two images at once, and a balance no other test moves
    p = page.page
    sent = forms.sent(p)
    p.fill("textarea[name=prompt]", "a red ball bounces across a blue floor")
    p.select_option("select[name=seconds]", "2")
    p.select_option("select[name=resolution]", "480")
    shown = forms.price(p, "#cost", r"^\d+ credits \(2 s at 854x480\)$")
    before = forms.credits(p)
    p.click("#create button[type=submit]")
    p.wait_for_selector("#jobs .tile[data-status]", state="attached", timeout=GENERATE_MS)
    assert p.locator("#jobs .tile").first.get_attribute("data-status") == "completed"
    assert before - forms.credits(p) == shown

    p.click(".seg label:has-text('Image')")
    p.select_option("select[name=n]", "2")
    shown = forms.price(p, "#cost", r"^\d+ credits \(2 images at 854x480\)$")
    before = forms.credits(p)
    p.click("#create button[type=submit]")
    p.wait_for_function(
        "() => document.querySelectorAll('#jobs .tile img').length === 2", timeout=GENERATE_MS
    )
    p.wait_for_function("() => !document.querySelector('#create button[type=submit]').disabled")
    assert p.locator("#create-error").is_hidden(), p.locator("#create-error").inner_text()
    assert before - forms.credits(p) == shown

    priced = {path for _, path, quoted in sent if quoted}
    assert priced == {"v1/videos", "v1/images/generations"}, sent
    # No price path of the studio's own: its one JSON path is the room check before 2 variations.
    assert {path for _, path, _ in sent if path.startswith("studio/")} <= {"studio/concurrency"}, sent
    page.shot("create-priced")
    assert all(re.search(r"status of 4\d\d", e) for e in page.errors), page.errors


def test_a_plan_with_two_lanes_chooses_one_on_the_create_page(page, warm_studio):
    """Pro runs fast or relaxed: the Create page offers both, fast first, and the job runs in the one
    chosen; plus has one lane and no chooser."""
    page.sign_in("fay")  # pro, and no other test looks at its jobs
    p = page.page
    assert p.locator("select[name=lane]").input_value() == "fast"
    assert p.locator("select[name=lane] option").all_inner_texts() == ["Fast", "Relaxed"]
    sent = []
    p.on("request", lambda r: r.method == "POST" and "zoetrope-quote" not in r.headers and sent.append(r))
    p.fill("textarea[name=prompt]", "a blue cube drifts left")
    p.select_option("select[name=seconds]", "2")
    p.select_option("select[name=resolution]", "480")
    p.select_option("select[name=lane]", "relaxed")
    p.click("#create button[type=submit]")
    p.wait_for_selector("#jobs .tile[data-id], #create-error:not([hidden])", state="attached")
    assert p.locator("#create-error").is_hidden(), p.locator("#create-error").inner_text()
    assert [r.post_data_json["lane"] for r in sent if r.url.endswith("/v1/videos")] == ["relaxed"]
    video_id = p.locator("#jobs .tile").first.get_attribute("data-id")
    v = page.goto(f"/videos/{video_id}")
    assert v.locator("dt:has-text('Lane') + dd").inner_text() == "relaxed"

    bob = page.page.context.browser.new_context().new_page()
    bob.goto(warm_studio.url + "/signin")
    bob.fill("input[name=email]", warm_studio.email("bob"))
    bob.fill("input[name=password]", forms.PASSWORD)
    bob.click("button[type=submit]")
    bob.wait_for_url("**/create")
    assert bob.locator("select[name=lane]").count() == 0  # plus: relaxed only
    bob.context.close()


def test_a_page_whose_session_ended_says_so_and_signs_in_back_to_it(page, studio):
    """Signed out in another tab, the Create page's next API call says the session ended (not the API's
    words about keys), with a link that signs in again and comes back to the page."""
    create = forms.sign_up(page, "session-ended@example.com")
    create.wait_for_function("() => document.getElementById('cost').textContent !== '…'")
    other = create.context.new_page()  # another tab of the same browser signs out
    other.goto(studio.url + "/account")
    other.click("header form[action='/signout'] button")
    other.wait_for_url("**/signin")
    other.close()

    ended = "Your session has ended: sign in again"
    back = "/signin?next=%2Fcreate"
    create.select_option("select[name=seconds]", "4")  # a change asks the API for the price
    create.wait_for_function("m => document.getElementById('cost').textContent === m", arg=ended)
    banner = create.locator("#session-ended")
    assert banner.inner_text() == ended and banner.get_attribute("role") == "alert"
    assert banner.locator("a").get_attribute("href") == back
    create.fill("textarea[name=prompt]", "a red ball")
    create.click("#create button[type=submit]")
    error = create.locator("#create-error")
    error.wait_for()
    assert error.inner_text() == ended and error.locator("a").get_attribute("href") == back
    assert "Bearer" not in create.locator("main").inner_text()
    assert create.locator("#session-ended").count() == 1 and create.locator("#jobs .tile").count() == 0
    page.shot("session-ended")

    banner.locator("a").click()
    create.wait_for_url("**/signin?next=*")
    create.fill("input[name=email]", "session-ended@example.com")
    create.fill("input[name=password]", forms.PASSWORD)
    create.click("button[type=submit]")
    create.wait_for_url("**/create")
    forms.price(create, "#cost", r"^\d+ credits \(")
    assert all(re.search(r"status of 401", e) for e in page.errors), page.errors


def test_a_free_plan_is_priced_as_it_pays(page, warm_studio):
    """bing-free pays nothing in the relaxed lane, and nothing in the fast one while its free fast
    generations last: the Create page says so, from the API's quote, rather than list-price credits."""
    page.sign_in("gus")
    p = page.page
    assert p.locator("select[name=lane]").input_value() == "relaxed"  # the plan's own lane first
    p.fill("textarea[name=prompt]", "a green cone spins")
    p.select_option("select[name=seconds]", "2")
    p.select_option("select[name=aspect]", "vertical")  # the plan's one aspect
    p.wait_for_function("() => /^free \\(2 s at /.test(document.getElementById('cost').textContent)")
    p.select_option("select[name=lane]", "fast")
    p.wait_for_function("() => /^free \\(2 s at /.test(document.getElementById('cost').textContent)")
    quoted = p.evaluate(
        "async () => Studio.quote(Studio.tasks.create(),"
        " {prompt: 'a cone', seconds: '2', size: '270x480', lane: 'fast'})"
    )
    assert (quoted["credits"], quoted["points"], quoted["lane"]) == (0, 0, "fast")
