"""Time of one NCCL collective: a latency and a bandwidth term per algorithm and protocol, the cheapest chosen — the
cost model NCCL itself tunes with (NVIDIA/nccl@01afd20a src/graph/tuning.cc, ncclTopoTuneModel and
ncclTopoGetAlgoTime; its figures below, in µs). A ring all-gather over 2,048 GPUs waits for 2,047 hops, so the
many small per-layer collectives of ZeRO-3/FSDP at scale pay latency that one bandwidth term cannot show; a
tensor-parallel all-reduce of a few KB costs ~10 µs on NVLink (the low-latency LL protocol), not a ring of full
chunk steps."""
from __future__ import annotations

import functools
import math
from typing import Literal

Collective = Literal["allreduce", "allgather", "reducescatter"]
Protocol = Literal["LL", "LL128", "Simple"]
PROTOCOLS: tuple[Protocol, ...] = ("LL", "LL128", "Simple")

BASE_LATENCY_US = {"tree": (4.4, 4.4, 0.0), "ring": (3.6, 10.0, 8.4)}
"""Fixed latency of a collective per algorithm, (LL, LL128, Simple) (tuning.cc baseLat)."""
HOP_LATENCY_US = {
    "nvlink": {"tree": (0.52, 1.2, 28.0), "ring": (0.47, 1.9, 3.4)},
    "pcie": {"tree": (1.0, 1.9, 28.0), "ring": (1.0, 2.5, 5.7)},
    "network": {"tree": (5.0, 8.5, 50.0), "ring": (2.7, 4.0, 9.6)},
}
"""Latency per step over each kind of link, (LL, LL128, Simple) (tuning.cc hwLat; Simple moves a whole chunk per
step, the tree's 256 KB)."""
LL_INTRA_MULTINODE = 1.8
"""LL's intra-node step latency grows by this when the collective spans nodes (tuning.cc)."""
TREE_BANDWIDTH = 0.9
"""A tree reaches 0.9 of the ring's bus bandwidth (tuning.cc)."""
RING_PLATEAU = 1.9
"""A multi-node ring all-reduce of large messages (≥ ranks/16 × 64 KiB) in Simple takes 1.9× its latency (tuning.cc,
'plateau effect of ring')."""


def _share(algorithm: str, protocol: Protocol, kind: Collective, nodes: int, per_node: float) -> float:
    """Share of the Simple protocol's bus bandwidth that an algorithm and protocol reach (tuning.cc): LL sends 8 bytes
    per 16 (flag words) and waits more, LL128 120 of every 128 bytes."""
    if algorithm == "ring":
        if protocol == "LL":
            return 1.0 / 4.0 if nodes > 1 or kind == "allreduce" else 1.0 / 3.0
        if protocol == "LL128":
            return 0.7 if per_node < 2 else 0.92
        return 1.0
    if protocol == "LL":
        return TREE_BANDWIDTH / 3.8
    if protocol == "LL128":
        return TREE_BANDWIDTH * (7.0 / 9.0 if nodes == 1 else 0.915)
    return TREE_BANDWIDTH


def _latency_us(algorithm: str, protocol: Protocol, kind: Collective, ranks: int, nodes: int, intra: str) -> float:
    p = PROTOCOLS.index(protocol)
    intra_hop = HOP_LATENCY_US[intra][algorithm][p] * (LL_INTRA_MULTINODE if nodes > 1 and protocol == "LL" else 1.0)
    net_hop = HOP_LATENCY_US["network"][algorithm][p]
    if algorithm == "tree":
        return BASE_LATENCY_US["tree"][p] + 2.0 * ((ranks / nodes - 1) * intra_hop + math.floor(math.log2(nodes))
                                                   * net_hop)
    steps = 2 * (ranks - 1) if kind == "allreduce" else ranks - 1
    inter_steps = 2 * (nodes - 1) if kind == "allreduce" else nodes - 1
    return BASE_LATENCY_US["ring"][p] + (steps - inter_steps) * intra_hop + inter_steps * net_hop


def collective_seconds(kind: Collective, size_bytes: float, ranks: int, nodes: int, intra: str,
                       ring_bandwidth_s: float) -> float:
    """One collective of `size_bytes` over `ranks` GPUs in `nodes` nodes joined inside by `intra` (nvlink | pcie):
    the fastest algorithm (ring; a tree too for all-reduce) and protocol (LL128 only over NVLink, as NCCL enables
    it), each costing its latency plus `ring_bandwidth_s` — the ring's time at full bandwidth — over its bandwidth
    share. A tree all-reduce moves S at half the bus bandwidth where a ring moves 2(n−1)/n·S at all of it."""
    if ranks <= 1 or size_bytes <= 0:
        return 0.0
    best = math.inf
    for latency, plateau, threshold, volume, share in _candidates(kind, ranks, nodes, intra):
        if size_bytes >= threshold:
            latency = plateau
        seconds = latency + ring_bandwidth_s * volume / share
        if seconds < best:  # min(best, seconds) without the call: ~85,000 per training search
            best = seconds
    return best


