"""Link bandwidths and collective times (docs/internals.md, 'Communication'; latencies: planner/model/nccl.py)."""
from __future__ import annotations

import functools
from planner.dataclass import dataclass

from planner.catalog.load import PricedOffer
from planner.model.nccl import Collective, collective_seconds
from planner.schema.catalog import GpuSpec

RING_STEP_LATENCY_S = {"nvlink": 5e-6, "pcie": 10e-6, "network": 15e-6}
"""Latency α of one point-to-point step (a send while receiving): pipeline sends, all-to-all peers, context-parallel
ring steps. Order of the small-message times nccl-tests reports; collectives (all-reduce, all-gather, reduce-scatter)
take NCCL's own per-algorithm latencies instead (planner/model/nccl.py)."""


@functools.lru_cache(maxsize=16)
def pcie_gbs(generation: int) -> float:
    """Unidirectional x16 PCIe bandwidth, GB/s: 8 GT/s·2^(gen−3) per lane, 16 lanes, 128b/130b coding (gen ≥ 3).
    Remembered (a handful of generations, asked once per training plan)."""
    gen = max(3, generation)
    return 8.0 * 2.0 ** (gen - 3) * 16 * (128 / 130) / 8


@dataclass(frozen=True)
class PlanLinks:
    """The links a multi-GPU plan runs on: the one between GPUs of an instance and, when the plan spans instances,
    the network between them, with where its figure comes from (issue 15: a plan states its network)."""

    intra_node: str | None
    """nvlink | pcie (intra_node_gbs: NVLink only where the offer states it and the GPU has it); None on instances
    of one GPU."""
    intra_node_gbs: float | None
    """GB/s per direction between two GPUs of one instance."""
    inter_node_gbps: float | None = None
    """Gbit/s between instances (None: the plan stays inside one instance)."""
    inter_node_source: str | None = None
    """Where inter_node_gbps comes from: the offer's network source, or the assumption the plan made."""
    inter_node_assumed: bool = False
    """The offer states no network: inter_node_gbps is constraints.assumed_network_gbps (or its default)."""
    vendor: str = ""
    """The GPU's maker (catalog/gpus.yaml vendor): AMD's GPU-to-GPU link is Infinity Fabric, not NVLink."""

    @property
    def intra_node_name(self) -> str:
        """The intra-node link in words: NVLink, Infinity Fabric (an AMD GPU's 'nvlink' kind) or PCIe."""
        if self.intra_node != "nvlink":
            return "PCIe"
        return "Infinity Fabric" if self.vendor == "AMD" else "NVLink"


def plan_links(gpu: GpuSpec, offer: PricedOffer, spans: bool) -> PlanLinks:
    """The links of a plan on this offer; `spans`: it uses more than one instance."""
    o = offer.offer
    gbs, kind = intra_node_gbs(gpu, offer) if o.gpus_per_instance > 1 else (None, None)
    if not spans:
        return PlanLinks(kind, gbs, vendor=gpu.vendor)
    source = ("assumed: the offer states none" if offer.network_assumed
              else o.network_source or "the offer's network_gbps")
    return PlanLinks(kind, gbs, o.network_gbps, source, offer.network_assumed, gpu.vendor)


def intra_node_gbs(gpu: GpuSpec, offer: PricedOffer) -> tuple[float, str]:
    """Bandwidth (GB/s per direction) and kind of the link between GPUs of one instance of this offer."""
    nvlink = gpu.interconnect.nvlink_gbs
    if offer.offer.intra_node == "nvlink" and nvlink:
        domain = gpu.interconnect.nvlink_gpus or offer.offer.gpus_per_instance
        if domain >= offer.offer.gpus_per_instance:
            return nvlink, "nvlink"
    return pcie_gbs(gpu.interconnect.pcie_gen or 4), "pcie"


@functools.lru_cache(maxsize=4096)
def ring_allreduce_seconds(size_bytes: float, ranks: int, link_gbs: float, link: str) -> float:
    """All-reduce of `size_bytes` over `ranks` GPUs joined by one kind of link (nvlink | pcie inside a node; network:
    one GPU per node): the ring moves 2(n−1)/n·S at the link's bandwidth B (docs/internals.md, 'Communication'),
    plus NCCL's latency of the fastest algorithm and protocol (planner/model/nccl.py). Remembered: a training search
    asks for the tensor-parallel all-reduce of every (plan, layout), thousands, over a few hundred (size, degree,
    link)."""
    if ranks <= 1 or size_bytes <= 0:
        return 0.0
    bandwidth = 2.0 * (ranks - 1) / ranks * size_bytes / (link_gbs * 1e9)
    if link == "network":
        return collective_seconds("allreduce", size_bytes, ranks, ranks, "pcie", bandwidth)
    return collective_seconds("allreduce", size_bytes, ranks, 1, link, bandwidth)


