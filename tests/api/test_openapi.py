"""The live server's /openapi.json says what the server does.

Every operation is called for real, its refusals too, and each answer is held to the spec: its
status is one the operation declares, its media type one declared for that status, and a JSON body
validates against the schema declared for it. And bodies valid under a create's schema are taken
(schemathesis' positive-data check), the source videos and images they name made real."""

from __future__ import annotations

import http.client
import os
import time

import httpx
import jsonschema
import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance, response_schema_conformance

from zoetrope import media

pytestmark = pytest.mark.slow
FUZZ_EXAMPLES = int(os.environ.get("ZOETROPE_FUZZ_EXAMPLES", "6"))
SIZE = "64x112"
PNG = media.encode_png(np.full((112, 64, 3), 90, np.uint8))
MP4 = media.encode_mp4(np.full((8, 112, 64, 3), 90, np.uint8), fps=8)


@pytest.fixture(scope="module")
def spec(server) -> dict:
    return httpx.get(server.url + "/openapi.json", timeout=60).json()


@pytest.fixture(scope="module")
def admin(server) -> str:
    """A key of an admin account, written into the server's database."""
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction

    engine = make_engine(f"sqlite:///{server.data_dir / 'zoetrope.db'}")
    with transaction(engine, immediate=True) as s:
        account = create_account(s, "spec-admin", plan="pro", is_admin=True)
        token = create_key(s, account.id)[1]
    engine.dispose()
    return token


def conforms(spec: dict, method: str, template: str, r: httpx.Response) -> None:
    """`r` is an answer the spec declares for `method template`, in a declared media type and shape."""
    responses = spec["paths"][template][method.lower()]["responses"]
    declared = responses.get(str(r.status_code))
    assert declared is not None, (
        f"{method} {template} answered {r.status_code} ({sorted(responses)}): {r.text[:300]}"
    )
    content = declared.get("content")
    if not content:
        assert r.content == b"", f"{method} {template} {r.status_code} declares no body"
        return
    media_type = r.headers["content-type"].split(";")[0].strip()
    assert media_type in content, (
        f"{method} {template} {r.status_code}: {media_type} is not in {sorted(content)}"
    )
    if media_type == "application/json":
        schema = {**content[media_type]["schema"], "components": spec["components"]}
        jsonschema.validate(r.json(), schema, cls=jsonschema.Draft202012Validator)


class Calls:
    """Requests to the live server, each answer held to the spec as it comes."""

    def __init__(self, server, spec: dict) -> None:
        self.server, self.spec = server, spec
        self.statuses: dict[tuple[str, str], set[int]] = {}

    def __call__(
        self, key: str | None, method: str, template: str, ids: dict | None = None, *, expect: int, **kw
    ) -> httpx.Response:
        headers = {**({"authorization": f"Bearer {key}"} if key else {}), **kw.pop("headers", {})}
        url = self.server.url + template.format(**(ids or {}))
        r = httpx.request(method, url, headers=headers, timeout=120, **kw)
        assert r.status_code == expect, f"{method} {url}: {r.status_code} {r.text[:300]}"
        conforms(self.spec, method, template, r)
        self.statuses.setdefault((method.lower(), template), set()).add(r.status_code)
        return r

    def over_the_cap(self, key: str, template: str) -> None:
        """A body whose Content-Length is over the upload cap (httpx will not send one it lacks)."""
        conn = http.client.HTTPConnection(self.server.url.removeprefix("http://"), timeout=60)
        conn.putrequest("POST", template)
        for name, value in (("authorization", f"Bearer {key}"), ("content-type", "application/json")):
            conn.putheader(name, value)
        conn.putheader("content-length", str(1 << 40))
        conn.endheaders(b"{")
        answer = conn.getresponse()
        r = httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())
        conn.close()
        assert r.status_code == 413, r.text
        conforms(self.spec, "POST", template, r)

    def completed(self, key: str, video_id: str) -> dict:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            video = self(key, "GET", "/v1/videos/{video_id}", {"video_id": video_id}, expect=200).json()
            if video["status"] in ("completed", "failed"):
                assert video["status"] == "completed", video
                return video
            time.sleep(0.2)
        raise AssertionError(f"{video_id} did not complete")

    def create(self, key: str, template: str, ids: dict | None = None, **kw) -> str:
        """A create that is taken, its video deleted at once (the plan's concurrent jobs stay free)."""
        video = self(key, "POST", template, ids, expect=200, **kw).json()
        assert video["object"] == "video", video
        self(key, "DELETE", "/v1/videos/{video_id}", {"video_id": video["id"]}, expect=200)
        return video["id"]


