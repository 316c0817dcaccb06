"""bf16 and int8 are used only where the hardware runs them natively, and can be forced either way."""

from contextlib import nullcontext

import pytest
import torch

from zoetrope.model import precision


@pytest.fixture(autouse=True)
def fresh_answers():
    precision.cpu_bf16.cache_clear()
    precision.int8_matmul_pays.cache_clear()
    yield
    precision.cpu_bf16.cache_clear()
    precision.int8_matmul_pays.cache_clear()


def test_cpu_bf16_follows_onednn_unless_forced(monkeypatch):
    monkeypatch.delenv("ZOETROPE_CPU_BF16", raising=False)
    assert precision.cpu_bf16() == bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    for value, expected in (("1", True), ("0", False), ("off", False)):
        monkeypatch.setenv("ZOETROPE_CPU_BF16", value)
        precision.cpu_bf16.cache_clear()
        assert precision.cpu_bf16() is expected


def test_autocast_is_bf16_only_where_the_cpu_has_it(monkeypatch):
    monkeypatch.setenv("ZOETROPE_CPU_BF16", "0")
    assert isinstance(precision.autocast(torch.device("cpu")), nullcontext)
    with precision.autocast(torch.device("cpu")):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    monkeypatch.setenv("ZOETROPE_CPU_BF16", "1")
    precision.cpu_bf16.cache_clear()
    with precision.autocast(torch.device("cpu")):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16


def test_int8_choice_is_measured_unless_forced(monkeypatch):
    monkeypatch.delenv("ZOETROPE_INT8", raising=False)
    assert isinstance(precision.int8_matmul_pays(), bool)
    monkeypatch.setenv("ZOETROPE_INT8", "0")
    precision.int8_matmul_pays.cache_clear()
    assert precision.int8_matmul_pays() is False
    monkeypatch.setenv("ZOETROPE_INT8", "1")
    precision.int8_matmul_pays.cache_clear()
    assert precision.int8_matmul_pays() is True