def hierarchical_allreduce_seconds(size_bytes: float, gpus: int, gpu: GpuSpec, offer: PricedOffer,
                                   stride: int = 1, intra: tuple[float, str] | None = None, messages: int = 1,
                                   kind: Collective = "allreduce") -> float:
    """`messages` collectives moving `size_bytes` in all over `gpus` GPUs (an all-reduce by default; all-gathers and
    reduce-scatters move (n−1)/n·S where an all-reduce moves 2(n−1)/n·S): a ring inside each instance, then a ring
    across instances over the network, plus NCCL's latency per collective for the whole group (planner/model/nccl.py).

    `stride` GPUs of a node belong to other groups (tensor/pipeline parallel ranks): a data-parallel group then has
    per_instance/stride members in a node, and all the node's groups share its network link at once. After the
    intra-node reduce-scatter each member holds 1/local of the buffer and sends it through its share of the link;
    with stride 1 this is the node's whole buffer through the node's bandwidth. `intra`: intra_node_gbs(gpu, offer)
    when the caller has it already (a training search asks for thousands of layouts on one offer).
    """
    link_gbs, link = intra or intra_node_gbs(gpu, offer)
    return group_collective_seconds(size_bytes, gpus, offer.offer.gpus_per_instance, offer.offer.network_gbps,
                                    stride, link_gbs, link, messages, kind)


