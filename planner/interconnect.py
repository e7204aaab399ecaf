"""Link bandwidths and ring all-reduce time (FORMULAS.md, 'Communication')."""
from __future__ import annotations

from .catalog import PricedOffer
from .schema.catalog import GpuSpec

RING_STEP_LATENCY_S = {"nvlink": 5e-6, "pcie": 10e-6, "network": 15e-6}
"""Per-step latency α of a ring all-reduce. Order of the small-message all-reduce times nccl-tests reports
(tens of µs for a full ring of 8 GPUs); it matters only for small messages, i.e. for latency-bound serving."""


def pcie_gbs(generation: int) -> float:
    """Unidirectional x16 PCIe bandwidth, GB/s: 8 GT/s·2^(gen−3) per lane, 16 lanes, 128b/130b coding (gen ≥ 3)."""
    gen = max(3, generation)
    return 8.0 * 2 ** (gen - 3) * 16 * (128 / 130) / 8


def intra_node_gbs(gpu: GpuSpec, offer: PricedOffer) -> tuple[float, str]:
    """Bandwidth (GB/s per direction) and kind of the link between GPUs of one instance of this offer."""
    nvlink = gpu.interconnect.nvlink_gbs
    if offer.offer.intra_node == "nvlink" and nvlink:
        domain = gpu.interconnect.nvlink_gpus or offer.offer.gpus_per_instance
        if domain >= offer.offer.gpus_per_instance:
            return nvlink, "nvlink"
    return pcie_gbs(gpu.interconnect.pcie_gen or 4), "pcie"


def ring_allreduce_seconds(size_bytes: float, ranks: int, link_gbs: float, link: str) -> float:
    """Ring all-reduce of `size_bytes` over `ranks`: 2(n−1)/n·S/B + 2(n−1)·α (FORMULAS.md)."""
    if ranks <= 1 or size_bytes <= 0:
        return 0.0
    steps = 2.0 * (ranks - 1)
    return steps / ranks * size_bytes / (link_gbs * 1e9) + steps * RING_STEP_LATENCY_S[link]


def hierarchical_allreduce_seconds(size_bytes: float, gpus: int, gpu: GpuSpec, offer: PricedOffer) -> float:
    """All-reduce over `gpus` GPUs: a ring inside each instance, then a ring across instances over the network.

    Across instances every instance moves its whole buffer through its network link (the GPUs of a node each
    own 1/g of it after the intra-node reduce-scatter), so the inter-node term uses the node's bandwidth.
    """
    per_instance = offer.offer.gpus_per_instance
    local = min(gpus, per_instance)
    nodes = -(-gpus // per_instance)
    link_gbs, link = intra_node_gbs(gpu, offer)
    seconds = ring_allreduce_seconds(size_bytes, local, link_gbs, link)
    if nodes > 1 and offer.offer.network_gbps:
        seconds += ring_allreduce_seconds(size_bytes, nodes, offer.offer.network_gbps / 8.0, "network")
    return seconds
