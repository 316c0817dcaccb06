"""The safety routes answer in the shapes the official `openai` client parses."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from zoetrope.api import errors
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.routes.safety import router
from zoetrope.db import make_engine
from zoetrope.jobs.migrate import upgrade
from zoetrope.media import write_mp4
from zoetrope.safety import embed_watermark, payload_for, sign_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from watermark import clip  # noqa: E402


def _client(tmp_path: Path | None = None) -> TestClient:
    app = FastAPI()
    errors.install(app)
    app.include_router(router)
    # Auth is the platform's, tested in tests/api; records are looked up in an empty database.
    app.dependency_overrides[principal] = lambda: SimpleNamespace(account_id="acct_test")
    if tmp_path is not None:
        engine = make_engine(f"sqlite:///{tmp_path / 'z.db'}")
        upgrade(engine)
        app.dependency_overrides[services] = lambda: Services(engine, None, None, None)  # type: ignore[arg-type]
    return TestClient(app)


def test_moderations_route_parses_as_openai_moderation_response():
    from openai.types import ModerationCreateResponse

    r = _client().post("/v1/moderations", json={"input": ["a girl cutting her wrists", "a sunny meadow"]})
    assert r.status_code == 200
    parsed = ModerationCreateResponse.model_validate(r.json())
    assert [m.flagged for m in parsed.results] == [True, False]


def test_moderations_route_has_openais_top_level_fields_only():
    from openai.types import ModerationCreateResponse

    body = _client().post("/v1/moderations", json={"input": "a sunny meadow"}).json()
    # The client's model allows extra fields, so it parses either way: compare the names themselves.
    assert set(body) == set(ModerationCreateResponse.model_fields) == {"id", "model", "results"}
    assert body["id"].startswith("modr-") and body["model"] == "zoetrope-moderation-1"


def test_content_provenance_check_reads_c2pa_and_watermark(tmp_path):
    from openai.types import ContentProvenanceCheck

    path = write_mp4(tmp_path / "v.mp4", embed_watermark(clip(1000, 128), "video_api"), fps=8)
    sign_file(path, generation_id="video_api", model="zoetrope-mini")
    r = _client(tmp_path).post("/v1/content_provenance_checks", files={"file": ("v.mp4", path.read_bytes())})
    assert r.status_code == 200, r.text
    check = ContentProvenanceCheck.model_validate(r.json())
    assert check.results[0].type == "c2pa" and check.results[0].outcome == "detected"
    assert check.results[0].validation_state == "trusted" and check.results[0].model == "zoetrope-mini"
    assert r.json()["watermark"]["payload"] == payload_for("video_api").hex()
    assert r.json()["record"] is None  # no such job in this database


def test_content_provenance_check_rejects_non_media(tmp_path):
    r = _client(tmp_path).post(
        "/v1/content_provenance_checks", files={"file": ("x.txt", b"hello world, not media")}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_media"


def test_moderations_take_the_clients_text_parts_and_refuse_what_they_cannot_read():
    from openai.types import ModerationCreateResponse

    c = _client()
    # Parts are one input, as OpenAI reads them: one result, flagged when any part is.
    parts = [{"type": "text", "text": "a sunny meadow"}, {"type": "text", "text": "a girl cutting her wrists"}]
    r = c.post("/v1/moderations", json={"input": parts, "model": "omni-moderation-latest"})
    assert r.status_code == 200, r.text
    assert [m.flagged for m in ModerationCreateResponse.model_validate(r.json()).results] == [True]
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    for body, param, says in (
        ({"input": [{"type": "text", "text": "a cat"}, image]}, "input[1]", "image input"),
        ({"input": ["a cat", {"type": "text", "text": "a dog"}]}, "input", "not both"),
        ({"input": "a cat", "model": "omni-moderationX"}, "model", "unknown moderation model"),
        ({"input": "word " * 7000}, "input", "the limit is 32,000"),
        ({"input": "a cat", "model": "gpt-4o"}, "model", "unknown moderation model"),
    ):
        r = c.post("/v1/moderations", json=body)
        assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
        assert says in r.json()["error"]["message"]


def test_content_provenance_check_speaks_of_the_callers_file(tmp_path, monkeypatch):
    path = write_mp4(tmp_path / "v.mp4", clip(1000, 64), fps=8)
    truncated = path.read_bytes()[: len(path.read_bytes()) // 3]
    r = _client(tmp_path).post("/v1/content_provenance_checks", files={"file": ("mine.mp4", truncated)})
    assert r.status_code == 400 and "upload." not in r.json()["error"]["message"], r.text
    monkeypatch.setenv("ZOETROPE_MAX_UPLOAD_BYTES", "2048")
    from zoetrope.settings import get_settings

    get_settings.cache_clear()
    r = _client(tmp_path).post("/v1/content_provenance_checks", files={"file": ("v.mp4", path.read_bytes())})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large", r.text


def test_moderations_set_openais_finer_categories_from_the_wording():
    texts = ["step by step how to kill myself with pills", "a teenager cutting her wrists",
             "death to all immigrants, hang them", "a poster mocking jews as rats"]  # fmt: skip
    r = _client().post("/v1/moderations", json={"input": texts})
    assert r.status_code == 200, r.text
    flagged = [{k for k, v in item["categories"].items() if v} for item in r.json()["results"]]
    assert flagged[0] >= {"self-harm", "self-harm/intent", "self-harm/instructions"}
    assert "self-harm" in flagged[1] and not flagged[1] & {"self-harm/intent", "self-harm/instructions"}
    assert flagged[2] >= {"hate", "hate/threatening"}
    assert "hate" in flagged[3] and "hate/threatening" not in flagged[3]


def test_content_provenance_check_names_what_is_wrong_with_the_file_part(tmp_path):
    path = write_mp4(tmp_path / "v.mp4", clip(1000, 64), fps=8)
    c = _client(tmp_path)
    for kwargs, says in (
        ({"files": [("file", ("a.mp4", path.read_bytes())), ("file", ("b.mp4", path.read_bytes()))]}, "one file"),
        ({"data": {"file": "hello"}}, "a file upload"),
        ({"files": {"file": ("empty.mp4", b"")}}, "file is empty"),
    ):
        r = c.post("/v1/content_provenance_checks", **kwargs)
        assert r.status_code == 400 and r.json()["error"]["param"] == "file", r.text
        assert says in r.json()["error"]["message"], r.text
