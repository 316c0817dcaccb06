"""Options, capabilities and validation of the diffusers backends: no weights are loaded here."""

from __future__ import annotations

import sys

import pytest

from zoetrope.backends.base import GenerationRequest
from zoetrope.backends.diffusers import CogVideoXBackend, LTXBackend, WanBackend
from zoetrope.backends.diffusers.options import parse_options, resolve
from zoetrope.errors import ConfigError, ModelUnavailable, UnsupportedByBackend


def test_capabilities_come_from_the_family_without_importing_diffusers_or_loading_weights():
    before = "diffusers" in sys.modules
    wan = WanBackend(weights="Wan-AI/Wan2.1-T2V-1.3B-Diffusers")
    caps = wan.capabilities
    assert caps.fps == 16 and (832, 480) in caps.sizes and caps.max_seconds == 5.0
    assert caps.tasks == ("t2v", "t2i") and caps.default_steps == 50
    assert ("diffusers" in sys.modules) == before


def test_published_frame_rules_wan_4k_plus_1_ltx_and_cogvideox_8k_plus_1_capped_at_the_longest():
    wan, ltx, cog = WanBackend(weights="a/b"), LTXBackend(weights="a/b"), CogVideoXBackend(weights="a/b")
    assert [wan.frames_for(s) for s in (0, 0.1, 1, 5, 60)] == [1, 5, 17, 81, 81]
    assert [ltx.frames_for(s) for s in (1, 4, 10.67)] == [25, 97, 257]
    assert [cog.frames_for(s) for s in (1, 6, 10)] == [9, 49, 49]
    assert ltx.capabilities.tasks == ("t2v", "t2i", "i2v") and cog.capabilities.fps == 8


def test_toml_options_override_capabilities():
    wan = WanBackend(weights="a/b", sizes=[[1280, 720]], fps=24, max_seconds=2, steps=8, tasks=["t2v"])
    caps = wan.capabilities
    assert caps.sizes == ((1280, 720),) and caps.fps == 24 and caps.default_steps == 8 and caps.tasks == ("t2v",)
    assert wan.frames_for(10) == 1 + 4 * 12  # 2 s at 24 fps, rounded down to 4k+1


@pytest.mark.parametrize(
    "options, match",
    [
        ({"weights": "a/b", "offlaod": "model"}, "offlaod"),
        ({"weights": "a/b", "dtype": "float8"}, "dtype"),
        ({"weights": "a/b", "pipeline": "LTXPipeline"}, "not pipeline 'LTXPipeline'"),
        ({"weights": "a/b", "sizes": [[100, 64]]}, "multiples of 16"),
        ({}, "weights"),
    ],
)
def test_bad_options_are_config_errors_that_name_the_field(options, match):
    with pytest.raises(ConfigError, match=match):
        WanBackend(**options)


def test_device_defaults_half_precision_and_tiling_on_gpu_fp32_on_cpu():
    cpu = resolve(parse_options("wan", {"weights": "a/b", "device": "cpu"}), family_vae_dtype="float32")
    assert (cpu.dtype, cpu.vae_dtype, cpu.offload, cpu.vae_tiling) == ("float32", "float32", "none", False)
    gpu = resolve(parse_options("wan", {"weights": "a/b", "device": "cuda"}), family_vae_dtype="float32")
    assert (gpu.dtype, gpu.vae_dtype, gpu.offload, gpu.vae_tiling) == ("bfloat16", "float32", None, True)
    ltx = resolve(parse_options("ltx", {"weights": "a/b", "device": "cuda", "offload": "model"}),
                  family_vae_dtype=None)
    assert (ltx.vae_dtype, ltx.offload) == ("bfloat16", "model")


def test_requests_outside_the_capabilities_are_refused_before_loading():
    cog = CogVideoXBackend(weights="/no/such/folder")
    with pytest.raises(UnsupportedByBackend, match="720x480"):
        list(cog.generate(GenerationRequest("x", 64, 64)))
    with pytest.raises(UnsupportedByBackend, match="cannot do 'i2v'"):
        list(cog.generate(GenerationRequest("x", 720, 480, task="i2v")))


def test_missing_weights_say_so():
    pytest.importorskip("diffusers")
    with pytest.raises(ModelUnavailable, match="no such folder"):
        list(CogVideoXBackend(weights="/no/such/folder").generate(GenerationRequest("x", 720, 480)))
