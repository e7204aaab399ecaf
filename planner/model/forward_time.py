"""Time of one forward pass of a batch (non-generative inference): the larger of its matmul work at a fitted
efficiency and the host's time to launch its kernels. Eager PyTorch launches one kernel per operator from Python;
with a batch of one the GPU finishes each kernel before the host has issued the next, so the call costs
kernels × (host time per kernel) whatever the GPU (the published DLE rows: a T4 matches a V100 at batch 1 though
it is 3× slower at batch 256)."""
from __future__ import annotations

from planner.model.workload import Workload

KERNELS_PER_LAYER = {"decoder": 16.0, "encoder": 16.0, "cnn": 3.0, "mlp": 2.0}
"""Kernels eager PyTorch launches per layer in inference. Transformer layer: layer norm, Q, K and V projections,
scores, scale, mask, softmax, weighted sum, head-merge copy, output projection, residual add, layer norm, FFN in,
activation, FFN out (+ residual add) = 16 (dropout launches nothing in eval mode). CNN (ResNet) layer: convolution,
batch norm, then ReLU or the residual add = 3. MLP layer: matmul with bias, activation = 2."""
HOST_FLOOR_RANGE_US = (2.0, 100.0)
"""Plausible host time per eager kernel: ~5–25 µs of Python, dispatcher, autograd bookkeeping and cudaLaunchKernel
per operator (J. Lin, "From PyTorch op to kernel launch", gpu_kernel_serving lesson 18, the layer-by-layer table),
widened for module-call overhead and older drivers; the fit is held to this range."""
DEFAULT_HOST_FLOOR_US = 10.0
"""Used only when no published row constrains the fit (a fold without batch-1 rows): the geometric middle of the
5–25 µs per operator the source above gives (√(5·25) ≈ 11, rounded down)."""


def kernels_per_forward(work: Workload) -> float:
    """Kernels one eager forward pass launches (KERNELS_PER_LAYER × layers)."""
    return KERNELS_PER_LAYER.get(work.family, 3.0) * max(1, work.layers)


ACTIVATION_PASSES = 2.0
"""Every layer output is written once and read once by the next layer (the memory floor of a forward pass)."""


def forward_seconds(work: Workload, batch: float, flops_per_s: float, host_floor_s: float,
                    bytes_per_s: float = float("inf"), value_bytes: float = 2.0) -> float:
    """One forward pass of `batch` samples: the GPU's time — matmuls at `flops_per_s` (peak × efficiency) plus
    ACTIVATION_PASSES over the layer outputs at `bytes_per_s` — or the host floor, whichever is longer (host and GPU
    run asynchronously, so the slower of the two sets the pace)."""
    activations = work.activation_bytes_per_sample_16bit * value_bytes / 2.0
    gpu = batch * (work.forward_flops_per_sample / flops_per_s + ACTIVATION_PASSES * activations / bytes_per_s)
    return max(gpu, kernels_per_forward(work) * host_floor_s)
