"""Time of one forward pass of a batch (non-generative inference): the larger of its matmul work at a fitted
efficiency and the host's time to launch its kernels. Eager PyTorch launches one kernel per operator from Python;
with a batch of one the GPU finishes each kernel before the host has issued the next, so the call costs
kernels × (host time per kernel) whatever the GPU (the published DLE rows: a T4 matches a V100 at batch 1 though
it is 3× slower at batch 256)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from planner.model.gemm_shapes import forward_shape_efficiency, forward_shape_efficiency_of
from planner.model.workload import Workload
from planner.schema.catalog import GpuSpec

KERNELS_PER_LAYER = {"decoder": 16.0, "encoder": 16.0, "cnn": 3.0, "mlp": 2.0}
"""Kernels eager PyTorch launches per layer in inference. Transformer layer: layer norm, Q, K and V projections,
scores, scale, mask, softmax, weighted sum, head-merge copy, output projection, residual add, layer norm, FFN in,
activation, FFN out (+ residual add) = 16 (dropout launches nothing in eval mode). CNN (ResNet) layer: convolution,
batch norm, then ReLU or the residual add = 3. MLP layer: matmul with bias, activation = 2."""
ExecutionMode = Literal["eager", "runtime", "engine", "compiled"]
EXECUTION_MODES: tuple[ExecutionMode, ...] = ("eager", "runtime", "engine", "compiled")
"""How the host issues a forward pass's kernels. eager: Python launches one kernel per operator (PyTorch eager,
Hugging Face transformers); runtime: a C++ graph executor launches one kernel per graph node (ONNX Runtime,
llama.cpp's ggml graph); engine: a TensorRT-class engine, layers fused ahead of time and enqueued from C++
(TensorRT, TensorRT-LLM); compiled: torch.compile / CUDA graphs, the whole step replayed as one graph (vLLM and
SGLang decode with CUDA graphs by default; gpt-fast)."""
ENGINE_MODE: dict[str, ExecutionMode] = {"torch-eager": "eager", "hf-transformers": "eager", "onnxruntime": "runtime", "llama.cpp": "runtime",
               "tensorrt": "engine", "tensorrt-llm": "engine", "torch-compile": "compiled", "vllm": "compiled",
               "sglang": "compiled"}
"""The execution mode of each inference engine (catalog/published_runs.yaml `engine`, profile `inference.engine`)."""
HOST_FLOOR_RANGE_US: dict[str, tuple[float, float]] = {"eager": (2.0, 100.0), "runtime": (0.5, 30.0), "engine": (0.2, 20.0), "compiled": (0.05, 10.0)}
"""Plausible host time per operator of the eager graph (the floor counts the operators eager PyTorch would launch,
KERNELS_PER_LAYER; modes that fuse operators or replay graphs pay less per operator). eager: ~5–25 µs of Python,
dispatcher, autograd bookkeeping and cudaLaunchKernel per operator (J. Lin, "From PyTorch op to kernel launch",
gpu_kernel_serving lesson 18, the layer-by-layer table), widened for module-call overhead and older drivers.
runtime: the cudaLaunchKernel call alone (a few µs) plus the executor's per-node bookkeeping, with no Python; up to
30 µs where nodes are finer than operators. engine: fused layers launch fewer kernels than operators, so per
operator below one launch. compiled: a CUDA-graph replay costs the GPU's own launch latency, around a µs per kernel
or less. Each fit is held to its range."""
DEFAULT_HOST_FLOOR_US: dict[str, float] = {"eager": 10.0, "runtime": 4.0, "engine": 2.0, "compiled": 0.7}
"""Used only when no published row of that mode is in the fit: the geometric middle of each range above, rounded
down (eager: of the 5–25 µs per operator the source gives)."""


TRAINING_MODE: dict[str, ExecutionMode] = {"llm.c": "engine"}
"""The execution mode of a training stack's forward pass: llm.c enqueues its hand-written CUDA kernels from C (as an
engine does); every other stack (megatron, deepspeed, fsdp, hf-trainer, eager) runs PyTorch modules, eager."""


def training_mode(framework: str | None) -> ExecutionMode:
    """The execution mode of a training stack (TRAINING_MODE; eager when not listed or not stated)."""
    return TRAINING_MODE.get(framework or "", "eager")


def execution_mode(engine: str | None, generative: bool) -> ExecutionMode:
    """The execution mode of an engine; without one, the default engine's (vllm for generative models, torch-eager
    for the others: issue 13's defaults)."""
    return ENGINE_MODE[engine or ("vllm" if generative else "torch-eager")]


RELATIVE_KERNELS_PER_LAYER = 5.0
"""More operators per layer in eager Transformer-XL attention than in KERNELS_PER_LAYER's transformer layer, counted
by the same rules from NVIDIA DLE mem_transformer.py (RelPartialLearnableMultiHeadAttn, the source of the catalog's
Transformer-XL rows): cat([mems, w]) (+1); one fused qkv_net instead of separate Q, K and V (−2); r_net, the
projection of the relative positions (+1); q + r_w_bias and q + r_r_bias (+2); BD = (q + r_r_bias)·Rᵀ (+1); the
relative shift's zero pad and concatenation (+2; its view and narrow copy nothing); AC + BD and the scale in one
scripted kernel (add_and_scale, in place of the scale: 0). 16 + 5 = 21."""


