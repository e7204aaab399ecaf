"""How many collectives a training stack splits one step's gradient synchronisation into: each pays NCCL's latency
(planner/model/nccl.py), so a stack's bucketing decides whether a large data-parallel group is latency-bound."""
from __future__ import annotations

import math

DDP_BUCKET_BYTES = 25 * 2**20
"""PyTorch DistributedDataParallel all-reduces gradients in 25 MiB buckets as backward produces them (bucket_cap_mb
default): plain PyTorch loops, the Hugging Face Trainer and the stacks that do not say."""
MEGATRON_BUCKET_PARAMS = 40_000_000
MEGATRON_BUCKET_PARAMS_PER_RANK = 1_000_000
"""Megatron-Core's DDP bucket: max(40M, 1M × dp) parameters (DistributedDataParallelConfig.bucket_size default:
'larger DP sizes need larger buckets to ensure collectives do not become latency-bound')."""
DEEPSPEED_BUCKET_ELEMENTS = 500_000_000
"""DeepSpeed ZeRO-1/2 reduce in buckets of 5e8 elements (zero_optimization.reduce_bucket_size default)."""


def gradient_messages(framework: str | None, grad_bytes: float, value_bytes: float, dp: int, layers: int) -> int:
    """Collectives per step that reduce `grad_bytes` of gradients over `dp` ranks (ZeRO-0/1/2; ZeRO-3 gathers and
    scatters per layer, planner/plans/training.py ZERO3_PASSES). FSDP reduces per wrapped layer; llm.c all-reduces
    its whole gradient buffer at once."""
    if framework == "llm.c":
        return 1
    if framework == "fsdp":
        return max(1, layers)
    if framework == "megatron":
        bucket = max(MEGATRON_BUCKET_PARAMS, MEGATRON_BUCKET_PARAMS_PER_RANK * dp) * value_bytes
    elif framework == "deepspeed":
        bucket = DEEPSPEED_BUCKET_ELEMENTS * value_bytes
    else:
        bucket = DDP_BUCKET_BYTES
    return max(1, math.ceil(grad_bytes / bucket))
