"""The one order of plans, best first: the estimate's rows and the decision's choices both sort by these keys, so
the first row is the first choice."""
from __future__ import annotations

import math

from planner.plans.options import TrainingOption
from planner.plans.serving import ServingPlan
from planner.plans.verdict import closeness


def training_rank(o: TrainingOption) -> tuple[object, ...]:
    """Feasible first, cheapest at the confidence (then fastest); the rest by how far they are from working, then
    fastest (or, for a plan that cannot run at all, fewest GPUs: its hours mean nothing). Names and counts break
    ties so the order never depends on the catalog's file order."""
    near = closeness(o.verdicts)[0] if not o.feasible else 0
    key = o.cost_usd if o.feasible else (o.hours if o.plan.fits else float(o.plan.gpu_count))
    return (not o.feasible, near, key, o.hours, o.plan.gpu, o.plan.provider, o.plan.instance, o.plan.gpu_count,
            o.plan.spot)


def serving_latency_key(plans: list[ServingPlan]) -> str:
    """The p95 latency decisions trade against cost: TTFT p95 for generative serving, else latency p95."""
    keys: set[str] = set().union(*(p.latency_s for p in plans)) if plans else set()
    return "ttft_p95" if "ttft_p95" in keys else "latency_p95"


def serving_rank(p: ServingPlan, latency_key: str) -> tuple[object, ...]:
    """Plans meeting every target first, cheapest (then lowest p95 latency); the rest by how far they are from
    working, then the cost of the closest configuration."""
    near = closeness(p.verdicts)[0] if not p.meets_slo else 0
    return (not p.meets_slo, near, p.monthly_cost_usd if p.fits else 0.0, p.latency_s.get(latency_key, math.inf),
            p.gpu_count, p.gpu, p.provider, p.instance)
