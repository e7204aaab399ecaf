"""FLOP counting with torch.utils.flop_counter.FlopCounterMode, including the CPU attention kernel.

FlopCounterMode has formulas for the CUDA flash / memory-efficient / cuDNN attention kernels but not for
aten._scaled_dot_product_flash_attention_for_cpu (torch 2.13): on CPU attention would count 0 FLOP. We register
the same formulas (torch's own sdpa_flop_count / sdpa_backward_flop_count) for the CPU kernel, so the count is the
same on every device rather than silently missing the attention term.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import (
    FlopCounterMode,
    sdpa_backward_flop_count,
    sdpa_flop_count,
)


def _cpu_sdpa(query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    return sdpa_flop_count(query, key, value)


def _cpu_sdpa_backward(grad_out: Any, query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None,
                       **kwargs: Any) -> int:
    return sdpa_backward_flop_count(grad_out, query, key, value)


def _custom_mapping() -> dict[Any, Callable[..., int]]:
    aten = torch.ops.aten
    mapping: dict[Any, Callable[..., int]] = {}
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu] = _cpu_sdpa
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu_backward"):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu_backward] = _cpu_sdpa_backward
    return mapping


def count_flops(fn: Callable[[], object]) -> float:
    """FLOP executed by one call of `fn` (matmuls, convolutions, attention; forward and backward)."""
    with FlopCounterMode(display=False, custom_mapping=_custom_mapping()) as counter:
        fn()
    return float(counter.get_total_flops())
