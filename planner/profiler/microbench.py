"""Device microbenchmarks: achieved matmul TFLOP/s per precision over a size sweep, and copy bandwidth."""
from __future__ import annotations

import torch

from planner.profiler.timing import time_call
from planner.schema.record import MatmulPoint

DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def supported_precisions(device: str) -> list[str]:
    """Precisions worth measuring here: fp32 everywhere; bf16 where the device runs it natively; fp16 on GPUs;
    tf32 on CUDA devices of compute capability ≥ 8 (Ampere and later)."""
    if device.startswith("cuda"):
        major, _ = torch.cuda.get_device_capability()
        out = ["fp32", "fp16"] + (["tf32", "bf16"] if major >= 8 else [])
        return out
    if device == "mps":
        return ["fp32", "fp16"]
    return ["fp32", "bf16"] if torch.backends.mkldnn.is_available() else ["fp32"]


def matmul_point(precision: str, n: int, device: str, min_run_time: float) -> MatmulPoint:
    """One n×n×n matmul: 2·n³ FLOP over its median time."""
    dtype = DTYPES[precision]
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    try:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        timing = time_call(lambda: torch.mm(a, b), device, min_run_time)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    return MatmulPoint(precision=precision, size=n, tflops=2.0 * n**3 / timing.median_s / 1e12, spread=timing.spread)


def copy_bandwidth_gbs(device: str, megabytes: int, min_run_time: float) -> tuple[float, float]:
    """Achieved bandwidth of a large copy (bytes read + bytes written over the median time), GB/s, and its spread.

    The buffer is far larger than the last-level cache so the copy streams from memory."""
    n = megabytes * 2**20 // 4
    src = torch.empty(n, device=device, dtype=torch.float32).uniform_()
    dst = torch.empty_like(src)
    timing = time_call(lambda: dst.copy_(src), device, min_run_time)
    return 2.0 * n * 4 / timing.median_s / 1e9, timing.spread