def kernels_per_forward(work: Workload) -> float:
    """Kernels one eager forward pass launches (KERNELS_PER_LAYER × layers; Transformer-XL's relative attention
    RELATIVE_KERNELS_PER_LAYER more per layer)."""
    per_layer = KERNELS_PER_LAYER.get(work.family, 3.0) + (RELATIVE_KERNELS_PER_LAYER if work.relative_attention
                                                           else 0.0)
    return per_layer * max(1, work.layers)


ACTIVATION_PASSES = 2.0
"""Every layer output is written once and read once by the next layer (the memory floor of a forward pass)."""
SCORE_PASSES: dict[str, float] = {"eager": 8.0}
"""Passes over the a·s² attention scores of each layer in one forward pass, by execution mode. Eager PyTorch
attention (Hugging Face's eager BertSelfAttention; the operators of KERNELS_PER_LAYER) runs scores = Q·Kᵀ (write),
scale (read, write), mask (read, write), softmax (read, write), dropout (nothing in eval mode) and probs·V (read):
8 passes at the run's precision. The other modes fuse attention into one kernel that keeps the scores on chip
(ONNX Runtime's fused Attention node, TensorRT's fused MHA, flash kernels under torch.compile and vLLM): 0."""


RELATIVE_SCORE_PASSES = 4.0
"""More passes over the scores in eager Transformer-XL attention (NVIDIA DLE mem_transformer.py,
RelPartialLearnableMultiHeadAttn): AC = q·kᵀ (write) and BD = q·Rᵀ (write), BD shifted by a zero-pad concatenation
(read, write; the following view and narrow copy nothing), AC + BD and the scale in one scripted kernel (read 2,
write), masked_fill_ (read, write), softmax (read, write), probs·V (read): 12 passes against standard attention's 8."""


def forward_seconds(work: Workload, batch: float, flops_per_s: float, host_floor_s: float,
                    bytes_per_s: float = float("inf"), value_bytes: float = 2.0, mode: ExecutionMode = "compiled",
                    sms: int | None = None) -> float:
    """One forward pass of `batch` samples: the GPU's time — matmuls at `flops_per_s` (peak × efficiency) times
    their tile and wave quantisation on `sms` SMs (shape_efficiency; None: 1) plus ACTIVATION_PASSES over the layer
    outputs and the mode's SCORE_PASSES over materialised attention scores at `bytes_per_s` — or the host floor,
    whichever is longer (host and GPU run asynchronously, so the slower of the two sets the pace)."""
    moved = (work.activation_bytes_per_sample_16bit / 2.0 * ACTIVATION_PASSES
             + work.attention_scores_per_sample * score_passes(work, mode)) * value_bytes
    compute = work.forward_flops_per_sample / (flops_per_s * shape_efficiency(work, batch, sms))
    gpu = batch * (compute + moved / bytes_per_s)
    return max(gpu, kernels_per_forward(work) * host_floor_s)


def forward_seconds_of(work: Workload, flops_per_s: float, host_floor_s: float, bytes_per_s: float = float("inf"),
                       value_bytes: float = 2.0, mode: ExecutionMode = "compiled") -> Callable[[float, float], float]:
    """forward_seconds(work, batch, …, shape=shape) as a function of (batch, shape), the same floats, its terms
    that do not depend on the batch worked out once (a serving search asks thousands of batch sizes)."""
    moved = (work.activation_bytes_per_sample_16bit / 2.0 * ACTIVATION_PASSES
             + work.attention_scores_per_sample * score_passes(work, mode)) * value_bytes
    flops, per_sample_moved = work.forward_flops_per_sample, moved / bytes_per_s
    floor = kernels_per_forward(work) * host_floor_s

    def seconds(batch: float, shape: float) -> float:
        return max(batch * (flops / (flops_per_s * shape) + per_sample_moved), floor)

    return seconds


def shape_efficiency(work: Workload, batch: float, sms: int | None) -> float:
    """The share of the fitted matmul rate a forward pass of `batch` samples keeps after tile and wave quantisation
    of its dense GEMMs on `sms` SMs (planner/model/gemm_shapes.py; rows M = batch × tokens): 1 for a GPU without a
    known SM count or a model without GEMM shapes."""
    return forward_shape_efficiency(work.gemms, work.forward_flops_per_sample, batch, sms)


def shape_efficiency_of(work: Workload, sms: int | None) -> Callable[[float], float]:
    """shape_efficiency(work, batch, sms) as a function of the batch, the same floats (forward_shape_efficiency_of)."""
    return forward_shape_efficiency_of(work.gemms, work.forward_flops_per_sample, sms)


def shape_note(gpu: GpuSpec) -> str:
    """What the forward model does with the GPU's SM count, for an efficiency's detail."""
    if gpu.sms is None:
        return "no SM count in the catalog: dense GEMMs at the fitted rate (tile and wave quantisation factor 1)"
    return f"dense GEMMs at their tile and wave quantisation on {gpu.sms} SMs (planner/model/gemm_shapes.py)"


def score_passes(work: Workload, mode: ExecutionMode) -> float:
    """Passes over the materialised attention scores of one forward pass in this mode (SCORE_PASSES; Transformer-XL's
    relative attention RELATIVE_SCORE_PASSES more when they are materialised)."""
    passes = SCORE_PASSES.get(mode, 0.0)
    return passes + RELATIVE_SCORE_PASSES if passes and work.relative_attention else passes
