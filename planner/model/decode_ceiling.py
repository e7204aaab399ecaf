"""How fast a decode step can stream the weights: the lesser of the DRAM peak and what the SMs issue.

A batch-1 decode step is a chain of matrix-vector products that read every weight once. The published decode
rows the priors are fitted on do not reach one share of the DRAM peak across GPUs (gpt-fast on an A100 72 %, vLLM
on an H200 52 %), but they do reach the same bytes per SM per clock (9.6 and 9.5: docs/accuracy.md, serving-decode):
the GEMV kernels issue a bounded number of loads per SM per cycle, so a GPU with many bytes/s of DRAM per SM-cycle
(an H200) cannot use its whole peak. The decode prior is therefore fitted as a share of one 32-byte sector per SM
per clock (the unit NVIDIA GPUs move between L2 and DRAM: CUDA C++ Best Practices Guide, "Coalesced Access to
Global Memory") and read, for a plan's GPU, as a share of that GPU's peak bandwidth, capped at the peak.
"""
from __future__ import annotations

from planner.catalog.ceilings import sm_cycles_per_s
from planner.schema.catalog import GpuSpec

SECTOR_BYTES = 32.0
"""Bytes of one L2/DRAM sector: the reference unit of the decode prior (one sector per SM per clock)."""


def issue_bytes_per_s(gpu: GpuSpec) -> float | None:
    """One sector per SM per boost-clock cycle, bytes/s; None when the catalog lacks the SM count or the clock."""
    cycles = sm_cycles_per_s(gpu)
    return cycles * SECTOR_BYTES if cycles else None


def share_of_peak(gpu: GpuSpec, issue_share: float) -> float | None:
    """The decode prior `issue_share` (of one sector per SM-clock) as a share of `gpu`'s peak memory bandwidth,
    at most 1; None when the GPU's SM count or clock is unknown."""
    issue = issue_bytes_per_s(gpu)
    if issue is None:
        return None
    return min(1.0, issue_share * issue / (gpu.memory_bandwidth_gbs * 1e9))
