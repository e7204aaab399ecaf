"""Measure a reference model: training steps and inference calls over a size sweep, as WorkPoints.

Efficiency of a point = the core's model FLOP for the call (planner/model/workload.py) ÷ (median time × measured matmul
peak at that precision); for decode, the core's bytes per step ÷ (time × measured copy bandwidth). Using the core's
own FLOP and byte formulas makes the fitted efficiency the number the core multiplies by.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from planner.model.workload import (
    decode_flops,
    kv_bytes_per_token,
    prefill_flops,
    weight_bytes,
    workload_for,
)
from planner.plans.training import TrainingJob
from planner.profiler.flops import count_flops
from planner.profiler.lora import add_lora
from planner.profiler.microbench import DTYPES
from planner.profiler.models import (
    Cache,
    build_model,
    example_input,
    kv_caches,
    loss_of,
)
from planner.profiler.timing import peak_memory_bytes, tensor_bytes, time_call
from planner.profiler.usercode import UserModel
from planner.schema.model import Architecture
from planner.schema.record import WorkPoint


@dataclass(frozen=True)
class Peak:
    """The measured roofline the efficiencies are relative to."""

    flops: dict[str, float]
    """Measured matmul FLOP/s per precision."""
    bandwidth: float
    """Measured copy bandwidth, bytes/s."""


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager[Any]:
    """Mixed precision where the device supports it (fp16/bf16); fp32 and tf32 run unchanged."""
    if precision in ("fp16", "bf16"):
        return torch.autocast(device_type=device.split(":")[0], dtype=DTYPES[precision])
    return nullcontext()


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The profile's optimizer (torch.optim); Adafactor where this torch has it, else AdamW."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    if name == "adafactor" and hasattr(torch.optim, "Adafactor"):
        return torch.optim.Adafactor(params, lr=1e-3)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3)
    return torch.optim.AdamW(params, lr=1e-3)


@dataclass
class TrainStep:
    """One training step of a reference model: forward (autocast) + loss + backward + optimizer step.

    method "lora" / "qlora": the base weights are frozen and rank-`lora_rank` adapters train (profiler/lora.py);
    the optimizer holds the adapters only. QLoRA runs as LoRA: no NF4 kernel here (see QLORA_NOTE). `user`: a
    model from the user's own code (profiler/usercode.py) instead of the reference model."""

    arch: Architecture
    batch: int
    precision: str
    optimizer: str
    device: str = "cpu"
    method: str = "full"
    lora_rank: int = 16
    user: UserModel | None = None

    def __post_init__(self) -> None:
        self.model = (self.user.build() if self.user else build_model(self.arch)).to(self.device)
        if self.method != "full":
            add_lora(self.model, self.lora_rank)
        self.opt = make_optimizer(self.optimizer, [p for p in self.model.parameters() if p.requires_grad])
        self.inputs = self.user.inputs(self.batch, self.device) if self.user else \
            example_input(self.arch, self.batch, device=self.device)

    def __call__(self) -> None:
        self.opt.zero_grad(set_to_none=True)
        with autocast(self.device, self.precision):
            out = self.model(self.inputs)
        loss = self.user.loss(out) if self.user else loss_of(self.arch, out, self.inputs)
        loss.backward()
        self.opt.step()

    def resident_bytes(self) -> float:
        """Weights, gradients and optimizer state held between steps (measured from the tensors). The gradients
        count here because the next step frees them (zero_grad) before allocating new ones."""
        params = list(self.model.parameters())
        state = [t for s in self.opt.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
        grads = [p.grad for p in params if p.grad is not None]
        return tensor_bytes([*params, *grads, *state])


def measure_train(arch: Architecture, batches: list[int], precision: str, optimizer: str, peak: Peak,
                  device: str, min_run_time: float, memory: bool = True, method: str = "full", lora_rank: int = 16,
                  user: UserModel | None = None) -> list[WorkPoint]:
    """Training-step points over micro-batch sizes. Model FLOP are the core's for the method (full: 3 × forward,
    LoRA: 2 × forward; TrainingJob.model_flops_per_sample); for user code, which the core has no formula for,
    FlopCounterMode's count."""
    work = workload_for(arch)
    job = TrainingJob(work, 1.0, None, 1, precision, optimizer, method, lora_rank, "none")
    points = []
    for batch in batches:
        step = TrainStep(arch, batch, precision, optimizer, device, method, lora_rank, user)
        step()  # creates the optimizer state
        timing = time_call(step, device, min_run_time)
        counted = count_flops(step)
        peak_mem = step.resident_bytes() + peak_memory_bytes(step, device) if memory and batch == batches[-1] \
            else None
        model_flops = counted if user else batch * job.model_flops_per_sample
        # the per-parameter overhead of a step (optimizer) scales with what trains: adapters only for LoRA
        trainable = sum(p.numel() for p in step.model.parameters() if p.requires_grad) if user \
            else job.trainable_params
        what = "train step" if method == "full" else f"{method} step (r={lora_rank})"
        # a CNN's sample is an image, an MLP's a vector (their workloads count one 'token' a sample): 'batch 4 × 1
        # tokens' read as nonsense
        plural = "" if batch == 1 else "s"
        shape = {"cnn": f"{batch} image{plural}", "mlp": f"{batch} sample{plural}"}.get(
            arch.family, f"{batch} × {work.tokens_per_sample:g} tokens")
        points.append(WorkPoint(
            label=f"{what}, batch {shape}", size=model_flops, batch=batch,
            params=float(trainable),
            tokens=int(work.tokens_per_sample), seconds=timing.median_s, iqr_seconds=timing.iqr_s,
            model_flops=model_flops, counted_flops=counted, peak_memory_bytes=peak_mem,
            efficiency=_clip(model_flops / (timing.median_s * peak.flops[precision]))))
    return points


def _forward_call(model: torch.nn.Module, inputs: Any, device: str, precision: str) -> Callable[[], object]:
    def call() -> object:
        with torch.inference_mode(), autocast(device, precision):
            return model(inputs)
    return call


def measure_infer(arch: Architecture, batches: list[int], precision: str, peak: Peak, device: str,
                  min_run_time: float, user: UserModel | None = None) -> list[WorkPoint]:
    """Forward passes under inference_mode over batch sizes (encoder, cnn, mlp; or user code, whose FLOP are
    FlopCounterMode's count)."""
    work = workload_for(arch)
    model = (user.build() if user else build_model(arch)).to(device).eval()
    params = float(sum(p.numel() for p in model.parameters())) if user else work.params
    points = []
    for batch in batches:
        inputs = user.inputs(batch, device) if user else example_input(arch, batch, device=device)
        call = _forward_call(model, inputs, device, precision)
        timing = time_call(call, device, min_run_time)
        memory = peak_memory_bytes(call, device) + tensor_bytes(model.parameters()) if batch == batches[-1] \
            else None
        counted = count_flops(call)
        flops = counted if user else batch * work.forward_flops_per_sample
        points.append(WorkPoint(
            label=f"forward, batch {batch}", size=flops, batch=batch, tokens=int(work.tokens_per_sample),
            params=params,
            seconds=timing.median_s, iqr_seconds=timing.iqr_s, model_flops=flops, counted_flops=counted,
            peak_memory_bytes=memory, efficiency=_clip(flops / (timing.median_s * peak.flops[precision]))))
    return points


def measure_prefill(arch: Architecture, prompts: list[int], precision: str, peak: Peak, device: str,
                    min_run_time: float, user: UserModel | None = None) -> list[WorkPoint]:
    """Decoder prefill of one prompt at several lengths. Model FLOP are the core's prefill_flops (causal
    attention counted at half the s×s matrix); FlopCounterMode counts the full matrix the kernel is given. User
    code: a forward pass over the prompt, FLOP as counted."""
    model = (user.build() if user else build_model(arch)).to(device).eval()
    work = workload_for(arch)
    params = float(sum(p.numel() for p in model.parameters())) if user else work.params
    points = []
    for prompt in prompts:
        inputs = user.inputs(1, device, prompt) if user else example_input(arch, 1, prompt, device)
        call = _forward_call(model, inputs, device, precision)
        timing = time_call(call, device, min_run_time)
        counted = count_flops(call)
        flops = counted if user else prefill_flops(work, prompt)
        points.append(WorkPoint(
            label=f"prefill, prompt {prompt}", size=flops, batch=1, tokens=prompt, seconds=timing.median_s,
            params=params,
            iqr_seconds=timing.iqr_s, model_flops=flops, counted_flops=counted,
            efficiency=_clip(flops / (timing.median_s * peak.flops[precision]))))
    return points


def measure_decode(arch: Architecture, shapes: list[tuple[int, int]], precision: str, peak: Peak, device: str,
                   min_run_time: float) -> list[WorkPoint]:
    """One decode step (one new token per sequence) at (batch, context) shapes, with a filled KV cache.

    Efficiency is against bandwidth: the core's bytes per step (weights once + every sequence's KV cache) ÷
    (time × measured copy bandwidth). Weights stay fp32 on CPU (autocast casts per op), so bytes use fp32 weights
    there; the KV cache is kept at the compute precision."""
    model = build_model(arch).to(device).eval()
    work = workload_for(arch)
    kv_precision = precision if precision in ("fp16", "bf16") else "fp32"
    weight_precision = "fp32"
    points = []
    for batch, context in shapes:
        caches = kv_caches(arch, batch, context + 1, DTYPES.get(kv_precision, torch.float32), device)
        with torch.inference_mode(), autocast(device, precision):
            model(example_input(arch, batch, context, device), caches)
        for cache in caches:
            cache["len"] = context
        token = example_input(arch, batch, 1, device)
        call = _forward_call_cached(model, token, caches, device, precision)
        timing = time_call(call, device, min_run_time)
        moved = weight_bytes(work, weight_precision) + batch * context * kv_bytes_per_token(work, kv_precision)
        flops = batch * decode_flops(work, context)
        points.append(WorkPoint(
            label=f"decode step, batch {batch}, context {context}", size=moved, batch=batch, tokens=context,
            params=work.params,
            seconds=timing.median_s, iqr_seconds=timing.iqr_s, model_flops=flops, counted_flops=count_flops(call),
            bytes_moved=moved, efficiency=_clip(moved / (timing.median_s * peak.bandwidth))))
    return points


def _forward_call_cached(model: torch.nn.Module, token: torch.Tensor, caches: list[Cache], device: str,
                         precision: str) -> Callable[[], object]:
    def call() -> object:
        with torch.inference_mode(), autocast(device, precision):
            return model(token, caches)
    return call


def _clip(efficiency: float) -> float:
    """Achieved ÷ measured peak. Above 1 only through timing noise or a peak that ran low (on a CPU a small model
    may stay in cache): the record keeps it at the peak, 1, the most a call can achieve by definition (and what a
    record is allowed to hold: planner/schema/record.py)."""
    return min(1.0, efficiency) if math.isfinite(efficiency) and efficiency > 0 else 1e-9

