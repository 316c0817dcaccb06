"""The Create page's price with an image to animate: the image's bytes go to the quote once, not with
every change of another field, and the price is the API's quote of the request with the image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture()
def photo(tmp_path):
    """A 640x480 PNG of noise (about 900 KB: an upload worth not repeating)."""
    pixels = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    path = tmp_path / "beach.png"
    Image.fromarray(pixels).save(path)
    return path


def _quotes(p) -> list[dict]:
    """Each quote the page asks for from now on: the name and size of the image it sends (the
    browser does not report a file's bytes in a request, so they are read as the page hands them
    to fetch)."""
    p.evaluate(
        """() => {
          window.quotes = [];
          const send = window.fetch;
          window.fetch = (url, init = {}) => {
            if (init.headers && init.headers["Zoetrope-Quote"]) {
              const image = init.body instanceof FormData ? init.body.get("input_reference") : null;
              window.quotes.push(image ? { name: image.name, size: image.size } : {});
            }
            return send(url, init);
          };
        }"""
    )
    return p


def _sent(p) -> list[dict]:
    return p.evaluate("() => window.quotes")


def _priced(p, pattern: str) -> str:
    p.wait_for_function("p => new RegExp(p).test(document.getElementById('cost').textContent)", arg=pattern)
    return p.locator("#cost").inner_text()


def _api_quote(studio, name: str, fields: dict, image: bytes) -> dict:
    with studio.api(name) as api:
        r = api.post(
            "/v1/videos",
            data=fields,
            files={"input_reference": ("beach.png", image, "image/png")},
            headers={"zoetrope-quote": "true"},
        )
    assert r.status_code == 200, r.text
    return r.json()


def test_the_price_sends_a_chosen_image_once_and_is_the_apis_quote_with_it(page, studio, photo):
    page.sign_in("fay")
    p = page.page
    image = photo.read_bytes()
    p.fill("textarea[name=prompt]", "the waves roll in")
    p.select_option("select[name=seconds]", "2")
    p.select_option("select[name=resolution]", "480")
    _priced(p, r"^\d+ credits \(2 s at 854x480\)$")
    _quotes(p)
    p.set_input_files("input[name=image]", str(photo))
    _priced(p, r"^\d+ credits \(2 s at 854x480\)$")
    for seconds in ("4", "8"):
        p.select_option("select[name=seconds]", seconds)
        _priced(p, rf"^\d+ credits \({seconds} s at 854x480\)$")
    p.select_option("select[name=aspect]", "square")
    _priced(p, r"^\d+ credits \(8 s at 480x480\)$")
    with p.expect_response(lambda r: "zoetrope-quote" in r.request.headers):
        p.fill("textarea[name=prompt]", "the waves roll in and out")
        p.dispatch_event("textarea[name=prompt]", "change")
    shown = _priced(p, r"^\d+ credits \(8 s at 480x480\)$")

    sent = _sent(p)
    assert len(sent) == 5, sent
    carrying = [q for q in sent if q == {"name": "beach.png", "size": len(image)}]
    assert len(carrying) == 1, f"{len(carrying)} of {len(sent)} quotes uploaded the image"
    assert all(q["size"] < len(image) / 10 for q in sent if q not in carrying), sent
    # The price shown is the API's for the request Generate sends, image and all.
    fields = {"prompt": "the waves roll in and out", "model": p.input_value("select[name=model]")}
    q = _api_quote(studio, "fay", {**fields, "size": "480x480", "seconds": "8"}, image)
    assert shown == f"{q['credits']} credits (8 s at 480x480)"
    assert page.errors == []


def test_an_image_the_api_refuses_is_refused_in_the_price_without_sending_it_again(page, studio, tmp_path):
    page.sign_in("fay")
    p = page.page
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"not a picture at all " * 4000)
    p.fill("textarea[name=prompt]", "the notes flutter")
    p.select_option("select[name=resolution]", "480")
    _quotes(p)
    p.set_input_files("input[name=image]", str(fake))
    refusal = _priced(p, "not a supported media file")
    p.click(".seg label:has-text('Image')")  # an image is drawn from the prompt alone: no file
    _priced(p, r"^\d+ credits? \(1 image at ")
    assert p.locator("input[name=image]").is_disabled()  # so the page says so
    p.click(".seg label:has-text('Video')")
    assert p.locator("input[name=image]").is_enabled()
    p.select_option("select[name=seconds]", "2")
    p.wait_for_function("t => document.getElementById('cost').textContent === t", arg=refusal)
    assert [q for q in _sent(p) if q.get("name") == "notes.png"] == [
        {"name": "notes.png", "size": len(fake.read_bytes())}
    ]
    # Generate still sends the file, and shows the API's refusal under the form.
    tiles = p.locator("#jobs .tile").count()  # the account's jobs still running from other tests
    p.click("#create button[type=submit]")
    error = p.locator("#create-error")
    error.wait_for()
    assert error.inner_text() == refusal and p.locator("#jobs .tile").count() == tiles  # no job made
    # Another file is quoted afresh.
    p.set_input_files(
        "input[name=image]", {"name": "tiny.png", "mimeType": "image/png", "buffer": _png(64, 48)}
    )
    _priced(p, r"^\d+ credits \(2 s at 854x480\)$")


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()
