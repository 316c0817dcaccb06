"""`POST /v1/content_provenance_checks` with a file it cannot check says which field, why and what
to send instead, in OpenAI's error shape."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from zoetrope.api import errors
from zoetrope.api.deps import principal, services
from zoetrope.api.routes.safety import router


def _client() -> TestClient:
    app = FastAPI()
    errors.install(app)
    app.include_router(router)
    app.dependency_overrides[principal] = lambda: SimpleNamespace(account_id="acct_test")
    app.dependency_overrides[services] = lambda: None  # refused before any record is looked up
    return TestClient(app)


def _ftyp(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00mif1heic" + bytes(64)


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("photo.heic", _ftyp(b"heic"), "HEIC"),
    ("picture.avif", _ftyp(b"avif"), "AVIF"),
], ids=["heic", "avif"])
def test_heif_pictures_are_named_with_the_formats_to_send(name, data, kind):
    r = _client().post("/v1/content_provenance_checks", files={"file": (name, data)})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["param"] == "file" and error["code"] == "invalid_media"
    assert error["type"] == "invalid_request_error"
    assert kind in error["message"] and "not supported" in error["message"]
    assert "send" in error["message"] and "PNG" in error["message"]  # the fix


def test_other_files_say_what_to_send():
    r = _client().post("/v1/content_provenance_checks", files={"file": ("notes.txt", b"hello, world\n" * 4)})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "file" and error["code"] == "invalid_media"
    message = error["message"]
    assert message.startswith("file ") and "MP4, PNG, JPEG or WebP" in message
    assert "send" in message  # the fix, not only the refusal
