"""How much of a GPU's memory a job can use."""
from __future__ import annotations

from planner.schema.catalog import GpuSpec

RESERVED_BYTES = 1.0e9
"""CUDA context, cuBLAS/cuDNN workspaces and NCCL buffers: about 0.5–1 GB per process in PyTorch
(torch.cuda.mem_get_info before and after the first kernel); we reserve the upper end."""
ALLOCATOR_HEADROOM = 0.05
"""Fraction kept free for caching-allocator fragmentation (PyTorch's allocator rounds blocks up to 2 MiB/20 MiB)."""


def usable_bytes(gpu: GpuSpec) -> float:
    """Bytes of device memory a job can plan to fill."""
    return (gpu.memory_gb * 1e9 - RESERVED_BYTES) * (1.0 - ALLOCATOR_HEADROOM)
