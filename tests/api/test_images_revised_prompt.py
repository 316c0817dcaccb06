"""`/v1/images/generations` answers `revised_prompt` (DALL-E 3's field) where the bundled model reads the
prompt as a world scene and is given other words; in process, with the test playing the worker."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import images_app
from zoetrope.access.accounts import open_account
from zoetrope.access.keys import create_key
from zoetrope.db import transaction
from zoetrope.jobs import dispatch
from zoetrope.media import encode_png


def _one_image(tmp_path, prompt: str) -> dict:
    engine, blobs, policy, app = images_app(tmp_path)
    with transaction(engine, immediate=True) as s:
        token = create_key(s, open_account(s, "rey", plan="pro").id)[1]
    answer = {}

    def ask():
        answer["r"] = TestClient(app).post(
            "/v1/images/generations", json={"prompt": prompt, "size": "64x64"},
            headers={"Authorization": f"Bearer {token}"},
        )

    asking = threading.Thread(target=ask)
    asking.start()
    job, deadline = None, time.monotonic() + 120
    while job is None and time.monotonic() < deadline:  # the worker: take the image as it is queued
        job = dispatch.claim_next(engine, "test-worker", policy)
        time.sleep(0.05)
    key = f"videos/{job.id}/1/image.png"
    blobs.put(key, encode_png(np.full((64, 64, 3), 90, np.uint8)))
    dispatch.complete(engine, job.id, "test-worker", policy, outputs={"image": key}, details={})
    asking.join(timeout=60)
    assert answer["r"].status_code == 200, answer["r"].text
    return answer["r"].json()["data"][0]


@pytest.mark.parametrize(
    ("prompt", "revised"),
    [
        ("a ball colored violet whirling around", "a purple circle spins"),
        ("a red circle moves left", None),  # already the model's words
        ("a cat on a sofa", None),  # no world scene: given as typed
    ],
)
def test_an_image_answers_the_words_the_model_was_given(tmp_path, prompt, revised):
    image = _one_image(tmp_path, prompt)
    assert image["revised_prompt"] == revised
    assert image["b64_json"]
