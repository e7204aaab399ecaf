"""Expert parallelism (EP) for mixture-of-experts training: which EP degrees to try, how the experts' share of the
weights splits, and the all-to-all time of dispatching tokens to their experts and combining the results.

As Megatron-Core and DeepSpeed-MoE lay it out (Megatron-Core MoE docs: expert-model-parallel-size; Rajbhandari et
al. 2022, DeepSpeed-MoE §4): EP ranks are carved out of the data-parallel ranks (ep divides dp), each holds
experts/ep of every MoE layer's experts (still split tp-ways with expert tensor parallelism = tp and over the
pipeline stages), the dense weights replicate as before, and the expert weights' gradients and ZeRO shards live in
the expert-data-parallel group of dp/ep ranks. Per MoE layer and micro-batch the forward pass runs two all-to-alls
(dispatch, combine) of the micro-batch's tokens × top-k hidden vectors, the backward pass two more (GShard,
Lepikhin et al. 2020, §2.2), full recomputation repeats the forward two.
"""
from __future__ import annotations

from planner.catalog.load import PricedOffer
from planner.model.interconnect import expert_all_to_all_seconds
from planner.model.workload import Workload
from planner.schema.catalog import GpuSpec

ALL_TO_ALLS_PER_MOE_LAYER = 4
"""Dispatch and combine, forward and backward (GShard §2.2)."""
DEFAULT_CAPACITY_FACTOR = 1.25
"""Tokens the busiest expert rank processes over the mean: the Switch Transformer's training capacity factor
(Fedus et al. 2022, §2.2 and Table 1: 1.25 is its default; GShard uses 2 with top-2). With dropless routing
(Megatron-Core's default) the busiest rank still sets the pace of the synchronous all-to-all."""


def expert_degrees(work: Workload, count: int, tp: int, pp: int) -> tuple[int, ...]:
    """EP degrees worth trying: powers of two that divide the data-parallel ranks and the experts. They read the
    experts and the data-parallel ranks alone: once per pair (_DEGREES; a mixture of experts' search asks ~1,000
    times, of a few hundred pairs)."""
    experts = work.experts
    if experts <= 0:  # not a mixture of experts (Workload.is_moe)
        return ()
    dp = count // (tp * pp)
    found = _DEGREES.get((experts, dp))
    if found is None:
        degrees, ep = [], 2
        while ep <= min(dp, experts):
            if dp % ep == 0 and experts % ep == 0:
                degrees.append(ep)
            ep *= 2
        found = _DEGREES[(experts, dp)] = tuple(degrees)
    return found


_DEGREES: dict[tuple[int, int], tuple[int, ...]] = {}
"""expert_degrees by (experts, data-parallel ranks): pure, and as few as the counts a search tries."""


def routed_share(work: Workload) -> float:
    """Share of the parameters in routed experts (0 for a dense model)."""
    return work.routed_expert_params / work.params if work.params else 0.0


def imbalance_factor(work: Workload, ep: int, capacity_factor: float) -> float:
    """Compute stretch of the busiest EP rank: the expert FLOP share runs capacity_factor × the mean (1 without EP:
    every rank then computes its own tokens through every expert)."""
    if ep <= 1 or not work.is_moe:
        return 1.0
    return 1.0 + work.expert_flops_share * (capacity_factor - 1.0)


def all_to_all_step_seconds(work: Workload, micro: int, value_bytes: float, tp: int, pp: int, ep: int,
                            recompute: bool, gpu: GpuSpec, offer: PricedOffer, cp: int = 1, dp: int = 0,
                            intra: tuple[float, str] | None = None) -> float:
    """All-to-all seconds of one micro-batch on one pipeline stage: its MoE layers' dispatches and combines of
    tokens × top-k hidden vectors (split over the tp ranks by sequence parallelism and over the cp context ranks,
    each of which holds s/cp tokens), the EP ranks tp·cp GPUs apart (Megatron's rank order tp-cp-ep-dp): over
    NVLink to the members inside the instance, over each GPU's share of the network to the others
    (interconnect.expert_all_to_all_seconds). An EP degree beyond the `dp` data-parallel ranks exists only with
    Megatron-Core's MoE parallel folding (expert tensor parallelism 1, as the Megatron-Bridge Qwen3-235B recipes
    quoted in catalog/published_runs.yaml set it: the experts lay the tp·cp·dp ranks out anew, EP first), whose EP
    group is ep consecutive ranks. `intra`: intra_node_gbs(gpu, offer), when the caller has it."""
    if ep <= 1 or not work.is_moe:
        return 0.0
    size = micro * work.tokens_per_sample * work.experts_per_token * work.hidden * value_bytes / (tp * cp)
    per_layer = ALL_TO_ALLS_PER_MOE_LAYER + (2 if recompute else 0)
    stride = 1 if 0 < dp < ep else tp * cp
    return per_layer * (work.moe_layers / pp) * expert_all_to_all_seconds(size, ep, stride, gpu, offer, intra)