@functools.lru_cache(maxsize=8192)
def _candidates(kind: Collective, ranks: int, nodes: int, intra: str) -> tuple[tuple[float, float, float, float,
                                                                                      float], ...]:
    """Per algorithm and protocol NCCL may pick for this group: (latency s, latency s of a message at or past the
    ring's plateau threshold, that threshold in bytes, volume, bandwidth share). They depend on the group only, and
    a training search asks for tens of thousands of collectives over a few hundred groups: worked out once each."""
    nodes = max(1, min(nodes, ranks))
    per_node = ranks / nodes
    algorithms = ("ring", "tree") if kind == "allreduce" else ("ring",)
    out = []
    for algorithm in algorithms:
        volume = 1.0 if algorithm == "ring" else ranks / (ranks - 1)
        for protocol in PROTOCOLS:
            if protocol == "LL128" and intra != "nvlink":
                continue
            latency = _latency_us(algorithm, protocol, kind, ranks, nodes, intra) * 1e-6
            plateau, threshold = latency, math.inf
            if algorithm == "ring" and protocol == "Simple" and kind == "allreduce" and nodes > 1:
                plateau, threshold = latency * RING_PLATEAU, ranks / 16.0 * 65536
            out.append((latency, plateau, threshold, volume, _share(algorithm, protocol, kind, nodes, per_node)))
    return tuple(out)


def least_collectives_s(kind: Collective, ranks: int, nodes: int, intra: str, messages: int,
                        ring_bandwidth_s: float) -> float:
    """A floor under `messages` or more collectives over this group that together take `ring_bandwidth_s` or more at
    the ring's full bandwidth (collective_seconds of each message, summed): the least over _candidates of the
    messages × its latency (the smaller of the two it may charge: a message at or past the ring's plateau threshold
    pays the plateau) plus the bandwidth term over its share. collective_seconds takes each message's least over the
    same candidates, and equal messages pick the same one, so their sum is the least of the candidates' sums; each
    sum only grows with the messages and the bandwidth term (plans/count_bound.py)."""
    if ranks <= 1:
        return 0.0
    best = math.inf
    for latency, plateau, _, volume, share in _candidates(kind, ranks, nodes, intra):
        seconds = messages * (latency if latency < plateau else plateau) + ring_bandwidth_s * volume / share
        if seconds < best:
            best = seconds
    return best


def least_latency_s(kind: Collective, ranks: int, nodes: int, intra: str) -> float:
    """The least latency collective_seconds charges any algorithm and protocol for one collective over this group
    (a message at or past a ring's plateau threshold pays more): with the ring's bandwidth term, a floor under
    every such collective (plans/count_bound.py)."""
    if ranks <= 1:
        return 0.0
    # _candidates' latencies, the same products, without their plateaus and bandwidth shares (a search's floors ask
    # for hundreds of groups whose collectives no plan times); _latency_us written out per algorithm, its tables
    # read once (the least of the same numbers: ~6 µs → ~2 µs a group)
    nodes = max(1, min(nodes, ranks))
    allreduce = kind == "allreduce"
    steps = 2 * (ranks - 1) if allreduce else ranks - 1
    inter_steps = 2 * (nodes - 1) if allreduce else nodes - 1
    intra_hops, net_hops = HOP_LATENCY_US[intra], HOP_LATENCY_US["network"]
    skip = -1 if intra == "nvlink" else PROTOCOLS.index("LL128")
    ll = PROTOCOLS.index("LL")
    spread = LL_INTRA_MULTINODE if nodes > 1 else 1.0  # LL's intra-node hop across nodes
    best = math.inf
    base, hops, net = BASE_LATENCY_US["ring"], intra_hops["ring"], net_hops["ring"]
    for p in range(len(PROTOCOLS)):
        if p != skip:
            latency = (base[p] + (steps - inter_steps) * (hops[p] * (spread if p == ll else 1.0))
                       + inter_steps * net[p]) * 1e-6
            if latency < best:
                best = latency
    if allreduce:
        base, hops, net = BASE_LATENCY_US["tree"], intra_hops["tree"], net_hops["tree"]
        per_node, depth = ranks / nodes - 1, math.floor(math.log2(nodes))
        for p in range(len(PROTOCOLS)):
            if p != skip:
                latency = (base[p] + 2.0 * (per_node * (hops[p] * (spread if p == ll else 1.0)) + depth * net[p])) \
                    * 1e-6
                if latency < best:
                    best = latency
    return best
