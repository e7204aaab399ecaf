"""Context parallelism (CP) for long-sequence training: which CP degrees to try, and the ring's point-to-point time.

As Megatron-Core lays it out (Megatron-LM docs/source/api-guide/context_parallel.rst; Transformer Engine
attention/dot_product_attention/context_parallel.py, AttnFuncWithCPAndKVP2P): the sequence of every sample is split
over `cp` GPUs, and every module but attention runs on its s/cp tokens unchanged, so each GPU keeps 1/cp of the
activations and computes 1/cp of the FLOP. Attention needs every query's keys and values: the local K,V block (after
the projections: 2·h_kv·d_h entries per token per layer, GQA/MQA shrinking it, split over the tensor-parallel
ranks) travels around a ring of the cp ranks, (cp − 1) point-to-point sends per layer in forward, each overlapped
with the attention of the block already there (Liu et al. 2023, "Ring Attention with Blockwise Transformers for
Near-Infinite Context", arXiv 2310.01889, §3). Backward sends the K,V blocks around the ring again and their
gradients dK,dV as well (TE flash_attn_p2p_communicate: "KV and dKV"), overlapped with the backward attention of each
block (2× its forward FLOP); recomputation that reruns attention reruns the forward ring. A causal mask would leave
the rank holding the first tokens idle; Megatron splits the sequence into 2·cp chunks and gives rank i chunks i and
2·cp − 1 − i (get_batch_on_this_cp_rank), which balances the causal work, so the attention FLOP split evenly over
the ranks and over the cp steps of the ring. Weights replicate over the cp ranks like data-parallel ones:
gradients all-reduce and ZeRO shards span the data × context group (Megatron's data_parallel_group_with_cp).

Per GPU and layer, forward sends (cp − 1)·B bytes, B = micro·(s/cp)·(2·h_kv·d_h)·p/t: (cp − 1)/cp of the
sequence's K,V (per tensor rank); backward 2·(cp − 1)·B.
"""
from __future__ import annotations

from planner.catalog.load import PricedOffer
from planner.model.interconnect import group_link, point_to_point_seconds
from planner.model.workload import Workload
from planner.schema.catalog import GpuSpec, a_family

CHUNKS_PER_RANK = 2
"""Load-balanced causal chunking: 2·cp chunks of the sequence, two per rank (Megatron-LM get_batch_on_this_cp_rank:
the sequence length must divide by 2·cp)."""
RING_PASSES = 3
"""K,V passes around the ring per layer and micro-batch: forward K,V; backward K,V again and dK,dV (TE
AttnFuncWithCPAndKVP2P). A rerun forward (full or selective recomputation) adds one."""


def splits_sequence(work: Workload) -> bool:
    """Whether context parallelism applies: transformer work with attention over a sequence."""
    return work.family in ("decoder", "encoder") and work.attention_kv_values_per_token_layer > 0


def context_problem(work: Workload, cp: int) -> str | None:
    """Why a CP degree cannot split this work, in words (None: it can)."""
    if cp <= 1:
        return None
    if not splits_sequence(work):
        return (f"context {cp}: context parallelism splits a transformer's sequence; {a_family(work.family)} model "
                "has none")
    if work.tokens_per_sample % (CHUNKS_PER_RANK * cp):
        return (f"context {cp}: the sequence of {work.tokens_per_sample:.0f} tokens does not split into "
                f"{CHUNKS_PER_RANK * cp} equal chunks (load-balanced causal attention needs 2 per rank)")
    return None


def context_degrees(work: Workload, count: int, tp: int, pp: int) -> list[int]:
    """CP degrees worth trying next to tp × pp on `count` GPUs: powers of two ≥ 2 that divide the GPUs left and
    split the sequence into 2·cp chunks."""
    if not splits_sequence(work):
        return []
    rest = count // (tp * pp) if count % (tp * pp) == 0 else 0
    degrees, cp = [], 2
    while cp <= rest:
        if rest % cp == 0 and context_problem(work, cp) is None:
            degrees.append(cp)
        cp *= 2
    return degrees


def kv_block_bytes(work: Workload, micro: int, value_bytes: float, tp: int, cp: int) -> float:
    """One rank's K,V block of one layer: micro·(s/cp) tokens × 2·h_kv·d_h entries, the heads split over tp ranks
    (at least one head each: with tp > h_kv Megatron replicates the K,V heads)."""
    heads = max(1, work.attention_kv_heads)
    share = max(1.0 / tp, 1.0 / heads)
    return micro * work.tokens_per_sample / cp * work.attention_kv_values_per_token_layer * value_bytes * share


def ring_seconds(work: Workload, micro: int, value_bytes: float, tp: int, pp: int, cp: int, reruns_forward: bool,
                 attention_seconds: float, gpu: GpuSpec, offer: PricedOffer) -> tuple[float, float]:
    """(communication, compute window) seconds of one micro-batch's rings on one pipeline stage at efficiency 1:
    (cp − 1) sends of the K,V block per layer and pass, and the attention compute of the (cp − 1) blocks they hide
    behind (`attention_seconds`: this GPU's forward attention of the micro-batch on its stage). Over NVLink while
    the tp·cp ranks fit in an instance, else each GPU's share of the network."""
    comm, share = ring_comm_and_share(work, micro, value_bytes, tp, pp, cp, reruns_forward, gpu, offer)
    # backward attention is 2× forward: the two backward passes hide behind it, one forward block's worth each
    return comm, share * attention_seconds


def ring_comm_and_share(work: Workload, micro: int, value_bytes: float, tp: int, pp: int, cp: int, reruns_forward: bool,
              gpu: GpuSpec, offer: PricedOffer, intra: tuple[float, str] | None = None) -> tuple[float, float]:
    """ring_seconds' communication and the share of the attention seconds its window is (window = share ×
    attention_seconds, the same product): neither reads the GPU's peak, so a search works them out once for every
    GPU of one link and network (plans/training.py StepComm). `intra`: intra_node_gbs(gpu, offer), when the caller
    has it."""
    if cp <= 1 or not splits_sequence(work):
        return 0.0, 0.0
    passes = RING_PASSES + (1 if reruns_forward else 0)
    link_gbs, link = group_link(tp * cp, offer.offer.gpus_per_instance, gpu, offer, intra)
    send = point_to_point_seconds(kv_block_bytes(work, micro, value_bytes, tp, cp), link_gbs, link)
    layers = max(1, work.layers) / pp
    return passes * layers * (cp - 1) * send, passes * (cp - 1) / cp
