"""Tiny random-weight diffusers pipelines, built and saved locally: no network, no downloaded weights.

Each builder writes a `save_pretrained` folder of the real pipeline class (transformer, VAE, scheduler,
a tiny T5 and an offline tokenizer) that our backends then load back from the path, as they would
load downloaded weights.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TEXT_DIM = 32  # the tiny T5's hidden size, which the transformers' text projections take as input
WORDS = "a the red blue green cat dog ball runs jumps over under sky sea city night day slowly fast".split()


def tiny_t5():
    """A 2-layer T5 encoder and a word-level tokenizer over a small fixed vocabulary."""
    import torch
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    torch.manual_seed(0)
    # T5Tokenizer(vocab=...) builds a real Unigram vocabulary offline; vocab_file= does not (4 tokens).
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(f"▁{w}", -1.0 - i) for i, w in enumerate(WORDS)]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    config = T5Config(vocab_size=len(tokenizer), d_model=TEXT_DIM, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                      relative_attention_num_buckets=8)
    return T5EncoderModel(config).eval(), tokenizer


def build_wan(out: Path, *, image_to_video: bool = False) -> Path:
    """A tiny WanPipeline (or a Wan 2.2-style WanImageToVideoPipeline: no CLIP image encoder)."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanPipeline,
        WanTransformer3DModel,
    )

    text_encoder, tokenizer = tiny_t5()
    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    # i2v concatenates the conditioning latents and a 4-channel frame mask to the noise: 16 + 4 + 16.
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
        in_channels=36 if image_to_video else 16, out_channels=16, text_dim=TEXT_DIM, freq_dim=256, ffn_dim=32,
        num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    )
    parts = dict(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                 scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0))
    pipe = WanImageToVideoPipeline(**parts) if image_to_video else WanPipeline(**parts)
    pipe.save_pretrained(out)
    return out


def build_ltx(out: Path) -> Path:
    """A tiny LTXPipeline; the same folder serves LTXImageToVideoPipeline."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    text_encoder, tokenizer = tiny_t5()
    torch.manual_seed(0)
    # Every decoder_* field is set: left at their defaults they build the full-size (~900 MB) decoder.
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False), upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1), timestep_conditioning=False, patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
    )
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=1, caption_channels=TEXT_DIM,
    )
    pipe = LTXPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                       scheduler=FlowMatchEulerDiscreteScheduler())
    pipe.save_pretrained(out)
    return out


COGVIDEOX_TEXT_TOKENS = 16  # the transformer's max_text_seq_length; the backend's max_sequence_length must match


def build_cogvideox(out: Path) -> Path:
    """A tiny CogVideoXPipeline (the 1.0 layout: no temporal patching)."""
    import torch
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDDIMScheduler,
        CogVideoXPipeline,
        CogVideoXTransformer3DModel,
    )

    text_encoder, tokenizer = tiny_t5()
    torch.manual_seed(0)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=4, attention_head_dim=8, in_channels=4, out_channels=4, time_embed_dim=2,
        text_embed_dim=TEXT_DIM, num_layers=1, sample_width=8, sample_height=8, sample_frames=9, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=COGVIDEOX_TEXT_TOKENS,
    )
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4, up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8), latent_channels=4, layers_per_block=1, norm_num_groups=2,
        temporal_compression_ratio=4,
    )
    pipe = CogVideoXPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                             scheduler=CogVideoXDDIMScheduler())
    pipe.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def wan_weights(tmp_path_factory) -> Path:
    return build_wan(tmp_path_factory.mktemp("wan"))


@pytest.fixture(scope="session")
def wan_i2v_weights(tmp_path_factory) -> Path:
    return build_wan(tmp_path_factory.mktemp("wan-i2v"), image_to_video=True)


@pytest.fixture(scope="session")
def ltx_weights(tmp_path_factory) -> Path:
    return build_ltx(tmp_path_factory.mktemp("ltx"))


@pytest.fixture(scope="session")
def cogvideox_weights(tmp_path_factory) -> Path:
    return build_cogvideox(tmp_path_factory.mktemp("cogvideox"))
