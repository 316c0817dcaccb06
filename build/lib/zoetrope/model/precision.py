"""Mixed precision and reduced-precision arithmetic, chosen for the hardware at hand.

bf16 and int8 pay only where the processor has instructions for them. A CPU without AVX-512
BF16 (or AMX) emulates bf16: there a DiT training step under bf16 autocast took 64 s against
3.3 s in fp32, and a VAE encode 25 s against 2.4 s (AMD EPYC, AVX2 only). Likewise `torch._int_mm`
without VNNI ran a 16x384x1536 product in 18 ms against 0.3 ms for fp32. So both are decided per
machine, once, and can be forced either way from the environment.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from contextlib import AbstractContextManager, nullcontext

import torch


def _forced(name: str) -> bool | None:
    value = os.environ.get(name, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return None


@functools.cache
def cpu_bf16() -> bool:
    """Whether this CPU runs bf16 natively (oneDNN's own test: AVX-512 BF16 or AMX).
    `ZOETROPE_CPU_BF16=1|0` forces the answer."""
    forced = _forced("ZOETROPE_CPU_BF16")
    if forced is not None:
        return forced
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def int8_matmul_pays() -> bool:
    """Whether `torch._int_mm` beats an fp32 product on this CPU, measured once at the text
    encoder's shape (a few milliseconds). `ZOETROPE_INT8=1|0` forces the answer."""
    forced = _forced("ZOETROPE_INT8")
    if forced is not None:
        return forced

    def best(fn) -> float:
        fn()  # warm-up
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    a8 = torch.ones(32, 384, dtype=torch.int8)
    b8 = torch.ones(384, 1536, dtype=torch.int8)
    a, b = a8.float(), b8.float()
    try:
        int8 = best(lambda: torch._int_mm(a8, b8))
    except RuntimeError:
        return False
    # int8 must win by a clear margin: it also pays for quantising the activations.
    return int8 < 0.7 * best(lambda: a @ b)


@functools.cache
def dynamic_int8_linear() -> bool:
    """Whether this torch runs fbgemm's dynamic int8 linear (x86 builds do). It is timed against
    the other passes before use, so no instruction test is needed; `ZOETROPE_INT8=0` turns it off
    with the rest of int8."""
    if _forced("ZOETROPE_INT8") is False:
        return False
    try:
        with warnings.catch_warnings():  # quantised tensors are deprecated as a public API, not yet gone
            warnings.simplefilter("ignore")
            matrix = torch.quantize_per_channel(
                torch.ones(4, 8),
                torch.ones(4, dtype=torch.double),
                torch.zeros(4, dtype=torch.long),
                0,
                torch.qint8,
            )
            packed = torch.ops.quantized.linear_prepack(matrix, None)
            out = torch.ops.quantized.linear_dynamic(torch.ones(2, 8), packed, False)
    except (AttributeError, RuntimeError):
        return False
    return out.shape == (2, 4)


def autocast(device: torch.device) -> AbstractContextManager:
    """bf16 autocast where the device runs bf16 natively (CUDA with bf16, CPUs with AVX-512 BF16
    or AMX); fp32 otherwise."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()
