"""Endpoints the official `openai` client has that this server does not serve: the client raises
NotFoundError whose message says so and what to use instead, not a bare 404 or a 405."""

from __future__ import annotations

import warnings

import openai
import pytest
from openai import OpenAI

from tests.api.inprocess import InProcess

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture()
def client(tmp_path, monkeypatch):
    api = InProcess(tmp_path, monkeypatch)
    return OpenAI(
        base_url="http://testserver/v1", api_key=api.tokens["pro"], http_client=api.http, max_retries=0
    )


CALLS = {
    "create_character": (
        lambda c: c.videos.create_character(name="ada", video=("a.mp4", b"x", "video/mp4")),
        "characters",
        "/v1/videos",
    ),
    "get_character": (lambda c: c.videos.get_character("char_123"), "characters", "/v1/videos"),
    "images.edit": (
        lambda c: c.images.edit(prompt="blue", image=("a.png", PNG, "image/png")),
        "edits",
        "/v1/images/generations",
    ),
    "images.create_variation": (
        lambda c: c.images.create_variation(image=("a.png", PNG, "image/png")),
        "variations",
        "/v1/images/generations",
    ),
}


@pytest.mark.parametrize("name", CALLS)
def test_unsupported_call_is_not_found_naming_what_to_use(client, name):
    call, what, instead = CALLS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(openai.NotFoundError) as caught:
            call(client)
    err = caught.value
    assert err.code == "unsupported_endpoint"
    assert what in err.message and "not supported" in err.message and instead in err.message


def test_unsupported_call_still_needs_a_key(client):
    bad = client.with_options(api_key="zk-not-a-key")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(openai.AuthenticationError):
            bad.videos.get_character("char_123")


def test_deleting_a_model_is_refused_as_not_deletable(client):
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.models.delete("zoetrope-mini")
    assert (caught.value.code, caught.value.param) == ("model_not_deletable", "model")
    assert "configuration" in caught.value.message
    assert "zoetrope-mini" in [m.id for m in client.models.list()]  # still there
    with pytest.raises(openai.NotFoundError):
        client.models.delete("no-such-model")
