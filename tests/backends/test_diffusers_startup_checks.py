"""What a worker can know about a diffusers model at startup is refused then, naming the setting and the
fix: weights of another family, a folder missing a component, a device this machine lacks, an image to
video setup the weights cannot run. Before, each of these passed startup and failed the first job."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("diffusers")

from zoetrope.backends.diffusers import CogVideoXBackend, LTXBackend, WanBackend  # noqa: E402
from zoetrope.errors import ConfigError, ModelUnavailable  # noqa: E402

TINY = {"sizes": [[64, 64]], "steps": 1}


def test_weights_of_another_family_are_refused_at_preflight(ltx_weights):
    backend = WanBackend(weights=str(ltx_weights), **TINY)
    with pytest.raises(ModelUnavailable, match=r"hold a LTXPipeline pipeline.*'wan' model.*fix the model's `backend`"):
        backend.preflight()
    LTXBackend(weights=str(ltx_weights), **TINY).preflight()  # the right family passes


def test_a_folder_missing_a_component_or_its_index_is_refused_at_preflight(ltx_weights, tmp_path):
    broken = tmp_path / "ltx"
    shutil.copytree(ltx_weights, broken)
    shutil.rmtree(broken / "vae")
    with pytest.raises(ModelUnavailable, match=r"lack the component folder\(s\) vae.*download the model again"):
        LTXBackend(weights=str(broken), **TINY).preflight()
    (broken / "model_index.json").unlink()
    with pytest.raises(ModelUnavailable, match=r"no model_index.json.*save_pretrained"):
        LTXBackend(weights=str(broken), **TINY).preflight()
    (broken / "model_index.json").write_text(json.dumps(["garbage"]))
    with pytest.raises(ModelUnavailable, match=r"hold a None pipeline"):
        LTXBackend(weights=str(broken), **TINY).preflight()


def test_a_device_this_machine_lacks_is_refused_at_preflight(ltx_weights):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(ConfigError, match=r"device 'cuda': this machine has no CUDA GPU.*`device` to 'auto' or 'cpu'"):
        LTXBackend(weights=str(ltx_weights), device="cuda", **TINY).preflight()
    with pytest.raises(ConfigError, match=r"device 'tpu' is not one"):
        LTXBackend(weights=str(ltx_weights), device="tpu", **TINY).preflight()
    LTXBackend(weights=str(ltx_weights), device="cpu", **TINY).preflight()


def test_an_image_to_video_setup_that_cannot_run_is_refused_when_built():
    with pytest.raises(ConfigError, match=r"tasks include 'i2v'.*cogvideox.*remove 'i2v' from tasks"):
        CogVideoXBackend(weights="a/b", tasks=["t2v", "i2v"])
    with pytest.raises(ConfigError, match=r"not image_pipeline 'LTXImageToVideoPipeline'.*set image_pipeline = "
                                          r"'WanImageToVideoPipeline'"):
        WanBackend(weights="a/b", image_pipeline="LTXImageToVideoPipeline", tasks=["t2v", "i2v"])
    with pytest.raises(ConfigError, match=r"only animates a still; set tasks"):
        WanBackend(weights="a/b", pipeline="WanImageToVideoPipeline", tasks=["t2v", "i2v"])
    # what the README documents still builds
    wan22 = WanBackend(weights="a/b", image_pipeline="WanImageToVideoPipeline", tasks=["t2v", "t2i", "i2v"])
    assert "i2v" in wan22.capabilities.tasks
    assert "i2v" in LTXBackend(weights="a/b", tasks=["t2v", "i2v"]).capabilities.tasks


def test_a_call_argument_the_pipeline_does_not_take_is_refused_at_preflight(ltx_weights):
    backend = LTXBackend(weights=str(ltx_weights), call={"decode_timestep": 0.05, "decode_noise": 0.025}, **TINY)
    with pytest.raises(ConfigError, match=r"call: LTXPipeline takes no argument 'decode_noise'.*`call` option"):
        backend.preflight()
    LTXBackend(weights=str(ltx_weights), call={"decode_timestep": 0.05, "decode_noise_scale": 0.025},
               **TINY).preflight()
