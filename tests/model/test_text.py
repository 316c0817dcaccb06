"""The text encoder: packed texts give the states of MiniLM run the usual way, at a fixed length."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
import torch.nn.functional as F

from zoetrope.model.text import MAX_TOKENS, SMALL_BATCH, TextEncoder, get_text_encoder, on_one_core

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


def test_concurrent_callers_get_the_vectors_of_serial_calls():
    serial = TextEncoder(cache_size=0)
    calls = [[t] for t in TEXTS] + [TEXTS * 8]  # the last is past SMALL_BATCH: the caller's thread
    expected = [serial.embed(texts) for texts in calls]
    shared = TextEncoder(cache_size=0)  # no cache: every call runs a forward pass
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(shared.embed, calls * 4))
    for i, vectors in enumerate(got):
        assert torch.allclose(vectors, expected[i % len(calls)], atol=1e-5)


def test_small_batches_run_on_one_core_and_callers_keep_their_threads():
    default = torch.get_num_threads()
    assert on_one_core(torch.get_num_threads) == 1
    assert on_one_core(on_one_core, torch.get_num_threads) == 1  # nested: in line, no deadlock
    TextEncoder(cache_size=0).embed(TEXTS[:2])
    assert torch.get_num_threads() == default


def test_large_batches_get_the_vectors_of_small_ones():
    fresh = TextEncoder(cache_size=0)
    texts = [f"{TEXTS[3]} number {i}" for i in range(SMALL_BATCH + 1)]  # past the worker: caller's thread
    large = fresh.embed(texts)
    small = torch.cat([fresh.embed(texts[i : i + 4]) for i in range(0, len(texts), 4)])
    assert torch.allclose(large, small, atol=1e-5)


def test_int8_vectors_stay_close_to_the_float_ones():
    encoder = TextEncoder(int8=True)  # the int8 pass itself, whether or not this CPU would choose it
    texts = TEXTS + ["a paper boat drifts slowly on a calm lake at dawn", "lanterns"]
    exact, int8 = encoder.embed(texts), encoder.embed(texts, int8=True)
    assert int8.shape == exact.shape
    assert not torch.equal(int8, exact)  # a different pass, with its own cache
    assert (exact * int8).sum(1).min() > 0.98
    assert torch.allclose(int8.norm(dim=1), torch.ones(len(texts)), atol=1e-5)
    # Every short text still fills the rows int8 matrix products want (more than 16).
    assert torch.allclose(encoder.embed(["a"], int8=True), TextEncoder(cache_size=0, int8=True).embed(["a"], int8=True))


def test_without_int8_the_fast_pass_is_the_float_pass():
    encoder = TextEncoder(int8=False)
    texts = TEXTS[:3]
    assert torch.equal(encoder.embed(texts, int8=True), encoder.embed(texts))


def test_the_int8_choice_is_made_only_when_the_fast_pass_is_asked_for(monkeypatch):
    import zoetrope.model.text as text

    asked = []
    monkeypatch.setattr(text, "int8_matmul_pays", lambda: asked.append(1) or False)
    encoder = TextEncoder(cache_size=0)
    encoder.encode(TEXTS[:2])
    encoder.embed(TEXTS[:2])
    assert asked == []  # generating and float vectors never time int8 products
    assert torch.equal(encoder.embed(TEXTS[:2], int8=True), encoder.embed(TEXTS[:2]))
    assert asked == [1]
