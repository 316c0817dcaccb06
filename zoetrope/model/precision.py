"""Mixed precision for training and sampling alike."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext

import torch


def autocast(device: torch.device) -> AbstractContextManager:
    """bf16 autocast where the device has it (CUDA, and CPUs with AVX-512 bf16); fp32 otherwise."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and os.environ.get("ZOETROPE_CPU_BF16", "1") == "1":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()