def test_every_operation_answers_as_its_spec_says(server, spec, admin):
    call = Calls(server, spec)
    # Accounts of the test's own, made with the admin API.
    account = call(
        admin, "POST", "/v1/admin/accounts", json={"name": "spec-pro", "plan": "pro"}, expect=200
    ).json()
    call(admin, "POST", "/v1/admin/accounts", json={"name": "spec-pro"}, expect=409)
    aid = {"account_id": account["id"]}
    key = call(admin, "POST", "/v1/admin/accounts/{account_id}/keys", aid, json={}, expect=200).json()["key"]
    slow = call(
        admin,
        "POST",
        "/v1/admin/accounts/{account_id}/keys",
        aid,
        json={"quota": {"requests_per_minute": 1}},
        expect=200,
    ).json()
    call(admin, "GET", "/v1/admin/accounts/{account_id}", aid, expect=200)
    call(admin, "GET", "/v1/admin/accounts/{account_id}", {"account_id": "nobody"}, expect=404)
    call(admin, "PATCH", "/v1/admin/accounts/{account_id}", aid, json={"country": "US"}, expect=200)
    call(admin, "POST", "/v1/admin/accounts/{account_id}/credits", aid, json={"amount": 5}, expect=200)
    call(admin, "GET", "/v1/admin/accounts", expect=200)
    call(admin, "GET", "/v1/admin/plans", expect=200)
    call(admin, "GET", "/v1/admin/keys", params={"account": account["id"]}, expect=200)
    call(admin, "GET", "/v1/admin/usage", expect=200)
    call(admin, "GET", "/v1/admin/usage", params={"group_by": "planet"}, expect=400)
    month = time.strftime("%Y-%m", time.gmtime())
    call(admin, "GET", "/v1/admin/invoices/{month}.csv", {"month": month}, expect=200)
    call(key, "GET", "/v1/admin/plans", expect=403)
    call(None, "GET", "/v1/models", expect=401)

    # A source video, and what may be downloaded of it.
    json_ = {"prompt": "a red ball bounces", "size": SIZE, "seconds": "1"}
    source = call(key, "POST", "/v1/videos", json=json_, expect=200).json()["id"]
    call.completed(key, source)
    vid = {"video_id": source}
    content = "/v1/videos/{video_id}/content"
    whole = call(key, "GET", content, vid, expect=200)
    for variant in ("thumbnail", "spritesheet"):
        call(key, "GET", content, vid, params={"variant": variant}, expect=200)
    call(key, "GET", content, vid, headers={"range": "bytes=0-9"}, expect=206)
    call(key, "GET", content, vid, headers={"if-none-match": whole.headers["etag"]}, expect=304)
    call(key, "GET", content, vid, headers={"range": f"bytes={len(whole.content) + 10}-"}, expect=416)
    call(key, "GET", content, vid, params={"variant": "poster"}, expect=400)
    call(key, "GET", content, {"video_id": "video_nope"}, expect=404)
    call(key, "GET", "/v1/videos/{video_id}", {"video_id": "video_nope"}, expect=404)
    call(key, "GET", "/v1/videos", params={"limit": 2}, expect=200)
    call(key, "GET", "/v1/videos", params={"limit": 0}, expect=400)

    # Every create: taken, quoted, refused.
    call.create(key, "/v1/videos", json=json_)
    call.create(
        key, "/v1/videos", data={"prompt": "a red ball", "seconds": "1"}, files={"input_reference": PNG}
    )
    quote = call(key, "POST", "/v1/videos", json=json_, headers={"zoetrope-quote": "true"}, expect=200).json()
    assert quote["object"] == "video.quote", quote
    call(key, "POST", "/v1/videos", json={**json_, "size": "1000x300"}, expect=400)
    call(server.keys["bob"], "POST", "/v1/videos", json={**json_, "lane": "fast"}, expect=403)
    call(key, "POST", "/v1/videos", json=json_, headers={"idempotency-key": "spec-1"}, expect=200)
    call(
        key,
        "POST",
        "/v1/videos",
        json={**json_, "seconds": "2"},
        headers={"idempotency-key": "spec-1"},
        expect=409,
    )
    call.over_the_cap(key, "/v1/videos")
    call.create(slow["key"], "/v1/videos", json=json_)
    call(slow["key"], "POST", "/v1/videos", json=json_, expect=429)
    balance = call(admin, "GET", "/v1/admin/accounts/{account_id}", aid, expect=200).json()["credits"]
    call(admin, "POST", "/v1/admin/accounts/{account_id}/credits", aid, json={"amount": -balance}, expect=200)
    call(key, "POST", "/v1/videos", json=json_, expect=402)
    call(admin, "POST", "/v1/admin/accounts/{account_id}/credits", aid, json={"amount": balance}, expect=200)
    ref = {"prompt": "at night", "video": {"id": source}}
    call.create(key, "/v1/videos/extensions", json={**ref, "seconds": "1"})
    call(key, "POST", "/v1/videos/extensions", json={**ref, "video": {"id": "video_nope"}}, expect=404)
    call.create(
        key, "/v1/videos/edits", data={"prompt": "at night"}, files={"video": ("clip.mp4", MP4, "video/mp4")}
    )
    call(key, "POST", "/v1/videos/edits", json={**ref, "strength": 2}, expect=400)
    call.create(key, "/v1/videos/{video_id}/remix", vid, json={"prompt": "at night", "strength": 0.5})
    call(key, "POST", "/v1/videos/{video_id}/remix", {"video_id": "video_nope"}, json=ref, expect=404)
    call.create(key, "/v1/videos/{video_id}/loop", vid, json={"prompt": "round", "seconds": "1"})
    call.create(key, "/v1/videos/blends", json={"prompt": "into", "video_a": source, "video_b": source})
    call.create(
        key,
        "/v1/videos/storyboards",
        json={"cards": [{"prompt": "a ball", "start": 0}], "seconds": "1", "size": SIZE},
    )
    call(key, "POST", "/v1/videos/storyboards", json={"cards": [], "seconds": "1"}, expect=400)
    call.create(key, "/v1/videos/{video_id}/recut", vid, json={"prompt": "on", "start": 0, "end": 0.5})
    call(
        key,
        "POST",
        "/v1/videos/{video_id}/recut",
        vid,
        json={"prompt": "on", "start": 0.5, "end": 0},
        expect=400,
    )
    images = "/v1/images/generations"
    form = {"prompt": (None, "a red ball"), "size": (None, "64x64")}  # multipart, with no file
    made = call(key, "POST", images, files=form, expect=200).json()
    assert made["data"] and made["size"] == "64x64", made
    call(
        key,
        "POST",
        images,
        json={"prompt": "a red ball", "n": 2},
        headers={"zoetrope-quote": "true"},
        expect=200,
    )
    call(key, "POST", images, json={"prompt": "a red ball", "size": "1536x1024"}, expect=400)

    # The rest: the video itself, models, usage, safety, the key revoked last.
    call(key, "DELETE", "/v1/videos/{video_id}", {"video_id": "video_nope"}, expect=404)
    call(key, "GET", "/v1/models", expect=200)
    call(key, "GET", "/v1/models/{model_id}", {"model_id": "sora-2"}, expect=200)
    call(key, "GET", "/v1/models/{model_id}", {"model_id": "dall-e-2"}, expect=404)
    call(key, "GET", "/v1/usage", params={"group_by": "model"}, expect=200)
    call(key, "GET", "/v1/usage", params={"group_by": "planet"}, expect=400)
    call(key, "POST", "/v1/moderations", json={"input": ["a red ball", "a calm lake"]}, expect=200)
    call(key, "POST", "/v1/moderations", json={"input": []}, expect=400)
    checks = "/v1/content_provenance_checks"
    report = call(
        key, "POST", checks, files={"file": ("v.mp4", whole.content, "video/mp4")}, expect=200
    ).json()
    assert report["record"]["id"] == source, report
    call(key, "POST", checks, files={"file": ("v.mp4", b"not a video", "video/mp4")}, expect=400)
    call(key, "DELETE", "/v1/videos/{video_id}", vid, expect=200)
    call(admin, "DELETE", "/v1/admin/keys/{key_id}", {"key_id": slow["id"]}, expect=200)

    operations = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert operations - set(call.statuses) == set(), "operations this test does not call"


