"""catalog/published_runs.yaml: published training and serving runs, the yardstick for priors and validation."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from planner.schema.base import Count, Strict
from planner.schema.model import ModelSection


class PublishedRun(Strict):
    """One published run or benchmark row with its measured outcome."""

    id: str = Field(description="Row id from the reference data.")
    group: Literal["llm-pretraining", "fine-tuning", "cnn", "encoder", "single-gpu-throughput",
                   "serving-decode", "serving-prefill", "other"] = Field(description="Validation group.")
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
    framework: str | None = Field(None, description="Software used.")
    memory_format: Literal["nchw", "nhwc"] | None = Field(
        None, description="CNN activation layout the run used (NVIDIA DLE ConvNets --memory-format, default nchw); "
                          "null: not a CNN or not stated (nhwc, the layout tensor-core convolutions use, assumed).")
    attention: Literal["flash", "standard"] | None = Field(
        None, description="Attention kernel the run's source states: flash (FlashAttention, xformers memory-efficient, "
                          "cuDNN fused attention: the s×s scores never reach memory) or standard; null: not stated "
                          "(standard assumed).")
    source: str = Field(min_length=3, description="Where it was published.")
    notes: str | None = Field(None, description="Derivations and assumptions.")


class ExcludedRun(Strict):
    """A reference row left out, with the reason."""

    id: str = Field(description="Row id.")
    reason: str = Field(description="Why it is not used.")


class PublishedRunsFile(Strict):
    """catalog/published_runs.yaml."""

    schema_version: Literal[1] = Field(description="Format version.")
    runs: list[PublishedRun] = Field(min_length=1, description="Runs.")
    excluded: list[ExcludedRun] = Field(default_factory=list, description="Rows left out.")
