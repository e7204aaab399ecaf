"""Serving features that change a replica's prefill and decode times, each off unless the profile asks for it.

- Prefix caching (vLLM automatic prefix caching; SGLang RadixAttention, Zheng et al. 2023, arXiv 2312.07104 §3):
  the cached share of a prompt is not recomputed. The new tokens still attend over the whole prompt, so the work
  left is prefill(P) − prefill(cached), exactly, for causal attention; the cached KV stays in memory.
- Chunked prefill (Agrawal et al. 2024, Sarathi-Serve, arXiv 2403.02310 §4): a prompt is split into chunks of the
  step's token budget that ride along decode steps. Decode steps are bandwidth-bound, so a chunk's FLOP partly
  fill idle compute: each chunk costs the running batch max(compute of decode + chunk, bytes) − step, not a whole
  prefill at once, and TTFT becomes the sum of the fused steps.
- Speculative decoding (Leviathan et al. 2023, arXiv 2211.17192, eq. 1): a draft proposes k tokens, the served
  model verifies them in one pass; with acceptance α each round yields (1 − α^(k+1)) / (1 − α) tokens and costs
  k draft steps plus one verification of k + 1 tokens per sequence (weights and KV read once, k + 1 tokens of
  compute).
"""
from __future__ import annotations

import math

from planner.model.workload import (
    Workload,
    decode_flops,
    kv_cache_bytes,
    prefill_flops,
    weights_read_bytes,
)


def expected_tokens_per_round(tokens: int, acceptance: float) -> float:
    """Tokens one speculative round yields: (1 − α^(k+1)) / (1 − α) (Leviathan et al. 2023, eq. 1)."""
    return (1.0 - acceptance ** (tokens + 1)) / (1.0 - acceptance)


def cached_prefill_seconds(work: Workload, prompt_tokens: float, cached_tokens: float, weight_precision: str,
                           flops: float, bytes_per_s: float, comm_s: float) -> float:
    """Prefill of a prompt whose first `cached_tokens` are in the prefix cache: FLOP prefill(P) − prefill(cached),
    the weights the new tokens touch, and the tensor-parallel traffic of the new tokens (comm_s)."""
    new = prompt_tokens - cached_tokens
    work_flops = prefill_flops(work, prompt_tokens) - prefill_flops(work, cached_tokens)
    return max(work_flops / flops, weights_read_bytes(work, weight_precision, new) / bytes_per_s) + comm_s


def chunked_prefill_seconds(work: Workload, prompt_tokens: float, cached_tokens: float, budget: int, batch: int,
                            context: float, weight_precision: str, kv_precision: str, flops: float,
                            bytes_per_s: float) -> tuple[float, float]:
    """(TTFT share, cost to the running batch) of a prompt prefilled in chunks that share decode steps of `batch`
    sequences: n = ⌈new / chunk⌉ fused steps, chunk = budget − batch tokens (the decode tokens use the rest)."""
    new = prompt_tokens - cached_tokens
    chunk = max(1.0, budget - batch)
    n = max(1, math.ceil(new / chunk))
    chunk_flops = (prefill_flops(work, prompt_tokens) - prefill_flops(work, cached_tokens)) / n
    decode_compute = batch * decode_flops(work, context)
    step_bytes = weights_read_bytes(work, weight_precision, batch + new / n) \
        + batch * kv_cache_bytes(work, context, kv_precision)
    plain_bytes = weights_read_bytes(work, weight_precision, batch) + batch * kv_cache_bytes(work, context,
                                                                                              kv_precision)
    fused = max((decode_compute + chunk_flops) / flops, step_bytes / bytes_per_s)
    plain = max(decode_compute / flops, plain_bytes / bytes_per_s)
    return n * fused, n * (fused - plain)


def slot_hold_seconds(batch: int, prefill_s: float, cut_s: float | None, output_tokens: float,
                      step_s: float) -> float:
    """A slot's full-load cycle D under continuous batching: its own prefill, the other batch − 1 slots' prefills
    cutting into its decode (cut_s each: what one prefill costs the running batch, only the fused steps' excess
    with chunked prefill; None: the whole prefill, so D = batch·prefill + output·step), and its decode steps."""
    if cut_s is None:
        return batch * prefill_s + output_tokens * step_s
    return prefill_s + (batch - 1) * cut_s + output_tokens * step_s


def verify_step_seconds(work: Workload, batch: int, tokens: int, context: float, weight_precision: str,
                        kv_precision: str, flops: float, bytes_per_s: float, comm_s: float) -> float:
    """The served model checking `tokens` + 1 tokens of each of `batch` sequences in one pass."""
    per_sequence = tokens + 1
    compute = batch * per_sequence * decode_flops(work, context) / flops
    moved = weights_read_bytes(work, weight_precision, batch * per_sequence) \
        + batch * kv_cache_bytes(work, context, kv_precision)
    return max(compute, moved / bytes_per_s) + comm_s
