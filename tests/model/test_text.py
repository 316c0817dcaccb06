"""The text encoder: packed texts give the states of MiniLM run the usual way, at a fixed length."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from zoetrope.model.text import MAX_TOKENS, TextEncoder, get_text_encoder

TEXTS = [
    "",
    "a cat",
    "a red fox runs across a snowy field. The camera follows it",
    "a glass teapot sways in the wind in light rain, close-up, shallow depth of field",
    " ".join(["lanterns"] * 60),  # past MAX_TOKENS: cut, as before
]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return get_text_encoder()


def _fixed_length(encoder: TextEncoder, texts: list[str]):
    """MiniLM through `transformers`, every text padded to MAX_TOKENS (how encode used to run)."""
    batch = encoder.tokenizer(
        texts, padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
    )
    with torch.no_grad():
        hidden = encoder.model(**batch).last_hidden_state  # (N, MAX_TOKENS, 384)
    mask = batch["attention_mask"].bool()
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return hidden, mask, F.normalize(pooled, dim=-1)


def test_encode_matches_fixed_length_padding_on_every_real_token(encoder):
    hidden, mask, pooled = _fixed_length(encoder, TEXTS)
    states = encoder.encode(TEXTS)
    assert states.tokens.shape == (len(TEXTS), MAX_TOKENS, 384)
    assert torch.equal(states.mask, mask)
    assert (states.tokens - hidden)[mask].abs().max() < 1e-4
    assert (states.pooled - pooled).abs().max() < 1e-4


def test_embed_is_the_pooled_vector_of_encode_in_the_order_asked(encoder):
    texts = [TEXTS[3], TEXTS[1], TEXTS[3], TEXTS[0]]
    assert torch.allclose(encoder.embed(texts), encoder.encode(texts).pooled, atol=1e-6)


def test_a_vector_does_not_depend_on_the_texts_batched_with_it():
    fresh = TextEncoder(cache_size=0)  # computes every call
    alone = fresh.embed(["a cat"])
    beside_longer = fresh.embed(["a cat", TEXTS[3], TEXTS[4]])[:1]
    assert torch.allclose(alone, beside_longer, atol=1e-5)
