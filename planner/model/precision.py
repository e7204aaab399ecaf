"""Precisions, in one place: bytes per stored value, what mixed-precision training keeps, the matmul precision a
weight format runs at, and a GPU's dense peak FLOP/s for it."""
from __future__ import annotations

from planner.schema.catalog import GpuSpec

BYTES = {"fp32": 4.0, "tf32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0,
         # int4 weights with one 16-bit scale and one 16-bit zero point per group of 128 (GPTQ/AWQ default):
         # 0.5 + 4/128 bytes per parameter
         "int4": 0.5 + 4.0 / 128.0}
"""Bytes per stored value by precision."""
MIXED_PRECISIONS = ("fp16", "bf16", "fp8")
"""Training precisions that run mixed: 16-bit weights, gradients and activations beside an fp32 master copy (fp8
training keeps 16-bit copies: Micikevicius et al. 2018; NVIDIA Transformer Engine)."""
MASTER_BYTES = 4.0
"""The fp32 master weight a mixed-precision optimizer keeps per trainable parameter."""
COMPUTE_PRECISION = {"fp32": "fp32", "tf32": "tf32", "fp16": "fp16", "bf16": "bf16", "fp8": "fp8", "int8": "fp16",
                     "int4": "fp16"}
"""Matmul precision by weight precision: int8/int4 are weight-only (dequantised to 16-bit, W8A16/W4A16)."""


def training_value_bytes(precision: str) -> float:
    """Bytes of a weight, gradient or activation value in training: 2 for mixed precision, else 4 (fp32, tf32)."""
    return 2.0 if precision in MIXED_PRECISIONS else 4.0


def master_bytes(precision: str) -> float:
    """Bytes of fp32 master copy per trainable parameter: 4 for mixed precision, 0 when training in fp32/tf32."""
    return MASTER_BYTES if precision in MIXED_PRECISIONS else 0.0


SAME_SIZE_PRECISION = {"bf16": "fp16", "fp16": "bf16"}
"""A 16-bit float's twin: the same bytes per value, so a plan in one holds in the other's memory (fp16 mixed precision
adds loss scaling, which bf16's wider exponent spares; bf16 needs Ampere or later)."""


def alternative_precision(gpu: GpuSpec, precision: str) -> str | None:
    """The precision to plan instead where the GPU lacks `precision` and has its same-size twin (bf16 -> fp16 on a
    V100 or T4); None when there is none."""
    other = SAME_SIZE_PRECISION.get(precision)
    return other if other is not None and peak_flops(gpu, other) is not None else None


def peak_flops(gpu: GpuSpec, precision: str) -> float | None:
    """Dense peak FLOP/s of the matmuls at a training or weight precision (None: the GPU has no such unit).
    fp32 runs on FP32 cores, tf32 needs TF32 tensor cores; int8/int4 weights run 16-bit matmuls (bf16 where a GPU
    lists no fp16)."""
    tflops = gpu.peak_tflops.get(COMPUTE_PRECISION.get(precision, precision))
    if tflops is None and precision in ("int8", "int4"):
        tflops = gpu.peak_tflops.get("bf16")
    return tflops * 1e12 if tflops else None
