"""Files chosen in the studio: one over the server's upload limit is refused in the page, naming the
field and the limit, before any of it is sent."""

from __future__ import annotations

import pytest

from zoetrope.settings import get_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture()
def too_big(tmp_path):
    path = tmp_path / "poster.png"
    with path.open("wb") as f:  # sparse: the limit plus a megabyte, at no cost in disk
        f.truncate(get_settings().max_upload_bytes + 1024 * 1024)
    return path


def test_an_image_over_the_upload_limit_is_refused_on_create_before_it_is_sent(page, studio, too_big):
    page.sign_in("fay")
    p = page.page
    posts = []
    p.on("request", lambda r: r.method == "POST" and "/v1/" in r.url and posts.append(r.url))
    p.fill("textarea[name=prompt]", "the poster comes alive")
    p.set_input_files("input[name=image]", str(too_big))
    expected = "Start from an image: poster.png is 65.0 MB; the limit is 64.0 MB: choose a smaller file"
    p.wait_for_function("m => document.getElementById('cost').textContent === m", arg=expected)
    p.click("#create button[type=submit]")
    error = p.locator("#create-error")
    error.wait_for()
    assert error.inner_text() == expected and p.locator("#jobs .tile").count() == 0
    assert posts == []  # neither the price nor the create uploaded it
    p.set_input_files("input[name=image]", [])  # without the file the form prices again
    p.wait_for_function("() => /credits/.test(document.getElementById('cost').textContent)")


def test_a_file_over_the_upload_limit_is_refused_on_verify_before_it_is_sent(page, studio, too_big):
    page.sign_in("fay")
    p = page.goto("/verify")
    posts = []
    p.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    p.set_input_files("#verify-file", str(too_big))
    error = p.locator("#verify-error")
    error.wait_for()
    assert error.inner_text() == "File: poster.png is 65.0 MB; the limit is 64.0 MB: choose a smaller file"
    assert posts == [] and p.locator("#verify-result").is_hidden()
