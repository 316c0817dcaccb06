"""The `upstream` backend end to end: a relay `zoetrope serve` whose model `relay` is another
`zoetrope serve` (the upstream), driven with the official `openai` client."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tests.api.conftest import REPO, free_port, make_keys, start_process, wait_healthy
from zoetrope.media import read_frames

SIZE = "64x64"
# Two servers start here; on a loaded machine that alone can take minutes.
pytestmark = pytest.mark.timeout(900)


@dataclass
class Pair:
    upstream_url: str
    upstream_key: str
    relay_url: str
    relay_key: str


def _relay_config(path: Path, upstream_v1: str) -> Path:
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    common = (
        f'base_url = "{upstream_v1}"\nmodel = "sora-2"\nsizes = ["{SIZE}"]\nmax_seconds = 4\n'
        "fps = 8\npoll_interval = 0.2\nretries = 1\n"
    )
    models = (
        f'\n[[models]]\nname = "relay"\nbackend = "upstream"\n[models.options]\n{common}'
        f'api_key_env = "RELAY_UPSTREAM_KEY"\n'
        f'\n[[models]]\nname = "relay-badkey"\nbackend = "upstream"\n[models.options]\n{common}'
        'api_key = "zk-not-a-real-key"\n'
    )
    path.write_text(defaults + models)
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Pair:
    from zoetrope.backends.bundled import write_tiny_random_weights

    weights = write_tiny_random_weights(tmp_path_factory.mktemp("weights"))
    up_dir, relay_dir = tmp_path_factory.mktemp("upstream"), tmp_path_factory.mktemp("relay")
    up_keys, relay_keys = make_keys(up_dir), make_keys(relay_dir)
    up_port, relay_port = free_port(), free_port()
    up_url, relay_url = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{relay_port}"
    base = {**os.environ, "ZOETROPE_WEIGHTS_DIR": str(weights), "PYTHONPATH": str(REPO)}
    base.pop("ZOETROPE_CONFIG_FILE", None)
    up_env = {**base, "ZOETROPE_DATA_DIR": str(up_dir), "ZOETROPE_WORKERS": "1"}
    relay_env = {
        **base,
        "ZOETROPE_DATA_DIR": str(relay_dir),
        "ZOETROPE_WORKERS": "1",
        "ZOETROPE_CONFIG_FILE": str(_relay_config(relay_dir / "relay.toml", up_url + "/v1")),
        "RELAY_UPSTREAM_KEY": up_keys["alice"],
        "ZOETROPE_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',  # the upstream is on loopback
    }
    procs = [
        (start_process(["serve", "--port", str(up_port)], up_env, up_dir / "serve.log"), up_url, up_dir),
        (start_process(["serve", "--port", str(relay_port)], relay_env, relay_dir / "serve.log"), relay_url,
         relay_dir),
    ]
    try:
        for proc, url, data_dir in procs:
            wait_healthy(url, proc, data_dir / "serve.log", timeout=240)
        yield Pair(up_url, up_keys["alice"], relay_url, relay_keys["alice"])
    finally:
        for proc, _, _ in procs:
            proc.terminate()
        for proc, _, _ in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _client(url: str, key: str):
    from openai import OpenAI

    return OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=240)


def test_relay_model_completes_with_the_upstreams_video(pair):
    relay = _client(pair.relay_url, pair.relay_key)
    upstream = _client(pair.upstream_url, pair.upstream_key)
    assert "relay" in {m.id for m in relay.models.list()}

    video = relay.videos.create_and_poll(
        model="relay", prompt="a red ball over the sea", size=SIZE, seconds="1", poll_interval_ms=200
    )
    assert video.status == "completed", video.error
    assert video.model == "relay"

    # The upstream ran it: its job list holds one completed job with our prompt.
    jobs = upstream.videos.list().data
    assert [(j.prompt, j.status, j.size, j.seconds) for j in jobs] == [
        ("a red ball over the sea", "completed", SIZE, "1")
    ]
    ours = read_frames(relay.videos.download_content(video.id).read())
    theirs = read_frames(upstream.videos.download_content(jobs[0].id).read())
    assert ours.frames.shape == theirs.frames.shape  # same frames, re-encoded (and watermarked) here
    assert ours.fps == theirs.fps == 8
    diff = np.abs(ours.frames.astype(int) - theirs.frames.astype(int)).mean()
    assert diff < 40, diff


def test_a_wrong_upstream_key_fails_the_job_clearly(pair):
    relay = _client(pair.relay_url, pair.relay_key)
    video = relay.videos.create_and_poll(
        model="relay-badkey", prompt="a blue cat", size=SIZE, seconds="1", poll_interval_ms=200
    )
    assert video.status == "failed"
    assert video.error is not None and video.error.code == "model_unavailable"
    message = video.error.message
    assert "127.0.0.1" in message and "refused the key" in message and "api_key" in message, message