@functools.lru_cache(maxsize=16384)
def group_collective_seconds(size_bytes: float, gpus: int, per_instance: int, network_gbps: float | None,
                             stride: int, link_gbs: float, link: str, messages: int, kind: Collective) -> float:
    """hierarchical_allreduce_seconds from the numbers it reads of the GPU and the offer. Remembered: a training
    search asks for ~12,000 gradient collectives over ~3,000 distinct groups (pretrain-1b-72h), since GPUs of one
    link speed on offers of one network meet the same ones."""
    if gpus <= 1 or size_bytes <= 0:
        return 0.0
    local = max(1, min(gpus, per_instance // max(1, stride)))
    nodes = -(-gpus // local)
    passes = 2.0 if kind == "allreduce" else 1.0
    bandwidth = passes * (local - 1) / local * size_bytes / (link_gbs * 1e9) if local > 1 else 0.0
    if nodes > 1 and network_gbps:
        sharing = min(per_instance, local * max(1, stride))
        bandwidth += passes * (nodes - 1) / nodes * size_bytes / local / (network_gbps / 8.0 / sharing * 1e9)
    else:
        nodes = 1
    count = max(1, messages)
    return count * collective_seconds(kind, size_bytes / count, gpus, nodes, link, bandwidth / count)


def tensor_parallel_allreduce_seconds(size_bytes: float, tp: int, gpu: GpuSpec, offer: PricedOffer,
                                      intra: tuple[float, str] | None = None) -> float:
    """One all-reduce of activations among the `tp` GPUs of a tensor-parallel group (always inside one node);
    `intra` as in hierarchical_allreduce_seconds."""
    link_gbs, link = intra or intra_node_gbs(gpu, offer)
    return ring_allreduce_seconds(size_bytes, tp, link_gbs, link)


def boundary_senders(per_instance: int, stage_gpus: int) -> int:
    """The GPUs of one instance that send at a pipeline stage boundary at once: the stage's, at most the
    instance's (pipeline_send_seconds over an assumed network; the training floors take it for any network)."""
    return per_instance if stage_gpus >= per_instance else max(1, stage_gpus)


def pipeline_send_seconds(size_bytes: float, offer: PricedOffer, gpus: int, intra: tuple[float, str],
                          stage_gpus: int | None = None) -> float:
    """Point-to-point send of one micro-batch's activations to the next stage. A job of `gpus` GPUs inside one
    instance sends over the instance's own link (`intra`: intra_node_gbs). Across nodes (Megatron's rank order
    tp-cp-ep-dp-pp puts the stages outermost: a stage boundary lies on the network) a slot is paced by its network
    boundary. A stated network is a cluster fabric of one rail per GPU (EFA, InfiniBand: catalog/providers.yaml
    networks), so each sending GPU gets 1/per_instance of it however many send; an assumed one (an offer that states
    none: PricedOffer.network_assumed, the catalog's default network) is one link the boundary stage's GPUs on the
    instance share, min(GPUs per instance, `stage_gpus`) of them (gpus ÷ pipeline depth; None: every GPU), so a stage
    of fewer GPUs than an instance sends faster (new-user QA round 21: an 8-stage pipeline of one data replica took
    7.6 s a step on two 5-GPU instances at the assumed 10 Gb/s and 2.7 s on eight 1-GPU ones)."""
    if gpus <= offer.offer.gpus_per_instance:
        return size_bytes / (intra[0] * 1e9) + RING_STEP_LATENCY_S[intra[1]]
    if not offer.offer.network_gbps:
        return 0.0
    per_instance = offer.offer.gpus_per_instance
    sharing = boundary_senders(per_instance, stage_gpus) if offer.network_assumed and stage_gpus is not None \
        else per_instance
    per_gpu = offer.offer.network_gbps / 8.0 / sharing
    return size_bytes / (per_gpu * 1e9) + RING_STEP_LATENCY_S["network"]


def all_to_all_seconds(size_bytes: float, ranks: int, link_gbs: float, link: str) -> float:
    """All-to-all where each of `ranks` GPUs holds `size_bytes` and keeps 1/n of it: (n−1)/n·S leaves every GPU at
    once over its own link (nccl-tests doc/PERFORMANCE.md: alltoall bus bandwidth = algorithm bandwidth ·
    (n−1)/n), plus one latency step per peer. Expert parallelism runs two per MoE layer forward, dispatch and combine
    (Lepikhin et al. 2020, GShard §2.2; Megatron-Core MoE token dispatcher)."""
    if ranks <= 1 or size_bytes <= 0:
        return 0.0
    return (ranks - 1) / ranks * size_bytes / (link_gbs * 1e9) + (ranks - 1) * RING_STEP_LATENCY_S[link]


def group_link(span: int, inside: int, gpu: GpuSpec, offer: PricedOffer,
               intra: tuple[float, str] | None = None) -> tuple[float, str]:
    """Per-GPU link of a group whose ranks lie `span` GPUs apart at most (expert- or context-parallel ranks after
    the tensor-parallel ones, Megatron's rank order tp-cp-ep-dp-pp): NVLink/PCIe when the span fits within `inside`
    GPUs of one instance, else each GPU's share of the instance's network (every GPU of the node talks at once).
    `intra`: intra_node_gbs(gpu, offer), when the caller has it."""
    if span <= inside or not offer.offer.network_gbps:
        return intra or intra_node_gbs(gpu, offer)
    return offer.offer.network_gbps / 8.0 / offer.offer.gpus_per_instance, "network"


def expert_all_to_all_seconds(size_bytes: float, ep: int, stride: int, gpu: GpuSpec, offer: PricedOffer,
                              intra_link: tuple[float, str] | None = None) -> float:
    """One all-to-all of an expert-parallel group of `ep` ranks, each holding `size_bytes` and keeping 1/ep of it,
    the ranks `stride` GPUs apart (the tensor and context ranks sit between them: Megatron's rank order
    tp-cp-ep-dp-pp). Each GPU's payload splits by where its peers are: the (local − 1)/ep share for the group
    members inside its instance goes over NVLink/PCIe, the (ep − local)/ep share for the members on other instances
    over its share of the instance's network (every GPU of the node sends at once). The two paths are separate
    hardware (NVSwitch ports vs the GPU's own NIC behind PCIe: NVIDIA DGX H100 datasheet, one 400 Gb/s ConnectX-7
    per GPU) and NCCL's all-to-all posts every peer's send at once (nccl-tests doc/PERFORMANCE.md, alltoall), so
    the slower path sets the time, plus one latency step per peer on it. A group inside one instance is
    all_to_all_seconds over the intra-node link. `intra_link`: intra_node_gbs(gpu, offer), when the caller has it."""
    if ep <= 1 or size_bytes <= 0:
        return 0.0
    inside = offer.offer.gpus_per_instance
    local = max(1, min(ep, inside // max(1, stride)))
    intra_gbs, intra = intra_link or intra_node_gbs(gpu, offer)
    if local >= ep or not offer.offer.network_gbps:
        return all_to_all_seconds(size_bytes, ep, intra_gbs, intra)
    near = (local - 1) / ep * size_bytes / (intra_gbs * 1e9) + (local - 1) * RING_STEP_LATENCY_S[intra]
    net_gbs = offer.offer.network_gbps / 8.0 / inside
    far = (ep - local) / ep * size_bytes / (net_gbs * 1e9) + (ep - local) * RING_STEP_LATENCY_S["network"]
    return max(near, far)


def point_to_point_seconds(size_bytes: float, link_gbs: float, link: str) -> float:
    """One send of `size_bytes` to a neighbour while receiving as much from the other (a ring step): S/B + α."""
    if size_bytes <= 0:
        return 0.0
    return size_bytes / (link_gbs * 1e9) + RING_STEP_LATENCY_S[link]
