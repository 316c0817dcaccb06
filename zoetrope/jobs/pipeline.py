"""The two places where the safety layer joins a job's life, as hooks it fills in.

`check_prompt` runs in the submit service before a job is queued (prompt moderation), and
`process_output` runs in the worker after generation and before encoding (frame moderation,
visible and invisible watermarks). `process_encoded` runs on the finished MP4/PNG bytes (C2PA
signing). Today all three are no-ops; `zoetrope/safety` replaces them by calling
`set_hooks(...)` at import time, so neither the API nor the worker changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class OutputContext:
    """What the output hooks know about the job whose frames they see."""

    job_id: str
    account_id: str
    prompt: str
    model: str
    watermark_free: bool = False
    extra: dict = field(default_factory=dict)


def _check_prompt(prompt: str, *, account_id: str) -> None:
    """Raise zoetrope.errors.ModerationBlocked to refuse the prompt."""


def _process_output(frames: np.ndarray, ctx: OutputContext) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 in, frames out; raise zoetrope.errors.OutputBlocked to withhold them."""
    return frames


def _process_encoded(data: bytes, kind: str, ctx: OutputContext) -> bytes:
    """Encoded bytes of `kind` ("video/mp4" or "image/png") in, bytes to store out."""
    return data


check_prompt = _check_prompt
process_output = _process_output
process_encoded = _process_encoded


def set_hooks(*, check_prompt=None, process_output=None, process_encoded=None) -> None:
    """Install the safety layer's hooks; any left None keeps its current one."""
    g = globals()
    for name, fn in (
        ("check_prompt", check_prompt),
        ("process_output", process_output),
        ("process_encoded", process_encoded),
    ):
        if fn is not None:
            g[name] = fn
