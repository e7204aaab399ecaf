"""Inference on the roofline: prefill and decode-step time of a decoder, forward time of a batch, tensor-parallel
all-reduces, and the paged KV cache's concurrency limit. Pure functions of the workload counts and GPU figures."""
from __future__ import annotations

import math

from planner.model.interconnect import all_to_all_seconds, ring_allreduce_seconds
from planner.model.memory import usable_bytes
from planner.model.precision import COMPUTE_PRECISION, peak_flops
from planner.model.workload import (
    Workload,
    decode_flops,
    kv_cache_bytes,
    prefill_flops,
    weight_bytes,
    weights_read_bytes,
)
from planner.schema.catalog import GpuSpec

KV_BLOCK_TOKENS = 16
"""Paged KV cache block: vLLM's default --block-size is 16 tokens (Kwon et al. 2023, PagedAttention)."""
ACTIVATION_BYTES = 2.0
"""Tensor-parallel all-reduces move 16-bit activations."""


def default_kv_precision(weight_precision: str) -> str:
    """KV-cache precision when the profile gives none: 8-bit with fp8 weights, else 16-bit: fp16 with fp16 weights
    (vLLM's kv_cache_dtype 'auto' is the model's dtype; the same bytes as bf16, but a T4 plan read "the KV cache of
    one 768-token bf16 sequence", a format the GPU lacks: new-user QA round 11), else bf16."""
    return "fp8" if weight_precision == "fp8" else "fp16" if weight_precision == "fp16" else "bf16"


def fp16_accumulate_factor(gpu: GpuSpec) -> float:
    """Peak with FP16 accumulation over the catalog's FP32-accumulate fp16 peak: 2 on GeForce cards, which run
    FP32 accumulation at half rate (catalog/gpus.yaml header and GA102/AD102 whitepapers), else 1."""
    return 2.0 if gpu.half_rate_accumulate else 1.0


def tp_allreduce_seconds(work: Workload, tokens: float, tp: int, link_gbs: float, link: str) -> float:
    """Megatron tensor parallel: 2 all-reduces of tokens·d activations per layer (Shoeybi et al. 2019). A mixture
    of experts spreads its experts over the same GPUs (expert parallel, vLLM --enable-expert-parallel): its MoE
    layers replace the FFN all-reduce by a dispatch and a combine all-to-all of the k copies of each token."""
    if tp <= 1:
        return 0.0
    activation = tokens * work.hidden * ACTIVATION_BYTES
    if not work.is_moe:
        return 2 * work.layers * ring_allreduce_seconds(activation, tp, link_gbs, link)
    dense = work.layers - work.moe_layers
    return ((work.layers + dense) * ring_allreduce_seconds(activation, tp, link_gbs, link)
            + 2 * work.moe_layers * all_to_all_seconds(activation * work.experts_per_token, tp, link_gbs, link))


def prefill_seconds(work: Workload, prompt_tokens: float, weight_precision: str, flops: float,
                    bytes_per_s: float, comm_s: float = 0.0) -> float:
    """One prompt's prefill: the larger of its FLOP at `flops` and one read of the weights (the experts its tokens
    touch), plus TP all-reduces."""
    read = weights_read_bytes(work, weight_precision, prompt_tokens)
    return max(prefill_flops(work, prompt_tokens) / flops, read / bytes_per_s) + comm_s


def decode_step_seconds(work: Workload, batch: float, context: float, weight_precision: str, kv_precision: str,
                        flops: float, bytes_per_s: float, comm_s: float = 0.0) -> float:
    """One decode iteration of `batch` sequences at mean `context`: weights read once for the batch (of a mixture of
    experts, the experts its `batch` tokens touch) plus every sequence's KV cache (bandwidth), or the batch's FLOP
    (compute), whichever is longer; plus TP all-reduces."""
    return decode_step_at(decode_terms(work, context, weight_precision, kv_precision), work, batch, weight_precision,
                          flops, bytes_per_s, comm_s)


DecodeTerms = tuple[float | None, float, float]
"""decode_terms: (the weights a step reads, None when that depends on the batch; one sequence's KV cache; one
sequence's FLOP)."""


def decode_terms(work: Workload, context: float, weight_precision: str, kv_precision: str) -> DecodeTerms:
    """What decode_step_seconds reads that is the same at every batch of one context: the serving search times
    thousands of batches at one context per GPU."""
    weights = None if work.is_moe else weights_read_bytes(work, weight_precision, 1.0)  # dense: every weight
    return weights, kv_cache_bytes(work, context, kv_precision), decode_flops(work, context)


def decode_step_at(terms: DecodeTerms, work: Workload, batch: float, weight_precision: str, flops: float,
                   bytes_per_s: float, comm_s: float = 0.0) -> float:
    """decode_step_seconds from its decode_terms at the same context: the same expression on the same floats."""
    weights, kv, step_flops = terms
    step_bytes = (weights_read_bytes(work, weight_precision, batch) if weights is None else weights) + batch * kv
    return max(batch * step_flops / flops, step_bytes / bytes_per_s) + comm_s


def decode_tokens_per_s(work: Workload, gpu: GpuSpec, weight_precision: str, batch: float, context: float,
                        compute_efficiency: float, bandwidth_efficiency: float, kv_precision: str | None = None
                        ) -> float:
    """Single-GPU decode throughput (generated tokens/s over the batch) at mean context `context`."""
    flops = peak_flops(gpu, weight_precision)
    if flops is None:
        raise ValueError(f"{gpu.id} has no {COMPUTE_PRECISION[weight_precision]} peak")
    step = decode_step_seconds(work, batch, context, weight_precision,
                               kv_precision or default_kv_precision(weight_precision), flops * compute_efficiency,
                               gpu.memory_bandwidth_gbs * 1e9 * bandwidth_efficiency)
    return batch / step


def prefill_tokens_per_s(work: Workload, gpu: GpuSpec, weight_precision: str, prompt_tokens: float,
                         compute_efficiency: float, bandwidth_efficiency: float) -> float:
    """Single-GPU prefill throughput (prompt tokens/s) for one prompt of `prompt_tokens`."""
    flops = peak_flops(gpu, weight_precision)
    if flops is None:
        raise ValueError(f"{gpu.id} has no {COMPUTE_PRECISION[weight_precision]} peak")
    seconds = prefill_seconds(work, prompt_tokens, weight_precision, flops * compute_efficiency,
                              gpu.memory_bandwidth_gbs * 1e9 * bandwidth_efficiency)
    return prompt_tokens / seconds


def kv_batch_limit(work: Workload, gpu: GpuSpec, tp: int, weight_precision: str, kv_precision: str,
                   tokens_per_sequence: float) -> int:
    """Sequences whose paged KV cache fits beside the weights on `tp` GPUs (whole KV_BLOCK_TOKENS blocks)."""
    free = usable_bytes(gpu) * tp - weight_bytes(work, weight_precision)
    blocks = math.ceil(tokens_per_sequence / KV_BLOCK_TOKENS)
    per_sequence = kv_cache_bytes(work, blocks * KV_BLOCK_TOKENS, kv_precision)
    if work.draft is not None:  # speculative decoding: the draft's weights and KV cache live beside the model's
        free -= weight_bytes(work.draft, weight_precision)
        per_sequence += kv_cache_bytes(work.draft, blocks * KV_BLOCK_TOKENS, kv_precision)
    if free <= 0 or per_sequence <= 0:
        return 0
    return int(free // per_sequence)
