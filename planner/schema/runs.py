"""catalog/published_runs.yaml: published training and serving runs, the yardstick for priors and validation."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from planner.schema.base import Count, Strict
from planner.schema.model import ModelSection

TrainingFramework = Literal["megatron", "megatron-legacy", "deepspeed", "fsdp", "hf-trainer", "llm.c", "eager", "other"]
"""A published run's stack. `megatron` is today's Megatron-Core (Transformer Engine layers, fused or flash attention:
NeMo, Megatron-Bridge, the Megatron-LM README, MLPerf's NeMo), the stack a profile's `training.framework: megatron`
plans; `megatron-legacy` is Megatron-LM before Megatron-Core (2019-2022: materialised attention, `baddbmm` then its
fused softmax), a stack no profile plans, fitted apart so that one factor does not span both."""
"""Training stacks (issue 13 item 3). megatron: Megatron-LM / NeMo / Megatron-Bridge / Megatron-Core; deepspeed: DeepSpeed's
engine runs the step (Megatron-DeepSpeed, GPT-NeoX); fsdp: PyTorch FSDP/FSDP2 (torchtitan, llm-foundry/Composer);
eager: a plain PyTorch loop (single GPU or DDP); other: a named stack outside these (JAX, custom)."""
ServingEngine = Literal["vllm", "sglang", "tensorrt-llm", "llama.cpp", "hf-transformers", "torch-eager", "torch-compile",
                        "onnxruntime", "tensorrt"]
"""Inference engines (issue 13 item 3, plus torch-compile and tensorrt); torch-eager: a plain PyTorch forward (no
TorchScript, TensorRT or torch.compile); hf-transformers: a Hugging Face transformers model in eager PyTorch;
torch-compile: torch.compile'd code with CUDA graphs (gpt-fast), whose per-token host and launch floor is far below
eager's; tensorrt: a TensorRT engine built from an ONNX export (encoders and CNNs, not TensorRT-LLM)."""
IntraNode = Literal["nvlink1", "nvlink2", "nvlink3", "nvlink4", "nvlink5", "pcie3", "pcie4", "pcie5", "infinity-fabric"]
"""GPU-to-GPU link inside a node: NVLink generation (1 P100, 2 V100, 3 A100, 4 H100/H200, 5 B200/GB200/GB300), PCIe
generation when the GPUs have no NVLink between them, AMD Infinity Fabric (MI250X/MI300X)."""


class RunLayout(Strict):
    """How the run split its work, as its source states it (null: not stated)."""

    tp: int | None = Field(None, ge=1, description="Tensor-parallel degree.")
    pp: int | None = Field(None, ge=1, description="Pipeline-parallel degree.")
    dp: int | None = Field(None, ge=1, description="Data-parallel degree (stated, or GPUs / (TP·PP·CP) when derived).")
    ep: int | None = Field(None, ge=1, description="Expert-parallel degree (MoE).")
    etp: int | None = Field(None, ge=1, description="Tensor-parallel degree inside the experts (Megatron ETP).")
    cp: int | None = Field(None, ge=1, description="Context-parallel degree.")
    vp: int | None = Field(None, ge=1, description="Virtual pipeline stages per rank (interleaved schedule).")
    fsdp: bool | None = Field(None, description="Parameters sharded over data parallel (FSDP / ZeRO-3).")
    zero_stage: int | None = Field(None, ge=0, le=3, description="DeepSpeed ZeRO / distributed-optimizer stage.")
    micro_batch: int | None = Field(None, ge=1, description="Micro-batch per GPU, sequences.")
    global_batch: int | None = Field(None, ge=1, description="Global batch, sequences.")
    recompute: Literal["none", "selective", "full"] | None = Field(None, description="Activation recomputation.")
    pipeline_split: Literal["even", "ends-counted"] | None = Field(
        None, description="How the recipe split the layers over the pipeline stages (Megatron-Core): even — the "
                          "transformer layers evenly, the output layer on the last stage besides its share "
                          "(account_for_embedding/loss_in_pipeline_split False, the default); ends-counted — the "
                          "embedding and the loss counted as one layer each (both True). Null: not stated, planned "
                          "as Megatron-Core's default (even).")


class PublishedRun(Strict):
    """One published run or benchmark row with its measured outcome."""

    id: str = Field(description="Row id from the reference data.")
    group: Literal["llm-pretraining", "fine-tuning", "cnn", "encoder", "single-gpu-throughput",
                   "serving-decode", "serving-prefill", "inference-batch-1", "inference-batched",
                   "transformer-xl-training", "transformer-xl-inference"] = Field(
        description="Validation group: inference-batch-1 holds one-sample forward passes in eager PyTorch (host and "
                    "kernel-launch bound); transformer-xl-training and -inference the Transformer-XL rows whose relative "
                    "attention, recurrence memory and adaptive softmax the planner approximates (predicted, never "
                    "fitted).")
    tier: Literal["A", "B", "C"] = Field(description="A primary and exact; B derived or secondary; C estimate.")
    model: ModelSection = Field(description="Preset or inline architecture.")
    precision: Literal["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4"] = Field(description="Precision.")
    tokens: Count | None = Field(None, description="Training tokens.")
    samples: Count | None = Field(None, description="Samples per epoch.")
    epochs: float | None = Field(None, gt=0, description="Epochs.")
    seq_len: int | None = Field(None, ge=1, description="Sequence length used.")
    batch: float | None = Field(None, gt=0, description="Per-GPU batch (throughput rows) or global batch.")
    gpu: str = Field(description="GPU id.")
    gpu_count: int | None = Field(None, ge=1, description="GPUs used.")
    metric: Literal["gpu_hours", "wall_clock_hours", "tokens_per_s", "samples_per_s", "tflops_per_gpu"] = Field(
        description="What was measured.")
    value: float = Field(gt=0, description="The measured value.")
    phase: Literal["train", "infer", "prefill", "decode"] = Field(description="Training or which inference phase.")
    software: str | None = Field(None, description="Software as the source names it, with versions and containers.")
    framework: TrainingFramework | None = Field(
        None, description="Training stack the source states (train rows); null: not stated.")
    engine: ServingEngine | None = Field(
        None, description="Inference engine the source states (infer/prefill/decode rows); null: not stated.")
    layout: RunLayout | None = Field(None, description="Parallel layout and batch split the source states.")
    gpus_per_node: int | None = Field(None, ge=1, description="GPUs per server/node the run used.")
    nvlink_domain: int | None = Field(
        None, ge=1, description="GPUs in one NVLink domain when larger than a node (GB200/GB300 NVL72: 72).")
    intra_node: IntraNode | None = Field(None, description="GPU-to-GPU link inside a node.")
    inter_node_gbps: float | None = Field(
        None, gt=0, description="Network bandwidth per node to the other nodes, Gb/s (sum of its compute NICs).")
    cluster_source: str | None = Field(
        None, description="Source of the cluster fields when it is not the row's `source` (e.g. a system datasheet).")
    input_tokens: int | None = Field(None, ge=1, description="Serving rows: prompt tokens per request.")
    output_tokens: int | None = Field(None, ge=1, description="Serving rows: generated tokens per request.")
    concurrency: int | None = Field(None, ge=1, description="Serving rows: concurrent requests (max batch in flight).")
    memory_format: Literal["nchw", "nhwc"] | None = Field(
        None, description="CNN activation layout the run used (NVIDIA DLE ConvNets --memory-format, default nchw); "
                          "null: not a CNN or not stated (nhwc, the layout tensor-core convolutions use, assumed).")
    attention: Literal["flash", "standard"] | None = Field(
        None, description="Attention kernel the run's source states: flash (FlashAttention, xformers memory-efficient, "
                          "cuDNN fused attention: the s×s scores never reach memory) or standard; null: not stated "
                          "(standard assumed).")
    source: str = Field(min_length=3, description="Where it was published.")
    notes: str | None = Field(None, description="Derivations and assumptions.")
    check_family: str | None = Field(
        None, description="The independent-check family the row belongs to (set from the file's `independent_check` "
                          "list by its source): predicted, never fitted on.")


def fittable(runs: list[PublishedRun]) -> list[PublishedRun]:
    """The runs a fit may use: every run outside the independent-check families (issue 13: those stay a check)."""
    return [r for r in runs if r.check_family is None]


class CheckFamily(Strict):
    """A family of sources kept out of every fit so that it stays an independent check (issue 13 item 4)."""

    name: str = Field(min_length=3, description="The family, as the issue names it.")
    sources: list[str] = Field(min_length=1, description="Row `source` prefixes that belong to the family.")
    why: str = Field(min_length=3, description="Why the family is a check.")


class ExcludedRun(Strict):
    """A reference row left out, with the reason."""

    id: str = Field(description="Row id.")
    reason: str = Field(description="Why it is not used.")
    facts: dict[str, Any] | None = Field(
        None, description="The row's full facts (a `runs` entry) kept for when the reason no longer holds, e.g. MoE "
                          "rows awaiting the MoE model fields.")


class PublishedRunsFile(Strict):
    """catalog/published_runs.yaml."""

    schema_version: Literal[1] = Field(description="Format version.")
    runs: list[PublishedRun] = Field(min_length=1, description="Runs.")
    excluded: list[ExcludedRun] = Field(default_factory=list, description="Rows left out.")
    independent_check: list[CheckFamily] = Field(
        default_factory=list, description="Source families predicted but never fitted on: each row whose source "
                                          "starts with one of a family's prefixes gets its check_family.")

    @model_validator(mode="before")
    @classmethod
    def _mark_check_rows(cls, data: Any) -> Any:
        """Each run whose source starts with a family's prefix gets that family as its check_family (malformed
        entries are left for field validation to report)."""
        if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
            return data
        prefixes = [(str(f.get("name")), str(p)) for f in data.get("independent_check") or [] if isinstance(f, dict)
                    for p in f.get("sources") or []]
        runs = []
        for run in data["runs"]:
            source = run.get("source") if isinstance(run, dict) else None
            family = next((name for name, p in prefixes if isinstance(source, str) and source.startswith(p)), None)
            runs.append({**run, "check_family": family} if family and "check_family" not in run else run)
        return {**data, "runs": runs}
