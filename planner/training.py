"""Training plans: memory fit (ZeRO sharding, recomputation), step time on the roofline, data-parallel
all-reduce over the offer's links, hours and GPU-hours for one GPU count."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .catalog import PricedOffer
from .costing import run_cost_usd
from .efficiency import Efficiency, interval
from .interconnect import hierarchical_allreduce_seconds
from .memory import usable_bytes
from .schema.catalog import GpuSpec
from .schema.profile import Training
from .workload import BYTES, NF4_BYTES, OPTIMIZER_STATE_BYTES, TrainingMemory, Workload, lora_params

ZERO3_VOLUME_FACTOR = 1.5
"""ZeRO-3/FSDP moves ≈1.5× the all-reduce volume: weights all-gathered forward and backward, gradients
reduce-scattered (Rajbhandari et al. 2020, §7)."""
BACKWARD_SHARE = 2.0 / 3.0
"""Backward is 2/3 of a training step's FLOP (FORMULAS.md: forward is 1/3); gradient all-reduce overlaps it."""


@dataclass(frozen=True)
class TrainingJob:
    """What the profile asks to train, reduced to numbers."""

    work: Workload
    samples: float
    """Samples (sequences, images) to process, all epochs together."""
    global_batch_samples: float | None
    micro_batch: int | None
    precision: str
    optimizer: str
    method: str
    lora_rank: int
    recompute: str

    @property
    def tokens(self) -> float:
        """Tokens processed, all epochs."""
        return self.samples * self.work.tokens_per_sample

    @property
    def trainable_params(self) -> float:
        """Parameters that get gradients and optimizer state."""
        return self.work.params if self.method == "full" else lora_params(self.work, self.lora_rank)

    @property
    def model_flops_per_sample(self) -> float:
        """Model FLOP per sample: forward + backward; adapters skip the frozen weights' gradients (2× forward)."""
        return (3.0 if self.method == "full" else 2.0) * self.work.forward_flops_per_sample

    @property
    def model_flops(self) -> float:
        """Model FLOP of the whole job."""
        return self.samples * self.model_flops_per_sample


def training_job(work: Workload, training: Training) -> TrainingJob:
    """The job of a profile's training section."""
    dataset = training.dataset
    if dataset.tokens is not None:
        samples = dataset.tokens / work.tokens_per_sample
    else:
        samples = dataset.samples
    batch = training.batch
    global_samples = None
    if batch is not None:
        if batch.global_tokens is not None:
            global_samples = max(1.0, batch.global_tokens / work.tokens_per_sample)
        elif batch.global_samples is not None:
            global_samples = batch.global_samples
    return TrainingJob(work, samples * training.epochs, global_samples, batch.micro_batch if batch else None,
                       training.precision, training.optimizer, training.method, training.lora_rank,
                       training.recompute)


def training_memory(job: TrainingJob, micro_batch: int, recompute: bool, sharding: str, dp: int) -> TrainingMemory:
    """Bytes per GPU (FORMULAS.md, 'Memory'): mixed-precision weights, gradients, fp32 master + optimizer state
    sharded per ZeRO stage over `dp` ranks, and activations of one micro-batch."""
    mixed = job.precision in ("fp16", "bf16", "fp8")
    value_bytes = 2.0 if mixed else 4.0
    trainable = job.trainable_params
    frozen = job.work.params if job.method != "full" else 0.0
    frozen_bytes = NF4_BYTES if job.method == "qlora" else value_bytes
    state = trainable * (OPTIMIZER_STATE_BYTES[job.optimizer] + (4.0 if mixed else 0.0))
    grads = trainable * value_bytes
    weights = trainable * value_bytes + frozen * frozen_bytes
    n = max(1, dp)
    if sharding in ("zero1", "zero2", "zero3"):
        state /= n
    if sharding in ("zero2", "zero3"):
        grads /= n
    if sharding == "zero3":
        weights /= n
    per_sample = (job.work.recompute_activation_bytes_per_sample_16bit if recompute
                  else job.work.activation_bytes_per_sample_16bit)
    activations = per_sample * micro_batch * (value_bytes / 2.0)
    return TrainingMemory(weights, grads, state, activations)


@dataclass(frozen=True)
class TrainingPlan:
    """One GPU type, offer and count, with its time, cost and whether it works."""

    gpu: str
    provider: str
    instance: str
    gpu_count: int
    instances: int
    sharding: str
    recompute: bool
    micro_batch: int
    grad_accumulation: int
    memory_per_gpu_bytes: float
    fits: bool
    step_time_s: float
    compute_time_s: float
    exposed_comm_time_s: float
    tokens_per_s: float
    samples_per_s: float
    mfu: float
    efficiency: Efficiency
    hours_p10: float
    hours_p50: float
    hours_p90: float
    gpu_hours: float
    usd_per_hour: float
    billing_seconds: float
    spot: bool
    cost_usd_p10: float
    cost_usd_p50: float
    cost_usd_p90: float
    reasons: tuple[str, ...]
    """Why the plan fails its constraints (empty: it works)."""
    meets_deadline: bool = True
    within_budget: bool = True

    @property
    def feasible(self) -> bool:
        """Fits, runs on this offer, and meets the deadline and budget."""
        return not self.reasons


def peak_flops(gpu: GpuSpec, precision: str) -> float | None:
    """Dense peak FLOP/s for a training precision (fp32 runs on FP32 cores; tf32 needs TF32 tensor cores)."""
    tflops = gpu.peak_tflops.get(precision)
    return tflops * 1e12 if tflops else None


