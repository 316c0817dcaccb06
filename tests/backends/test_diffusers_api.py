"""A full job through the API with each diffusers backend: a CPU-only API server (no workers) beside a
`zoetrope worker` that runs the tiny Wan, LTX-Video and CogVideoX pipelines from their saved folders."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")

from tests.api.conftest import free_port, make_keys, start_process, wait_healthy  # noqa: E402
from zoetrope.backends.diffusers import CogVideoXBackend, LTXBackend, WanBackend  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
MODELS = {"tiny-wan": WanBackend, "tiny-ltx": LTXBackend, "tiny-cogvideox": CogVideoXBackend}
# 1 s: Wan 16 fps → 4k+1 = 17; LTX 24 fps → 8k+1 = 25; CogVideoX 8 fps → 8k+1 = 9.
FRAMES_IN_ONE_SECOND = {"tiny-wan": 17, "tiny-ltx": 25, "tiny-cogvideox": 9}


def write_config(path: Path, weights: dict[str, Path]) -> Path:
    """The shipped config plus one [[models]] entry per tiny pipeline, loaded from its folder."""
    text = (REPO / "zoetrope/config/defaults.toml").read_text()
    for name, cls in MODELS.items():
        text += (f'\n[[models]]\nname = "{name}"\nbackend = "{cls.family.kind}"\n'
                 f'options = {{ weights = "{weights[name]}", sizes = [[64, 64]], steps = 2 }}\n')
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def split_server(tmp_path_factory, wan_weights, ltx_weights, cogvideox_weights):
    """(base_url, api key): `serve --workers 0` and `worker --model ...` on one database and blob store."""
    data_dir = tmp_path_factory.mktemp("diffusers-serve")
    weights = {"tiny-wan": wan_weights, "tiny-ltx": ltx_weights, "tiny-cogvideox": cogvideox_weights}
    config = write_config(data_dir / "zoetrope.toml", weights)
    keys = make_keys(data_dir)
    env = {**os.environ, "ZOETROPE_DATA_DIR": str(data_dir), "ZOETROPE_CONFIG_FILE": str(config),
           "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    port = free_port()
    api = start_process(["serve", "--port", str(port), "--workers", "0"], env, data_dir / "serve.log")
    worker_args = ["worker", "--workers", "1"] + [a for name in MODELS for a in ("--model", name)]
    worker = start_process(worker_args, env, data_dir / "worker.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, api, data_dir / "serve.log")
        yield url + "/v1", keys["alice"], data_dir
    finally:
        for proc in (worker, api):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def finished(split_server, model: str, **kw):
    from openai import OpenAI

    base_url, key, data_dir = split_server
    client = OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=60)
    video = client.videos.create_and_poll(model=model, prompt="a red ball jumps over a blue cat", size="64x64",
                                          seconds="1", poll_interval_ms=100, **kw)
    logs = "\n".join(p.read_text()[-3000:] for p in data_dir.glob("*.log"))
    assert (video.status, video.progress) == ("completed", 100), f"{video.error}\n{logs}"
    return client.videos.download_content(video.id).read()


@pytest.mark.parametrize("model", list(MODELS))
def test_a_job_through_the_api_makes_an_mp4_with_the_frames_and_size_asked(split_server, model):
    from zoetrope.media import read_frames

    frames = read_frames(finished(split_server, model)).frames
    assert frames.shape == (FRAMES_IN_ONE_SECOND[model], 64, 64, 3) and frames.dtype == np.uint8


def test_an_image_to_video_job_through_the_api_with_ltx(split_server):
    from zoetrope.media import encode_png, read_frames

    still = encode_png(np.full((96, 96, 3), 180, np.uint8))
    mp4 = finished(split_server, "tiny-ltx", input_reference=("still.png", still, "image/png"))
    assert read_frames(mp4).frames.shape == (25, 64, 64, 3)