# Creates whose every rule JSON Schema can state; a storyboard's cards in order before its `seconds`
# and a recut's start before its end it cannot.
CREATES = [
    "POST /v1/videos",
    "POST /v1/videos/extensions",
    "POST /v1/videos/edits",
    "POST /v1/videos/{video_id}/remix",
    "POST /v1/videos/{video_id}/loop",
    "POST /v1/videos/blends",
    "POST /v1/images/generations",
]


def _made_real(body, source: str) -> None:
    """The files and video ids a generated body names, made ones the server can read: an upload
    the real MP4 or PNG, an id that of a completed video of the caller's."""
    if not isinstance(body, dict):
        return
    for name in ("video", "video_a", "video_b"):
        if name in body:
            value = body[name]
            body[name] = (
                source if isinstance(value, str) else {"id": source} if isinstance(value, dict) else MP4
            )
    if "input_reference" in body:
        body["input_reference"] = PNG


@pytest.mark.timeout(300 + 20 * FUZZ_EXAMPLES)  # 14 bodies of each example, images rendered while they wait
def test_bodies_valid_under_a_creates_schema_are_taken(server, spec, admin):
    call = Calls(server, spec)
    account = call(
        admin, "POST", "/v1/admin/accounts", json={"name": "spec-fuzz", "plan": "pro"}, expect=200
    ).json()
    key = call(
        admin,
        "POST",
        "/v1/admin/accounts/{account_id}/keys",
        {"account_id": account["id"]},
        json={},
        expect=200,
    ).json()["key"]
    source = call(
        key, "POST", "/v1/videos", json={"prompt": "a red ball", "size": SIZE, "seconds": "1"}, expect=200
    )
    source = call.completed(key, source.json()["id"])["id"]
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    statuses: dict[str, list[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label not in CREATES:
            continue
        for media_type in spec["paths"][operation.path][operation.method.lower()]["requestBody"]["content"]:

            @given(case=operation.as_strategy(media_type=media_type, path_parameters={"video_id": source}))
            @settings(
                max_examples=FUZZ_EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def create(case):
                _made_real(case.body, source)
                response = case.call_and_validate(
                    headers={"authorization": f"Bearer {key}"},
                    checks=[not_a_server_error, positive_data_acceptance, response_schema_conformance],
                    timeout=300,
                )
                statuses.setdefault(case.operation.label, []).append(response.status_code)
                video = response.json() if response.status_code == 200 else {}
                if video.get("object") == "video":  # the plan's concurrent jobs stay free for the next
                    httpx.delete(
                        f"{server.base_url}/videos/{video['id']}", headers={"authorization": f"Bearer {key}"}
                    )

            create()
    print(statuses)
    assert set(statuses) == set(CREATES)
    assert all(200 in taken for taken in statuses.values()), statuses
