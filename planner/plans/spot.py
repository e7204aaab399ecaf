"""Spot (interruptible) capacity: the expected wall-time overhead of checkpointing, restarts and lost work."""
from __future__ import annotations

import math
from planner.dataclass import dataclass

from planner.model.precision import master_bytes, training_value_bytes
from planner.model.startup import DISK_BYTES_PER_S, startup_seconds
from planner.model.workload import OPTIMIZER_STATE_BYTES
from planner.plans.training import TrainingJob, TrainingPlan, restart_weight_bytes

INTERRUPTIONS_PER_MONTH = 0.20
"""Fraction of GPU spot instances reclaimed within a month: the upper edge of the 10–20 % 'frequency of
interruption' band the AWS Spot Instance Advisor showed for H100 (p5) instances in May 2025 and Feb 2026 (A100 p4d:
5–10 %), as reported by thundercompute.com/blog/cloud-gpu-spot-instance-availability. The dearest GPU band is used
for every offer because no provider publishes per-offer rates for the others."""
MONTH_HOURS = 720.0
"""The Spot Instance Advisor's trailing month: 30 days."""
CHECKPOINT_WRITE_BYTES_PER_S = DISK_BYTES_PER_S
"""Checkpoint write (and read) bandwidth: the run's disk (model/startup.py: EBS gp3's volume limit)."""


@dataclass(frozen=True)
class SpotOverhead:
    """What interruptions cost a synchronous training job on spot instances (expected values)."""

    interruptions_per_hour: float
    """Rate at which the job is interrupted: any one instance reclaimed stops every rank."""
    checkpoint_bytes: float
    checkpoint_write_s: float
    checkpoint_interval_s: float
    """Young's optimum √(2·C/λ) (Young 1974, 'A first order approximation to the optimum checkpoint interval')."""
    restart_s: float
    """The run's start-up again (a new instance, the process group) plus the checkpoint read."""
    overhead_fraction: float
    """Extra wall time per hour of useful work: C/τ (writing) + λ·(τ/2 + R) (lost work and restarts)."""
    expected_interruptions: float
    """Interruptions expected over the whole run."""

    def describe(self) -> str:
        """One line for the plan."""
        return (f"spot: +{self.overhead_fraction:.1%} time for {self.expected_interruptions:.2f} expected "
                f"interruption(s) — checkpoint {self.checkpoint_bytes / 1e9:,.1f} GB every "
                f"{self.checkpoint_interval_s / 60:,.0f} min ({self.checkpoint_write_s:,.0f} s to write), "
                f"restart {self.restart_s / 60:,.1f} min, half an interval of work lost per interruption")


def checkpoint_bytes(job: TrainingJob) -> float:
    """Bytes of a resumable checkpoint: trainable weights at training precision, fp32 master copy (mixed
    precision) and optimizer state. Frozen weights (LoRA) are not saved."""
    return job.trainable_params * (training_value_bytes(job.precision) + master_bytes(job.precision)
                                   + OPTIMIZER_STATE_BYTES[job.optimizer])


def spot_overhead(job: TrainingJob, plan: TrainingPlan, useful_hours: float) -> SpotOverhead:
    """Expected overhead of running `plan` on spot instances for `useful_hours` of uninterrupted work."""
    per_instance = -math.log(1.0 - INTERRUPTIONS_PER_MONTH) / (MONTH_HOURS * 3600.0)  # Poisson rate, 1/s
    rate = per_instance * plan.instances
    size = checkpoint_bytes(job)
    write = size / CHECKPOINT_WRITE_BYTES_PER_S
    interval = math.sqrt(2.0 * write / rate)
    # a replacement instance starts and sets up every rank again, as at the run's start (the plan's start-up), reads
    # an adapter's frozen base (its checkpoint holds none; a full checkpoint replaces the pretrained weights), then
    # reads the checkpoint back
    restart = startup_seconds(plan.gpu_count, True, restart_weight_bytes(job)) + write
    fraction = write / interval + rate * (interval / 2.0 + restart)
    wall_s = useful_hours * 3600.0 * (1.0 + fraction)
    return SpotOverhead(rate * 3600.0, size, write, interval, restart, fraction, rate * wall_s)
