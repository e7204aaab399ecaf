"""How fast a decode step can stream the weights and KV cache: a share of what a copy kernel reaches on the GPU.

A decode step at the batch sizes serving runs reads every weight once and every sequence's KV cache: DRAM bandwidth
bounds it. No kernel moves the datasheet's bytes/s; a streaming copy kernel reaches 77–92 % of it on the measured
GPUs (catalog/gpus.yaml `bandwidth_ceiling`; transferred to the others at catalog load, always below 1:
planner/catalog/bandwidth_ceiling.py). The decode prior (catalog/priors.yaml) is fitted as the share of that copy
bandwidth the published decode rows reached (an engine's GEMV and attention kernels and its per-step host work) and
read, for a plan's GPU, as prior × the GPU's copy share of its datasheet bandwidth: below 1 on every GPU, and of two
GPUs under one prior the one with more copy bandwidth decodes faster (H200 4.01 TB/s, H100 2.90 TB/s).

The SMs' issue rate is no separate bound: the copy kernel's loads are issued by the same SMs, so where the SMs could
not keep the DRAM busy, the measured copy bandwidth is already that lower figure. Until 2026-12-01 the prior was a
share of one 32-byte sector per SM per clock, fitted on gpt-fast's A100 and vLLM's H200 rows, which agreed per
SM-cycle (9.6 and 9.5 bytes); read on other GPUs that rule gave a B200 35 % of its datasheet bandwidth and an MI300X
or a GDDR card 100 % (docs/accuracy.md, serving-decode).
"""
from __future__ import annotations

from planner.schema.catalog import GpuSpec


def copy_share(gpu: GpuSpec) -> float | None:
    """The GPU's copy bandwidth over its datasheet bandwidth (measured or transferred at catalog load); None when the
    catalog measures no GPU at all."""
    return gpu.bandwidth_ceiling.share if gpu.bandwidth_ceiling is not None else None


def copy_bytes_per_s(gpu: GpuSpec) -> float | None:
    """The bandwidth a copy kernel reaches on `gpu`, bytes/s; None without a bandwidth ceiling."""
    share = copy_share(gpu)
    return share * gpu.memory_bandwidth_gbs * 1e9 if share is not None else None


def share_of_peak(gpu: GpuSpec, copy_fraction: float) -> float | None:
    """The decode prior `copy_fraction` (of the copy bandwidth) as a share of `gpu`'s datasheet bandwidth, at most 1
    (a decode step reads far more than it writes, so it may outrun a copy kernel, which writes as much as it reads,
    but not the datasheet); None without a bandwidth ceiling."""
    share = copy_share(gpu)
    return min(1.0, copy_fraction * share) if share is not None else None
