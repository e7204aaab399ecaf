"""`--simulate` as part of evaluation: each serving plan is re-run through the discrete-event simulation; a plan the
simulation refutes gets more replicas until the simulation agrees, or is rejected with the simulated miss."""
from __future__ import annotations

import dataclasses
from dataclasses import field
from planner.dataclass import dataclass
from typing import TYPE_CHECKING

from planner.catalog.load import PricedOffer
from planner.model.workload import Workload
from planner.plans.serving import ServingPlan, resized, simulate_plan, slo_verdicts
from planner.plans.verdict import Kind
from planner.schema.catalog import GpuSpec
from planner.schema.profile import Inference, Slo

if TYPE_CHECKING:
    from planner.model.simulation import DynamicBatchingRuns

SIMULATE_SEED = 0
"""Fixed seed: the same profile prints the same simulated percentiles."""
RESIZE_TRIES = 6
"""Replica counts tried past the analytic one when the simulation refutes it: +1, +2, +4, … (a 1 + 63 replica
search). The analytic count is usually within a replica or two of what the simulation accepts."""


@dataclass
class SimulationMemo:
    """What the simulations of one estimate share."""

    plans: dict[tuple[object, ...], dict[str, float]] = field(default_factory=dict)
    """Simulated percentiles by everything the simulation depends on (the same GPU at several providers is the same
    queue)."""
    batching: DynamicBatchingRuns | None = None
    """Dynamic-batching runs shared across GPU types where they are provably the same run; made by the first
    simulation (every serving estimate makes a memo, and only `--simulate` imports the simulation's numpy engine)."""


def simulated_plan(plan: ServingPlan, work: Workload, inf: Inference, gpu: GpuSpec, offer: PricedOffer,
                   seed: int = SIMULATE_SEED, memo: SimulationMemo | None = None) -> ServingPlan:
    """The plan with simulated percentiles; when the simulation misses a target the analytic model met, the same
    configuration with more replicas (the fewest tried that the simulation accepts), else the plan rejected with
    the simulated miss. Plans the analytic model already rejects are not simulated: they are never best."""
    if plan.replicas < 1 or not plan.timing_s or not plan.meets_slo:
        return plan
    judged = judged_by_simulation(_simulated(plan, work, inf, gpu, seed, memo), inf.slo)
    if judged.meets_slo:
        return judged
    step, replicas = 1, plan.replicas
    for _ in range(RESIZE_TRIES):
        bigger = resized(plan, work, inf, gpu, offer, replicas + step)
        replicas = bigger.replicas
        retry = judged_by_simulation(_simulated(bigger, work, inf, gpu, seed, memo), inf.slo)
        if retry.meets_slo:
            # said where it is shown (new-user QA round 30: the 9-replica plan gave way to 10 with no word why)
            return dataclasses.replace(retry, analytic_replicas=plan.replicas, analytic_misses=judged.reasons)
        step *= 2
    return judged


def _simulated(plan: ServingPlan, work: Workload, inf: Inference, gpu: GpuSpec, seed: int,
               memo: SimulationMemo | None) -> ServingPlan:
    key = (gpu.id, plan.replicas, plan.batch_size, plan.gpus_per_replica, tuple(sorted(plan.timing_s.items())),
           plan.efficiency, seed)
    if memo is not None and key in memo.plans:
        return dataclasses.replace(plan, simulated_latency_s=dict(memo.plans[key]))
    if memo is not None and memo.batching is None:
        from planner.model.simulation import DynamicBatchingRuns  # numpy: only when a plan is simulated

        memo.batching = DynamicBatchingRuns()
    done = simulate_plan(plan, work, inf, gpu, seed, runs=memo.batching if memo is not None else None)
    if memo is not None and done.simulated_latency_s is not None:
        memo.plans[key] = dict(done.simulated_latency_s)
    return done


def judged_by_simulation(plan: ServingPlan, slo: Slo) -> ServingPlan:
    """A plan whose simulated percentiles miss a target no longer meets its targets, and says so."""
    misses = slo_verdicts(plan.simulated_latency_s or {}, slo, Kind.SIMULATION_MISSED)
    if not misses or not plan.meets_slo:
        return plan
    return dataclasses.replace(plan, meets_slo=False, verdicts=plan.verdicts + misses)
