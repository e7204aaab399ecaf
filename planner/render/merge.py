"""Plans that differ only by instance type, shown once.

A provider often sells one shape of work under several instance types (a 2-GPU and an 8-GPU instance filled with the
same replicas, two regions' names for one machine): the plans then read the same — GPU, provider, GPU count, layout or
batch, hours or latencies — and differ in price or in the instance name alone. Tables and JSON keep the first of
them in rank order, which is the cheapest (ranking is by cost among plans of equal time), and say how many instance
types give it."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from planner.plans.serving import ServingPlan
from planner.plans.training import TrainingPlan

P = TypeVar("P", TrainingPlan, ServingPlan)

SIGNIFICANT = 3
"""Hours and latencies are compared at 3 significant figures, the precision the tables print."""


def _sig(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT}g}")


def shape(plan: TrainingPlan | ServingPlan) -> tuple[object, ...]:
    """What a reader compares: everything a row shows but the price and the instance name. A committed-term price
    (constraints.commitment) binds the renter to its term, so it is never merged into an on-demand row."""
    term = plan.commitment.term if plan.commitment is not None else None
    if isinstance(plan, TrainingPlan):
        return ("training", plan.gpu, plan.provider, plan.gpu_count, plan.spot, plan.tensor, plan.pipeline,
                plan.expert, plan.context, plan.sharding, plan.recompute_mode, plan.micro_batch,
                _sig(plan.hours_p50), plan.feasible, term)
    return ("serving", plan.gpu, plan.provider, plan.replicas, plan.gpus_per_replica, plan.batch_size,
            tuple(sorted((k, _sig(v)) for k, v in plan.latency_s.items())), plan.meets_slo, term)


def key(plan: TrainingPlan | ServingPlan) -> tuple[object, ...]:
    """(GPU, provider, instance, shape): what names one plan of one offer (an instance name alone may cover several
    GPUs, and one offer can give two serving plans: its cheapest at the targets and its cheapest with headroom)."""
    return plan.gpu, plan.provider, plan.instance, shape(plan)


def merged(plans: Sequence[P]) -> tuple[list[P], dict[tuple[object, ...], list[str]]]:
    """The plans with later near-copies (same shape(), another instance) dropped, and for each kept plan that had
    copies, key(plan) → the other instance types' names."""
    first: dict[tuple[object, ...], P] = {}
    others: dict[tuple[object, ...], list[str]] = {}
    kept: list[P] = []
    for plan in plans:
        seen = shape(plan)
        if seen in first and first[seen].instance != plan.instance:
            others.setdefault(key(first[seen]), []).append(plan.instance)
            continue
        first.setdefault(seen, plan)
        kept.append(plan)
    return kept, others
