"""What llama.cpp does differently from the other engines, as the published llama.cpp rows need it: FP16
accumulation in its 16-bit GEMMs and layer splits over several GPUs. Pure functions; used by the serving-row
predictions (planner/validate/serving.py) and by the prior fit (planner/efficiency/prior_fit.py)."""
from __future__ import annotations

from planner.model.inference_time import fp16_accumulate_factor
from planner.schema.catalog import GpuSpec

LLAMA_CPP_UBATCH = 512
"""llama.cpp's default physical batch (--ubatch-size 512): a prompt is processed in micro-batches of this size."""


def is_llama_cpp(stack: str | None) -> bool:
    """The row's (or profile's) software stack is llama.cpp."""
    return (stack or "").lower().startswith("llama.cpp")


def accumulate_factor(precision: str, stack: str | None, gpu: GpuSpec) -> float:
    """llama.cpp's 16-bit GEMMs accumulate in FP16 (ggml-cuda calls cublasGemmEx with CUBLAS_COMPUTE_16F), so
    its ceiling is the FP16-accumulate peak; other frameworks accumulate in FP32 (the catalog's fp16 figure)."""
    if precision in ("fp16", "bf16") and is_llama_cpp(stack):
        return fp16_accumulate_factor(gpu)
    return 1.0


def layer_split_speedup(gpus: int, phase: str, tokens: float) -> float:
    """Speed-up of a llama.cpp layer split over one GPU holding every layer.

    Decode at batch 1 runs the GPUs one after another: 1. Prefill pipelines its m = ⌈tokens/ubatch⌉ micro-batches
    through the g stages (llama.cpp pipeline parallelism, PR #6017): m·g / (m + g − 1), the GPipe fill-and-drain.
    """
    if gpus <= 1 or phase != "prefill":
        return 1.0
    micro = max(1, -(-int(tokens) // LLAMA_CPP_UBATCH))
    return micro * gpus / (micro + gpus - 1)