def choose_memory_layout(job: TrainingJob, gpu: GpuSpec, count: int) -> tuple[str, bool, int, TrainingMemory] | None:
    """The cheapest layout that fits: lowest ZeRO stage first, recomputation only when needed; largest micro-batch.

    Returns (sharding, recompute, micro_batch, memory) or None when nothing fits even at micro-batch 1.
    """
    capacity = usable_bytes(gpu)
    stages = ("none",) if count == 1 else ("none", "zero1", "zero2", "zero3")
    recompute_options = {"auto": (False, True), "none": (False,), "full": (True,)}[job.recompute]
    per_gpu_cap = None
    if job.global_batch_samples is not None:
        per_gpu_cap = max(1, int(job.global_batch_samples // count))
    for recompute in recompute_options:
        for sharding in stages:
            static = training_memory(job, 0, recompute, sharding, count)
            one = training_memory(job, 1, recompute, sharding, count).activations
            if static.total + one > capacity:
                continue
            if job.micro_batch is not None:
                micro = job.micro_batch
                memory = training_memory(job, micro, recompute, sharding, count)
                if memory.total > capacity:
                    continue
                return sharding, recompute, micro, memory
            fit = int((capacity - static.total) // one) if one > 0 else 1 << 16
            micro = 1 << int(math.log2(max(1, min(fit, per_gpu_cap or fit, 1 << 16))))
            return sharding, recompute, micro, training_memory(job, micro, recompute, sharding, count)
    return None


def plan_training(job: TrainingJob, gpu: GpuSpec, offer: PricedOffer, count: int, efficiency: Efficiency,
                  spot: bool = False) -> TrainingPlan:
    """Time and memory of the job on `count` GPUs of this offer (reasons list what makes it unusable)."""
    reasons: list[str] = []
    per_instance = offer.offer.gpus_per_instance
    instances = -(-count // per_instance)
    if instances > 1 and not offer.offer.network_gbps:
        reasons.append("offer states no network between instances (single instance only)")
    peak = peak_flops(gpu, job.precision)
    if peak is None:
        reasons.append(f"no {job.precision} on this GPU")
        peak = gpu.peak_tflops.fp32 * 1e12
    layout = choose_memory_layout(job, gpu, count)
    if layout is None:
        memory = training_memory(job, 1, True, "zero3" if count > 1 else "none", count)
        reasons.append(f"does not fit in memory ({memory.total / 1e9:.1f} GB needed per GPU at micro-batch 1, "
                       f"{gpu.memory_gb:g} GB available)")
        sharding, recompute, micro = ("zero3" if count > 1 else "none"), True, 1
    else:
        sharding, recompute, micro, memory = layout
    if job.global_batch_samples is not None and job.global_batch_samples < count:
        reasons.append(f"global batch of {job.global_batch_samples:g} samples is smaller than {count} GPUs")
    per_gpu_batch = job.global_batch_samples / count if job.global_batch_samples else micro
    accumulation = max(1, math.ceil(per_gpu_batch / micro))
    samples_per_step = count * micro * accumulation

    hardware_factor = (job.model_flops_per_sample + (job.work.forward_flops_per_sample if recompute else 0.0)) \
        / job.model_flops_per_sample
    micro_flops = micro * job.model_flops_per_sample * hardware_factor
    micro_time = micro_flops / (peak * efficiency.value)
    compute_time = micro_time * accumulation

    grad_bytes = job.trainable_params * (2.0 if job.precision in ("fp16", "bf16", "fp8") else 4.0)
    if sharding == "zero3":
        # parameters gathered and gradients scattered for every micro-batch, prefetched behind its compute
        comm = hierarchical_allreduce_seconds(grad_bytes * ZERO3_VOLUME_FACTOR, count, gpu, offer)
        exposed = max(0.0, comm - micro_time) * accumulation
    else:
        comm = hierarchical_allreduce_seconds(grad_bytes, count, gpu, offer)
        exposed = max(0.0, comm - BACKWARD_SHARE * micro_time)
    step_time = compute_time + exposed
    steps = job.samples / samples_per_step
    low, mid, high = (interval(efficiency.value, efficiency.log_sigma))
    # hours at the efficiency's P90 (fast) / P50 / P10 (slow); communication is not scaled
    hours = [steps * (compute_time * efficiency.value / e + exposed) / 3600.0 for e in (high, mid, low)]
    price = offer.offer.spot_usd_per_hour if spot and offer.offer.spot_usd_per_hour else offer.offer.usd_per_hour
    costs = [run_cost_usd(instances, price, h, offer.billing_seconds) for h in hours]
    mfu = (samples_per_step * job.model_flops_per_sample) / (step_time * count * peak)
    return TrainingPlan(
        gpu=gpu.id, provider=offer.provider, instance=offer.offer.instance, gpu_count=count, instances=instances,
        sharding=sharding, recompute=recompute, micro_batch=micro, grad_accumulation=accumulation,
        memory_per_gpu_bytes=memory.total, fits=layout is not None, step_time_s=step_time,
        compute_time_s=compute_time, exposed_comm_time_s=exposed,
        tokens_per_s=samples_per_step * job.work.tokens_per_sample / step_time,
        samples_per_s=samples_per_step / step_time, mfu=mfu, efficiency=efficiency,
        hours_p10=hours[0], hours_p50=hours[1], hours_p90=hours[2], gpu_hours=hours[1] * count,
        usd_per_hour=price, cost_usd_p10=costs[0], cost_usd_p50=costs[1], cost_usd_p90=costs[2],
        billing_seconds=offer.billing_seconds, spot=spot and offer.offer.spot_usd_per_hour is not None,
        reasons=tuple(reasons),
    )
